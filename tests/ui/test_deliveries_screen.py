"""The Deliveries screen (key d) over the fake GitLab: GitLab's record of the hook's deliveries,
the detail with headers redacted, and resend and test event behind the confirmation, all for
real (GitLab delivers to a PAC stand-in on 127.0.0.1)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static

from pac_tui.actions.deliveries import DeliveryView
from pac_tui.gitlab.hook_events import HookEvent
from pac_tui.gitlab.hooks import create_hook
from pac_tui.ui.screens.confirm import ConfirmScreen
from pac_tui.ui.screens.deliveries import DeliveriesScreen, row
from tests.gitlab.test_hook_events import Receiver, receiver  # noqa: F401 (a fixture)
from tests.providers.gitlab_api import FakeGitLab, login
from tests.providers.gitlab_hook_events import log_of, sample_payload
from tests.ui.conftest import gitlab_context, make_app

SIZE = (140, 36)
PROJECT = "group/demo"
SECRET = "hook-secret-value-0123456789"


async def _settle(app: object, *groups: str) -> None:
    for group in groups:
        workers = [w for w in app.workers if w.group == group]  # type: ignore[attr-defined]
        if workers:
            await app.workers.wait_for_complete(workers)  # type: ignore[attr-defined]


async def test_d_shows_the_deliveries_and_resends_and_tests(
    gitlab: FakeGitLab,
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    gitlab.reset()
    project = gitlab.add_project(PROJECT)
    session = await login(gitlab, tmp_path / "data", project=PROJECT)
    async with session.api() as api:
        hook = await create_hook(api, PROJECT, receiver.url, SECRET)
    log = log_of(gitlab)
    log.redact_token = False  # the screen redacts on its own
    await log.deliver(project, hook.id, "Push Hook", sample_payload("push_events"))
    receiver.status, receiver.message = 500, "internal server error"
    await log.deliver(project, hook.id, "Push Hook", sample_payload("push_events"))
    receiver.status, receiver.message = 202, "accepted"
    project.hooks[hook.id].update(alert_status="temporarily_disabled")

    repos = f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n'
    ctx = gitlab_context(gitlab, session, tmp_path, repos, discover_cluster=False)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DeliveriesScreen)
        await _settle(app, "deliveries")
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        status = str(screen.query_one("#deliveries-status", Static).render())
        assert "disabled for now by GitLab" in status
        shown = str(screen.query_one("#delivery-detail", Static).render())
        assert "PAC answered: " in shown and "internal server error" in shown  # the newest
        assert "X-Gitlab-Token: [redacted]" in shown and SECRET not in shown
        assert "not known (the repository is not bound" in shown

        await pilot.press("e")  # resend the highlighted (newest) delivery
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        await _settle(app, "deliveries-ask", "deliveries")
        await pilot.pause()
        assert len(receiver.seen) == 3 and table.row_count == 3

        await pilot.press("t")  # a test event through the hook: it re-enables the hook
        await pilot.press("n")  # … not yet
        await pilot.pause()
        assert len(receiver.seen) == 3
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await _settle(app, "deliveries-ask", "deliveries")
        await pilot.pause()
        assert len(receiver.seen) == 4 and table.row_count == 4
        assert project.hooks[hook.id]["alert_status"] == "executable"
        assert "disabled" not in str(screen.query_one("#deliveries-status", Static).render())

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


def test_a_sender_s_text_is_shown_as_written_never_read_as_markup() -> None:
    """An MR title is the sender's: "[/]" would raise in markup and "[skip ci]" would vanish."""
    title = "MR !7 [/] docs [skip ci] [bold]tidy"
    event = HookEvent(
        id=1,
        hook_id=2,
        url="http://127.0.0.1:9/hook",
        trigger="merge_request_hooks",
        response_status="200",
        response_body="",
        execution_duration=0.1,
        created_at=None,
        request_headers={},
        request_data={},
    )
    view = DeliveryView(event, None, title, None, frozenset(), None)
    cell = row(view, UTC)[1]
    assert isinstance(cell, Text) and cell.plain == title
