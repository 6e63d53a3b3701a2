import contextlib
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pac_tui.actions.status import State, repo_status
from pac_tui.cli import main
from pac_tui.core.config import parse_config
from pac_tui.core.humanize import countdown
from pac_tui.core.models import ClusterSync, RefreshOutcome, TokenRecord, TokenSet
from pac_tui.stores.file_store import TokenStore

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


BOUND = parse_config(
    '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
    '[[repositories]]\nname = "demo"\nproject = "g/p"\n'
    '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n',
    None,
).repository("demo")


def test_cluster_status_of_a_bound_repository() -> None:
    record = rec(7200)
    assert record.tokens is not None
    issued = record.tokens.issued_at
    never = repo_status(BOUND, record, NOW).cluster
    assert never is not None and not never.synced
    assert never.message == "not synced to the cluster yet; run: pac-tui sync demo"

    synced = record.with_(cluster=ClusterSync(NOW, issued))
    status = repo_status(BOUND, synced, NOW).cluster
    assert status is not None and status.synced and status.message is None
    assert status.to_json() == {
        "namespace": "ci",
        "repository": "demo",
        "mode": "oauth",
        "context": None,
        "synced": True,
        "message": None,
        "gateway": None,
        "rotator": None,
    }

    # A newer local generation that the cluster did not take: not synced, with the reason.
    lagging = synced.with_(
        tokens=replace(record.tokens, issued_at=issued + timedelta(hours=1)),
        cluster=ClusterSync(NOW, issued, "cannot reach the cluster"),
    )
    status = repo_status(BOUND, lagging, NOW).cluster
    assert status is not None and not status.synced
    assert status.message == "cannot reach the cluster"


def test_status_command_shows_the_cluster_column_for_bound_repositories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
        '[[repositories]]\nname = "demo"\nproject = "g/p"\n'
        '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
        '[[repositories]]\nname = "plain"\nproject = "g/q"\n'
    )
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    store = TokenStore(tmp_path / "data")
    with store.transaction() as txn:
        txn.put("demo", rec(7200, cluster=ClusterSync(NOW, None, "cannot reach the cluster")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "status"]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[-1] == "CLUSTER"
    assert lines[1].startswith("demo") and lines[1].endswith("ci/demo (oauth) NOT SYNCED")
    assert lines[2].startswith("plain") and lines[2].endswith("—")
    assert "demo: cannot reach the cluster" in out.getvalue()

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "status", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(out.getvalue())}
    assert rows["demo"]["cluster"]["synced"] is False and rows["plain"]["cluster"] is None
    assert "a" * 40 not in out.getvalue()
