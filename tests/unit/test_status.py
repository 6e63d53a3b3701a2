from datetime import UTC, datetime, timedelta

from pac_tui.config import parse_config
from pac_tui.humanize import countdown
from pac_tui.models import RefreshOutcome, TokenRecord, TokenSet
from pac_tui.status import State, repo_status

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
    '[[repositories]]\nname = "demo"\nproject = "g/p"\n',
    None,
)
REPO = CONFIG.repository("demo")


def rec(expires_in: float, **kw: object) -> TokenRecord:
    tokens = TokenSet(
        "a" * 40, "r" * 40, "Bearer", ("api",), NOW + timedelta(seconds=expires_in), NOW
    )
    return TokenRecord("https://gitlab.example.com", "app", tokens=tokens).with_(**kw)


def test_states() -> None:
    assert repo_status(REPO, None, NOW).state is State.NEEDS_LOGIN
    ok = repo_status(REPO, rec(6000), NOW)
    assert (ok.state, ok.expires_in, ok.message) == (State.AUTHORIZED, 6000, None)
    assert repo_status(REPO, rec(-1), NOW).state is State.EXPIRED
    failed = RefreshOutcome(NOW, ok=False, message="cannot reach gitlab")
    err = repo_status(REPO, rec(-1, last_refresh=failed), NOW)
    assert err.state is State.ERROR and "cannot reach gitlab" in (err.message or "")
    assert err.expires_in == 0
    gone = repo_status(REPO, rec(10, tokens=None, needs_login="invalid_grant"), NOW)
    assert gone.state is State.NEEDS_LOGIN and "invalid_grant" in (gone.message or "")
    moved = repo_status(REPO, rec(10, gitlab_url="https://elsewhere"), NOW)
    assert moved.state is State.NEEDS_LOGIN and "elsewhere" in (moved.message or "")


def test_json_has_exactly_the_contract_keys_and_no_token() -> None:
    data = repo_status(REPO, rec(7200), NOW).to_json()
    assert list(data) == [
        "name",
        "project",
        "gitlab",
        "state",
        "expires_at",
        "expires_in",
        "scopes",
        "refreshed_at",
        "message",
        "cluster",
    ]
    assert data["cluster"] is None  # not bound to a PAC Repository
    assert data["expires_at"] == "2026-11-26T14:00:00Z"
    assert "a" * 40 not in str(data) and "r" * 40 not in str(data)


def test_countdown() -> None:
    assert countdown(2 * 86400 + 3 * 3600) == "2d 3h"
    assert countdown(6000) == "1h 40m"
    assert countdown(240) == "4m 00s"
    assert countdown(42) == "42s"
    assert countdown(0) == "expired"
    assert countdown(None) == "never"
