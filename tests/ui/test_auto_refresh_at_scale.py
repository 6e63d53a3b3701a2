"""Auto-refresh with many grants due and the instance failing: at most a few refreshes at once,
and one notification for the round instead of one per repository (real sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from pac_tui.ui.feeds.tokens import REFRESH_CONCURRENCY
from tests.ui.conftest import make_app, make_context, token_record
from tests.ui.test_dashboard import SIZE, settle

REPOS = 30


async def test_failed_refreshes_are_told_once_and_run_a_few_at_a_time(tmp_path: Path) -> None:
    running, most = 0, 0

    async def token(request: web.Request) -> web.Response:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)
        running -= 1
        return web.json_response({"error": "temporarily_unavailable"}, status=503)

    server = web.Application()
    server.router.add_post("/oauth/token", token)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    try:
        lines = [f'[gitlab.default]\nurl = "{url}"\nclient_id = "app-id"\n']
        lines += [
            f'[[repositories]]\nname = "r{i:02d}"\nproject = "g/r{i:02d}"\n' for i in range(REPOS)
        ]
        records = {f"r{i:02d}": token_record(url, 7200, 300) for i in range(REPOS)}  # all due
        ctx = make_context(tmp_path, url=url, config_text="\n".join(lines), records=records)
        app = make_app(ctx)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            failed = list(app._notifications)  # one for the round, not one per repository
            assert len(failed) == 1, [n.message for n in failed]
            assert failed[0].message.startswith(f"{REPOS} refreshes failed: ")
            assert "retrying in 30s" in failed[0].message
            assert f"{REPOS} refreshes failing" in app.dashboard.sub_title
            # The store's lock already serialises token exchanges; the cap bounds the rest.
            assert 1 <= most <= REFRESH_CONCURRENCY
    finally:
        await runner.cleanup()
