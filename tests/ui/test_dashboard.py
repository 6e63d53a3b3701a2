"""Pilot tests of every key and action of the dashboard, against the real core."""

from __future__ import annotations

import html
import json
import re
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from textual.pilot import Pilot

from pac_tui.actions.status import State, repo_status
from pac_tui.core.clock import ManualClock
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.screens.confirm import ConfirmScreen
from pac_tui.ui.screens.help import HelpScreen
from pac_tui.ui.screens.login import LoginScreen
from pac_tui.ui.widgets.repo_table import COLUMNS, RepoTable
from tests.providers.base import Provider
from tests.providers.browser_driver import drive
from tests.ui.conftest import eventually, make_app, provider_context

SIZE = (140, 36)


def table_rows(app: PacTuiApp) -> dict[str, dict[str, str]]:
    """Every row the table shows (on screen or not), as the texts it draws."""
    table = app.dashboard.query_one("#repos", RepoTable)
    now = app.dashboard.ctx.clock.now()
    rows = {}
    for info in table.rows:
        cells = table.row(info.name, now).cells
        rows[info.name] = {
            key: cell.plain.strip() for (_, key), cell in zip(COLUMNS, cells, strict=True)
        }
    return rows


def _plain(widget: object) -> str:
    from rich.console import Console

    console = Console(width=60, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)  # type: ignore[attr-defined]
    return console.export_text()


