"""Dashboard tests run the real app and the real core against a temp data dir and a frozen clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from pac_tui.core.clock import ManualClock
from pac_tui.core.config import load_config
from pac_tui.core.models import RefreshOutcome, TokenRecord, TokenSet
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext
from tests.kube.conftest import apiserver, kubeconfig  # noqa: F401 (fixtures for cluster tests)
from tests.providers.base import Provider
from tests.providers.browser_driver import drive
from tests.providers.gitlab_api import FakeGitLab, Session

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
        login_timeout=90,  # a real Chromium on a loaded CI machine can take a while
        local_tz=UTC,
        receive_webhooks=False,  # tests that want the receiver turn it on, on port 0
        discover_cluster=False,  # a developer's kubeconfig must not change what tests see
        check_hooks=False,  # no GitLab to ask; tests that want hook health turn it on
        settle_heap=False,  # a full collection of the test process per app: tests/ui/test_heap
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


def gitlab_context(
    gitlab: FakeGitLab, session: Session, tmp_path: Path, repositories: str, **options: Any
) -> AppContext:
    """The dashboard's context over the fake GitLab with the session's OAuth app and store, these
    `[[repositories]]`, and no auto-refresh, receiver or heap settling (`options` override)."""
    app = session.repo.gitlab
    config = tmp_path / "config.toml"
    config.write_text(
        f'[gitlab.default]\nurl = "{gitlab.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n{repositories}'
    )
    settings: dict[str, Any] = {
        "open_browser": None,
        "local_tz": UTC,
        "auto_refresh": False,
        "receive_webhooks": False,
        "settle_heap": False,
        **options,
    }
    return AppContext(
        config=load_config(config, env={}),
        config_path=config,
        store=session.store,
        clock=session.clock,
        **settings,
    )


def make_app(ctx: AppContext) -> PacTuiApp:
    """The app with the 1 Hz timer and animations off: tests drive `dashboard.tick()` and the
    clock themselves, so nothing depends on wall-clock time."""
    app = PacTuiApp(ctx, tick_interval=None)
    app.animation_level = "none"
    return app


async def eventually(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 60
) -> None:
    """Let the app run until `condition()` holds. Workers, threads and sockets answer late on a
    loaded 2-core CI machine, so the deadline is generous: it only bounds a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        await pilot.pause(0.05)


async def still(pilot: Pilot[None]) -> None:
    """Before a snapshot: no blinking cursor anywhere."""
    loading = [w for w in pilot.app.workers if w.group == "webhooks"]  # the journal's history
    if loading:  # (an empty list would mean every worker, the login's included)
        await pilot.app.workers.wait_for_complete(loading)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


def provider_context(tmp_path: Path, provider: Provider, confidential: bool = True) -> AppContext:
    """One repository `demo` on a real provider; the browser is real Chromium, opened by the core
    in a thread exactly as `webbrowser.open` would be."""
    app = provider.confidential if confidential else provider.public
    secret = f'client_secret = "{app.client_secret}"\n' if app.client_secret else ""
    text = (
        f'[gitlab.default]\nurl = "{{url}}"\nclient_id = "{app.client_id}"\n{secret}'
        '[[repositories]]\nname = "demo"\nproject = "group/demo"\n'
    )
    settings = {
        "PAC_TUI_TEST_USERNAME": provider.username,
        "PAC_TUI_TEST_PASSWORD": provider.password,
        "PAC_TUI_TEST_CONSENT": "Authorize",
    }
    return make_context(
        tmp_path,
        url=provider.url,
        config_text=text,
        open_browser=lambda url: drive(url, settings),
    )
