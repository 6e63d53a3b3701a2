"""Dashboard tests run the real app and the real core against a temp data dir and a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pac_tui.clock import ManualClock
from pac_tui.config import load_config
from pac_tui.models import RefreshOutcome, TokenRecord, TokenSet
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)

THREE_REPOS = """\
[gitlab.default]
url = "{url}"
client_id = "app-id"

[[repositories]]
name = "payments"
project = "acme/payments/api"

[[repositories]]
name = "storefront"
project = "acme/web/storefront"

[[repositories]]
name = "docs"
project = "acme/docs"
"""


def token_record(url: str, lifetime: int, left: int, refreshed: bool = True) -> TokenRecord:
    issued = NOW - timedelta(seconds=lifetime - left)
    tokens = TokenSet(
        access_token="access-" + "x" * 40,
        refresh_token="refresh-" + "y" * 40,
        token_type="Bearer",
        scopes=("api",),
        expires_at=issued + timedelta(seconds=lifetime),
        issued_at=issued,
    )
    return TokenRecord(
        gitlab_url=url,
        client_id="app-id",
        tokens=tokens,
        username="operator",
        obtained_at=issued - timedelta(hours=3) if refreshed else issued,
        refreshed_at=issued if refreshed else None,
        last_refresh=RefreshOutcome(issued, ok=True, message="refreshed") if refreshed else None,
    )


def make_context(
    tmp_path: Path,
    *,
    url: str = "https://gitlab.example.com",
    config_text: str | None = None,
    records: dict[str, TokenRecord] | None = None,
    open_browser: object = None,
) -> AppContext:
    path = tmp_path / "config.toml"
    if config_text is not None:
        path.write_text(config_text.format(url=url))
    store = TokenStore(tmp_path / "data")
    if records:
        with store.transaction() as txn:
            for name, record in records.items():
                txn.records[name] = record
            txn.commit()
    return AppContext(
        config=load_config(path, env={}) if path.exists() else load_config(None, env={}),
        config_path=path,
        store=store,
        clock=ManualClock(NOW),
        open_browser=open_browser,  # type: ignore[arg-type]
        login_timeout=30,
        local_tz=UTC,
    )


def three_repo_context(tmp_path: Path, url: str = "https://gitlab.example.com") -> AppContext:
    """Authorized with 1h 40m left, expiring with 4 min left, needs login."""
    return make_context(
        tmp_path,
        url=url,
        config_text=THREE_REPOS,
        records={
            "payments": token_record(url, 7200, 6000),
            "storefront": token_record(url, 7200, 240, refreshed=False),
        },
    )


@pytest.fixture
def three_repos(tmp_path: Path) -> AppContext:
    return three_repo_context(tmp_path)


def make_app(ctx: AppContext) -> PacTuiApp:
    """The app with the 1 Hz timer off: tests drive `dashboard.tick()` and the clock themselves."""
    return PacTuiApp(ctx, tick_interval=None)