def screen_text(app: PacTuiApp) -> str:
    """What the terminal shows, as plain text (segments of the SVG screenshot, in order)."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


async def settle(pilot: Pilot[None]) -> None:
    """Let every worker started so far (and any it starts) finish."""
    await pilot.pause()
    while any(not w.is_finished for w in pilot.app.workers):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_table_shows_each_state_and_countdowns_move_with_the_clock(three_repos) -> None:
    three_repos.auto_refresh = False
    app = make_app(three_repos)
    async with app.run_test(size=SIZE):
        rows = table_rows(app)
        assert list(rows) == ["payments", "storefront", "docs"]
        assert rows["payments"]["state"] == "● authorized"
        assert rows["payments"]["expires"] == "1h 40m"
        assert rows["storefront"]["state"] == "● expiring"
        assert rows["storefront"]["expires"] == "4m 00s"
        assert rows["docs"]["state"] == "○ needs login"
        assert rows["docs"]["expires"] == "—"
        assert rows["payments"]["host"] == "gitlab.example.com"

        clock = three_repos.clock
        assert isinstance(clock, ManualClock)
        clock.advance(61)
        app.dashboard.tick()
        rows = table_rows(app)
        assert rows["payments"]["expires"] == "1h 38m"
        assert rows["storefront"]["expires"] == "2m 59s"
        clock.advance(180)
        app.dashboard.tick()
        rows = table_rows(app)
        assert rows["storefront"]["expires"] == "EXPIRED"
        assert rows["storefront"]["state"] == "EXPIRED"


async def test_panel_shows_the_selected_grant_without_tokens(three_repos) -> None:
    three_repos.auto_refresh = False
    app = make_app(three_repos)
    async with app.run_test(size=SIZE) as pilot:
        text = _plain(app.dashboard.query_one("#panel"))
        assert "payments" in text and "in 1h 40m" in text and "2026-11-26 13:40 UTC" in text
        assert "Scopes        api" in text and "operator" in text
        assert "Auto-refresh  off" in text
        await pilot.press("down")
        text = _plain(app.dashboard.query_one("#panel"))
        assert "storefront" in text and "in 4m 00s" in text
        await pilot.press("j")
        text = _plain(app.dashboard.query_one("#panel"))
        assert "docs" in text and "pac-tui login docs" in text
        await pilot.press("k")
        assert "storefront" in _plain(app.dashboard.query_one("#panel"))
        assert "xxxxxxxx" not in screen_text(app)
        assert "yyyyyyyy" not in screen_text(app)


async def test_filter_help_and_auto_refresh_toggle(three_repos) -> None:
    three_repos.auto_refresh = False
    app = make_app(three_repos)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"store")
        assert list(table_rows(app)) == ["storefront"]
        await pilot.press("enter")
        assert app.focused is app.dashboard.query_one("#repos")
        await pilot.press("escape")
        assert list(table_rows(app)) == ["payments", "storefront", "docs"]
        await pilot.press("slash", *"needs")
        assert list(table_rows(app)) == ["docs"]
        await pilot.press("escape")
        assert len(table_rows(app)) == 3

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "revoke the selected repository" in screen_text(app)
        await pilot.press("escape")
        assert app.screen is app.dashboard

        await pilot.press("a")
        assert three_repos.auto_refresh is True
        assert "on" in _plain(app.dashboard.query_one("#panel"))
        await pilot.press("a")
        assert three_repos.auto_refresh is False
        assert "auto-refresh off" in app.dashboard.sub_title


async def test_damaged_store_is_reported_not_fatal(three_repos) -> None:
    three_repos.store.path.write_text("{ not json")
    app = make_app(three_repos)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("damaged" in n.message for n in app._notifications)
        assert len(table_rows(app)) == 3
    assert three_repos.store.path.read_text() == "{ not json"


async def test_login_modal_logs_in_with_the_real_browser(
    tmp_path: Path, dot_provider: Provider
) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        assert table_rows(app)["demo"]["state"] == "○ needs login"
        await pilot.press("l")
        assert isinstance(app.screen, LoginScreen)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        assert screen.url and "/oauth/authorize?" in screen.url
        assert "Logged in as" in screen_text(app)
        await pilot.press("enter")
        assert app.screen is app.dashboard
        assert table_rows(app)["demo"]["state"] == "● authorized"
        tokens = ctx.store.get("demo").tokens
        assert tokens is not None and dot_provider.is_active(tokens.access_token)
        assert tokens.access_token not in screen_text(app)


def _login_url(app: PacTuiApp) -> str | None:
    screen = app.screen
    return screen.url if isinstance(screen, LoginScreen) else None


async def test_login_modal_copy_and_cancel_close_the_callback_server(
    tmp_path: Path, dot_provider: Provider
) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    ctx.open_browser = None
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await eventually(pilot, lambda: _login_url(app), "the login's URL")
        screen = app.screen
        assert isinstance(screen, LoginScreen) and screen.url
        redirect = parse_qs(urlsplit(screen.url).query)["redirect_uri"][0]
        port = urlsplit(redirect).port
        assert port
        await pilot.press("c")
        assert app.clipboard == screen.url
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.dashboard
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert not ctx.store.path.exists()


async def _logged_in(tmp_path: Path, provider: Provider, pilot: Pilot[None]) -> None:
    await pilot.press("l")
    await settle(pilot)
    await pilot.press("enter")


async def test_refresh_revoke_and_refresh_all_keys(tmp_path: Path, dot_provider: Provider) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(tmp_path, dot_provider, pilot)
        first = ctx.store.get("demo").tokens
        assert first is not None

        await pilot.press("r")
        await settle(pilot)
        second = ctx.store.get("demo").tokens
        assert second is not None and second.refresh_token != first.refresh_token
        assert not dot_provider.is_active(first.refresh_token or "")
        assert "✔ refreshed" in _plain(app.dashboard.query_one("#panel"))

        await pilot.press("R")
        await settle(pilot)
        third = ctx.store.get("demo").tokens
        assert third is not None and third.refresh_token != second.refresh_token

        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is app.dashboard
        assert dot_provider.is_active(third.access_token)

        await pilot.press("x")
        await pilot.press("y")
        await settle(pilot)
        assert not dot_provider.is_active(third.access_token)
        assert not dot_provider.is_active(third.refresh_token or "")
        assert table_rows(app)["demo"]["state"] == "○ needs login"


async def test_palette_runs_actions(tmp_path: Path, dot_provider: Provider) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(tmp_path, dot_provider, pilot)
        before = dot_provider.token_requests("refresh_token")
        await pilot.press("ctrl+p", *"Refresh all")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert dot_provider.token_requests("refresh_token") == before + 1
        await pilot.press("ctrl+p", *"Toggle auto")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert ctx.auto_refresh is True


async def test_auto_refresh_refreshes_before_expiry_and_backs_off(
    tmp_path: Path, dot_provider: Provider
) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    app = make_app(ctx)
    clock = ctx.clock
    assert isinstance(clock, ManualClock)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(tmp_path, dot_provider, pilot)
        before = dot_provider.token_requests("refresh_token")
        clock.advance(5000)  # 2200 s left: more than max(10 min, 7200/6 = 20 min)
        app.dashboard.tick()
        await settle(pilot)
        assert dot_provider.token_requests("refresh_token") == before
        clock.advance(1100)  # 1100 s left: due
        app.dashboard.tick()
        await settle(pilot)
        assert dot_provider.token_requests("refresh_token") == before + 1
        row = repo_status(ctx.config.repository("demo"), ctx.store.get("demo"), clock.now())
        assert row.state is State.AUTHORIZED and row.expires_in == 7200

        # The provider goes away: the failure shows, and the next attempts back off.
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            dead = closed.getsockname()[1]
        data = json.loads(ctx.store.path.read_text())
        data["repositories"]["demo"]["gitlab_url"] = f"http://127.0.0.1:{dead}"
        ctx.store.path.write_text(json.dumps(data))
        ctx.config_path.write_text(
            ctx.config_path.read_text().replace(dot_provider.url, f"http://127.0.0.1:{dead}")
        )
        ctx.reload_config()
        clock.advance(6100)
        app.dashboard.tick()
        await settle(pilot)
        record = ctx.store.get("demo")
        assert record.last_refresh is not None and not record.last_refresh.ok
        assert "retry in 30s" in _plain(app.dashboard.query_one("#panel"))
        attempts = app.dashboard.plan.failures("demo")
        clock.advance(10)
        app.dashboard.tick()
        await settle(pilot)
        assert app.dashboard.plan.failures("demo") == attempts
        clock.advance(25)
        app.dashboard.tick()
        await settle(pilot)
        assert app.dashboard.plan.failures("demo") == attempts + 1
        assert record.tokens == ctx.store.get("demo").tokens, "a failed refresh keeps the tokens"


async def test_invalid_grant_turns_the_row_to_needs_login(
    tmp_path: Path, dot_provider: Provider
) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(tmp_path, dot_provider, pilot)
        tokens = ctx.store.get("demo").tokens
        app_cfg = dot_provider.confidential
        httpx.post(
            f"{dot_provider.url}/oauth/revoke",
            data={
                "token": tokens.refresh_token,
                "client_id": app_cfg.client_id,
                "client_secret": app_cfg.client_secret,
            },
            timeout=30,
        ).raise_for_status()
        await pilot.press("r")
        await settle(pilot)
        assert table_rows(app)["demo"]["state"] == "○ needs login"
        assert "invalid_grant" in _plain(app.dashboard.query_one("#panel"))


async def test_q_quits_and_stops_a_waiting_login(tmp_path: Path, dot_provider: Provider) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    ctx.open_browser = None
    app = make_app(ctx)
    port = None
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await eventually(pilot, lambda: _login_url(app), "the login's URL")
        url = app.screen.url  # type: ignore[attr-defined]
        port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_login_modal_shows_a_denial_and_stores_nothing(
    tmp_path: Path, dot_provider: Provider
) -> None:
    ctx = provider_context(tmp_path, dot_provider)
    settings = {
        "PAC_TUI_TEST_USERNAME": dot_provider.username,
        "PAC_TUI_TEST_PASSWORD": dot_provider.password,
        "PAC_TUI_TEST_CONSENT": "Deny",
    }
    ctx.open_browser = lambda url: drive(url, settings)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await settle(pilot)
        assert "Login failed" in screen_text(app)
        assert "access was denied in the browser" in screen_text(app)
        await pilot.press("escape")
        assert app.screen is app.dashboard
        assert table_rows(app)["demo"]["state"] == "○ needs login"
    assert not ctx.store.path.exists()
