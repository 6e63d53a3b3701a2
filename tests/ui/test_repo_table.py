"""The line-API repositories table at scale: a tick asks only for the rows on screen whose texts
may have changed, rows off screen are right when they scroll in, and each countdown knows the
next instant its text changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pac_tui.core.clock import ManualClock
from pac_tui.core.humanize import ago, countdown
from pac_tui.ui.widgets.repo_rows import ago_change, countdown_change
from pac_tui.ui.widgets.repo_table import RepoTable
from pac_tui.ui.widgets.webhook_pane import WebhookPane
from pac_tui.webhooks.models import Delivery, Verdict
from tests.ui.conftest import NOW, eventually, make_app, make_context, token_record

URL = "https://gitlab.example.com"


def many_repos(tmp_path: Path, count: int):
    lines = [f'[gitlab.default]\nurl = "{URL}"\nclient_id = "app-id"\n']
    records = {}
    for i in range(count):
        name = f"repo-{i:04d}"
        lines.append(f'[[repositories]]\nname = "{name}"\nproject = "group/{name}"\n')
        if i % 10:
            records[name] = token_record(URL, 7200, 30 + (i * 7) % 7100)
    ctx = make_context(tmp_path, url=URL, config_text="\n".join(lines), records=records)
    ctx.auto_refresh = False
    return ctx


async def started(app, pilot) -> None:
    """Wait for the dashboard's start-up work: the journal's history, read in a thread, redraws
    every row when it arrives; the webhook status comes right after it."""
    pane = app.dashboard.query_one("#webhooks", WebhookPane)
    await eventually(pilot, lambda: pane.status == "receiver off", "the start-up history")
    await pilot.pause()


def spy(table: RepoTable) -> list[str]:
    """The names the table asks its row source for, from now on."""
    asked: list[str] = []
    source = table.source

    def counting(name, now):
        asked.append(name)
        return source(name, now)

    table.source = counting
    return asked


async def test_a_tick_asks_only_for_rows_on_screen_that_may_have_changed(tmp_path: Path) -> None:
    ctx = many_repos(tmp_path, 1000)
    app = make_app(ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        table = app.dashboard.query_one("#repos", RepoTable)
        source = table.source
        on_screen = {row.name for row in table.rows[: table.visible_rows]}
        assert 20 < len(on_screen) < 60
        before = {name: source(name, NOW).key for name in on_screen}
        clock = ctx.clock
        assert isinstance(clock, ManualClock)
        clock.advance(1)
        asked = spy(table)
        app.dashboard.tick()
        await pilot.pause()
        ticked = set(asked)
        changed = {name for name in on_screen if source(name, clock.now()).key != before[name]}
        # Every row whose texts changed was asked for, and only rows on screen were; rows that
        # show "1h 40m" or no countdown at all were not.
        assert changed and changed <= ticked <= on_screen
        assert len(ticked) < len(on_screen)
        assert "repo-0000" not in ticked  # not logged in: nothing of it moves

        asked.clear()
        await pilot.press("end")  # the last rows scroll in: computed now, as of now
        await pilot.pause()
        assert "repo-0999" in asked
        assert len(asked) < 60
        expected = countdown(30 + (999 * 7) % 7100 - 1)
        assert table.row("repo-0999").cells[2].plain == expected


def test_countdown_and_ago_know_when_their_text_changes() -> None:
    for left in [*range(1, 200), 3599, 3600, 3601, 5999, 6000, 6059, 86399, 86400, 90061]:
        expires = NOW + timedelta(seconds=left)
        change = countdown_change(expires, NOW)
        assert change is not None
        shown = countdown((expires - NOW).total_seconds())
        step = timedelta(seconds=1)
        t = NOW
        while t + step < change:
            t += step
            assert countdown(int((expires - t).total_seconds())) == shown, (left, t)
        assert countdown(int((expires - change).total_seconds())) != shown, left
    assert countdown_change(NOW, NOW) is None
    for age in [0, 4, 5, 59, 60, 61, 3599, 3600, 86399, 86400, 90000]:
        then = NOW - timedelta(seconds=age)
        change = ago_change(then, NOW)
        assert change is not None
        assert ago(then, change - timedelta(microseconds=1)) == ago(then, NOW)
        assert ago(then, change) != ago(then, NOW)


async def test_paging_through_every_row_keeps_only_a_few_pages_alive(tmp_path: Path) -> None:
    """What stays cached is what each full garbage collection walks: a few pages, not 1,000 rows
    (ui/heap.py); a row paged back to after it was dropped is drawn again, right."""
    ctx = many_repos(tmp_path, 1000)
    app = make_app(ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.dashboard.query_one("#repos", RepoTable)
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        for _ in range(40):
            await pilot.press("pageup")
        await pilot.pause()
        assert table.cursor_row == 0
        kept = table.cached_rows()
        assert table.visible_rows <= kept <= 256
        lines = [strip.text for strip in (table.render_line(y) for y in range(1, 4))]
        assert [line.split()[0] for line in lines] == ["repo-0000", "repo-0001", "repo-0002"]


async def test_a_delivery_redraws_its_own_row_not_the_screen(tmp_path: Path) -> None:
    """A flood for one repository asks for that row's texts, not every row on screen's."""
    ctx = many_repos(tmp_path, 1000)
    app = make_app(ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        table = app.dashboard.query_one("#repos", RepoTable)
        asked = spy(table)
        feed = app.dashboard.webhooks
        for _ in range(50):
            feed.deliver(
                Delivery(NOW, "Push Hook", Verdict.ACCEPTED, "push", {}, b"{}", repo="repo-0003")
            )
        feed.flush()
        await pilot.pause()
        assert asked == ["repo-0003"]
        assert "just now · P" in table.render_line(4).text  # its Webhook cell
