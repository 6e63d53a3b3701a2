"""Pilot tests of the webhook log pane, fed by the real receiver on a real socket."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from textual.pilot import Pilot

from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.screens.event_detail import EventDetailScreen
from pac_tui.ui.widgets.event_log import EventLog
from pac_tui.ui.widgets.repo_table import COLUMNS, RepoTable
from tests.ui.conftest import eventually, make_app, make_context
from tests.webhooks.conftest import CONFIG, SECRET, fixture, push_payload

SIZE = (140, 40)


def _context(tmp_path: Path):  # type: ignore[no-untyped-def]
    ctx = make_context(tmp_path, config_text=CONFIG)
    ctx.auto_refresh = False
    ctx.receive_webhooks = True
    ctx.webhook_port = 0
    return ctx


async def _started(pilot: Pilot[None]) -> str:
    app = pilot.app
    assert isinstance(app, PacTuiApp)
    await eventually(pilot, lambda: app.dashboard.receiver_url, "the receiver's start")
    assert app.dashboard.receiver_url
    return app.dashboard.receiver_url


async def _send(url: str, body: bytes, **headers: str) -> httpx.Response:
    """Async: the receiver runs on the app's loop, which is this test's loop too."""
    async with httpx.AsyncClient(timeout=30) as http:  # 5 s by default: short on a loaded CI
        return await http.post(url, content=body, headers=headers)


def _log(app: PacTuiApp) -> EventLog:
    return app.dashboard.query_one("#log", EventLog)


def _webhook_cell(app: PacTuiApp, name: str) -> str:
    table = app.dashboard.query_one("#repos", RepoTable)
    keys = [key for _, key in COLUMNS]
    return table.row(name, app.dashboard.ctx.clock.now()).cells[keys.index("webhook")].plain


async def test_deliveries_appear_in_the_log_and_the_table(tmp_path: Path) -> None:
    app = make_app(_context(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        url = await _started(pilot)
        push = json.dumps(push_payload()).encode()
        good = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
        bad = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "bad"}
        assert (await _send(url, push, **good)).status_code == 200
        assert (await _send(url, push, **bad)).status_code == 401
        assert (await _send(url, b"garbage", **{"X-Gitlab-Event": "Push Hook"})).status_code == 400
        app.dashboard.flush_events()
        await pilot.pause()
        log = _log(app)
        assert [e.verdict.value for e in log.view] == ["accepted", "rejected", "malformed"]
        assert "Push Hook" in _webhook_cell(app, "checked")
        assert "3 received" in app.dashboard.query_one("#webhooks").border_subtitle


async def test_filter_pause_follow_and_detail(tmp_path: Path) -> None:
    app = make_app(_context(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        url = await _started(pilot)
        push = json.dumps(push_payload()).encode()
        mr = fixture("go-gitlab/webhooks/merge_request.json")
        for _ in range(30):
            await _send(url, push, **{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET})
        await _send(url, mr, **{"X-Gitlab-Event": "Merge Request Hook"})
        app.dashboard.flush_events()
        await pilot.pause()
        log = _log(app)
        assert len(log.view) == 31 and log.following

        # Filter by kind, then clear.
        log.focus()
        await pilot.press("slash", *"merge")
        assert [e.kind for e in log.view] == ["Merge Request Hook"]
        await pilot.press("enter", "escape")
        assert len(log.view) == 31

        # Moving up stops following; new lines are counted, not scrolled to.
        log.focus()
        await pilot.press("up", "up")
        assert not log.following
        await _send(url, push, **{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET})
        app.dashboard.flush_events()
        await pilot.pause()
        assert log.unseen == 1 and "1 new" in log.title()
        await pilot.press("end")
        assert log.following and log.unseen == 0

        # Pause: deliveries wait; resuming shows them.
        await pilot.press("p")
        await _send(url, push, **{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET})
        app.dashboard.flush_events()
        await pilot.pause()
        assert len(log.view) == 32 and "PAUSED, 1 waiting" in log.title()
        await pilot.press("p")
        assert len(log.view) == 33

        # Detail of the selected delivery: headers redacted, payload tree, PAC interpretation.
        await pilot.press("enter")
        await eventually(pilot, lambda: isinstance(app.screen, EventDetailScreen), "the detail")
        screen = app.screen
        assert isinstance(screen, EventDetailScreen)
        assert screen.delivery.headers["X-Gitlab-Token"] == "[redacted]"
        assert screen.query_one("#event-payload").root.children
        await pilot.press("c")
        assert app.clipboard.startswith("{")
        await pilot.press("r")  # no relay configured: explained, nothing sent
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_a_second_dashboard_follows_the_journal_when_the_port_is_taken(
    tmp_path: Path,
) -> None:
    first = make_app(_context(tmp_path))
    async with first.run_test(size=SIZE) as pilot:
        url = await _started(pilot)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        ctx = _context(tmp_path)
        ctx.webhook_port = port
        second = make_app(ctx)
        async with second.run_test(size=SIZE) as pilot2:
            title = lambda: second.dashboard.query_one("#webhooks").border_title  # noqa: E731
            await eventually(pilot2, lambda: "following the journal" in title(), "following")
            assert "following the journal" in second.dashboard.query_one("#webhooks").border_title
            await _send(
                url,
                json.dumps(push_payload()).encode(),
                **{"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"},
            )

            def arrived() -> bool:
                second.dashboard.flush_events()
                return bool(_log(second).view)

            await eventually(pilot2, arrived, "the delivery in the second dashboard")
            assert [e.repo for e in _log(second).view] == ["checked"]


async def test_replay_from_the_detail_never_lends_the_secret_to_a_refused_delivery(
    tmp_path: Path,
) -> None:
    """`r` in the detail: an accepted delivery goes out with the webhook secret; a rejected one
    only after a confirmation, and as it came (the rule of `events replay --force`)."""
    from datetime import UTC, datetime

    from aiohttp import web

    from pac_tui.core.config import parse_config
    from pac_tui.ui.screens.confirm import ConfirmScreen
    from pac_tui.webhooks.models import Delivery, Verdict

    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text="ok")

    target = web.Application()
    target.router.add_post("/", record)
    runner = web.AppRunner(target)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = parse_config(CONFIG + f'\n[webhook]\nrelay = "http://127.0.0.1:{port}/"\n', None)

    def delivery(verdict: Verdict) -> Delivery:
        return Delivery(
            received_at=datetime(2026, 12, 3, tzinfo=UTC),
            kind="Push Hook",
            verdict=verdict,
            summary="push",
            headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "[redacted]"},
            body=json.dumps(push_payload()).encode(),
            repo="checked",
            project="mike/diaspora",
        )

    app = make_app(make_context(tmp_path, config_text=CONFIG))
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.push_screen(EventDetailScreen(delivery(Verdict.ACCEPTED), config))
            await pilot.pause()
            await pilot.press("r")
            await eventually(pilot, lambda: seen, "the replay")
            assert seen[-1]["X-Gitlab-Token"] == SECRET

            await pilot.press("escape")
            app.push_screen(EventDetailScreen(delivery(Verdict.REJECTED), config))
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen) and len(seen) == 1
            await pilot.press("y")
            await eventually(pilot, lambda: len(seen) == 2, "the forced replay")
            assert len(seen) == 2 and "X-Gitlab-Token" not in seen[-1]
    finally:
        await runner.cleanup()
