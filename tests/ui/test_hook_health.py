"""Hook health in the dashboard over the fake GitLab (real OAuth tokens, real hooks lists): a PAC
hook GitLab disabled shows in the row's Webhook cell and in the panel with the fix; a test event
that re-enables it clears the marker at the next poll; only the rows on screen are asked; a
GitLab that does not answer gives "unknown", told once, and changes no cell."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from pac_tui.actions.hook_health import Health, HookHealth, hook_health
from pac_tui.core.clock import ManualClock
from pac_tui.gitlab.hook_events import reenable_fix, send_test_event
from pac_tui.gitlab.hooks import create_hook
from pac_tui.kube.repositories import CONTROLLER_ANNOTATION, PAC_GROUP
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.hooks import POLL_SECONDS
from pac_tui.ui.widgets.repo_table import RepoTable
from pac_tui.ui.widgets.token_panel import TokenPanel
from tests.gitlab.test_hook_events import Receiver, receiver  # noqa: F401 (a fixture)
from tests.kube.fake_apiserver import FakeApiServer
from tests.providers.gitlab_api import FakeGitLab, Session, login
from tests.ui.conftest import gitlab_context, make_app
from tests.ui.test_dashboard import settle

SIZE = (160, 45)
REPOS = 60
HOOKS = "/projects/{id}/hooks"
WEBHOOK = 3  # the Last webhook column
SECRET = "hook-secret-value-0123456789"


def _name(i: int) -> str:
    return f"r{i:02d}"


async def _world(gitlab: FakeGitLab, tmp_path: Path) -> tuple[Session, AppContext]:
    """REPOS projects the user maintains, one grant stored under every repository's name."""
    gitlab.reset()
    for i in range(REPOS):
        gitlab.add_project(f"group/{_name(i)}")
    clock = ManualClock(datetime.now(UTC))
    session = await login(gitlab, tmp_path / "data", project="group/r00", clock=clock)
    record = session.store.get("demo")
    with session.store.transaction() as txn:
        for i in range(REPOS):
            txn.records[_name(i)] = record
        txn.commit()
    repos = "".join(
        f'[[repositories]]\nname = "{_name(i)}"\nproject = "group/{_name(i)}"\n\n'
        for i in range(REPOS)
    )
    ctx = gitlab_context(gitlab, session, tmp_path, repos, discover_cluster=False, check_hooks=True)
    return session, ctx


def _panel_text(panel: TokenPanel) -> str:
    console = Console(width=200, record=True)
    console.print(panel.content)
    return console.export_text()


async def test_a_disabled_hook_shows_in_the_row_and_panel_until_a_test_event_fixes_it(
    gitlab: FakeGitLab,
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    session, ctx = await _world(gitlab, tmp_path)
    async with session.api() as api:
        hook = await create_hook(api, "group/r01", receiver.url, SECRET)
    project = next(p for p in gitlab.projects.values() if p.path == "group/r01")
    project.hooks[hook.id].update(
        alert_status="temporarily_disabled", disabled_until="2026-12-03T14:05:00Z"
    )
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.dashboard.tick()  # the first with the table laid out (the 1 Hz timer's, in use)
        await settle(pilot)
        table = app.dashboard.query_one("#repos", RepoTable)
        shown = table.on_screen()
        assert 10 < len(shown) < REPOS  # the screen holds some of the rows, not all
        assert gitlab.count("GET", HOOKS) == len(shown)  # only those were asked
        assert set(app.dashboard.hooks.asked_at) == set(shown)
        cell = table.row("r01").cells[WEBHOOK]
        assert cell.plain == "⚠ hook off until 14:05" and "yellow" in str(cell.style)
        assert table.row("r00").cells[WEBHOOK].plain == "—"  # no hook there: nothing extra
        assert not app._notifications

        await pilot.press("j")  # select r01
        await pilot.pause()
        panel = _panel_text(app.dashboard.query_one("#panel", TokenPanel))
        assert "⚠ disabled by GitLab until 2026-12-03 14:05 UTC" in panel
        assert "Fix: see why with: pac-tui deliveries r01 --failed; once fixed, send a test" in (
            " ".join(panel.split())
        )

        app.dashboard.tick()  # within the 5 minutes: nothing is asked again
        await settle(pilot)
        assert gitlab.count("GET", HOOKS) == len(shown)

        async with session.api() as api:  # the fix: a test event the controller accepts
            await send_test_event(api, "group/r01", hook.id, "push_events")
        assert project.hooks[hook.id]["alert_status"] == "executable"
        assert table.row("r01").cells[WEBHOOK].plain.startswith("⚠")  # until the next poll

        ctx.clock.advance(POLL_SECONDS)  # type: ignore[attr-defined]
        app.dashboard.tick()
        await settle(pilot)
        await pilot.pause()
        assert gitlab.count("GET", HOOKS) == 2 * len(shown)
        assert table.row("r01").cells[WEBHOOK].plain == "—"
        assert "disabled by GitLab" not in _panel_text(app.dashboard.query_one("#panel"))


async def test_a_gitlab_that_does_not_answer_is_told_once_and_changes_no_cell(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    _, ctx = await _world(gitlab, tmp_path)
    gitlab.outage = 503
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.dashboard.tick()  # the first with the table laid out (the 1 Hz timer's, in use)
        await settle(pilot)
        table = app.dashboard.query_one("#repos", RepoTable)
        shown = table.on_screen()
        health = app.dashboard.hooks.health
        assert set(health) == set(shown) and all(h.health == "unknown" for h in health.values())
        assert all(table.row(name).cells[WEBHOOK].plain == "—" for name in shown)
        told = list(app._notifications)
        assert len(told) == 1, [n.message for n in told]
        assert told[0].message.startswith(f"Hook health unknown for {len(shown)} repositories: ")

        ctx.clock.advance(POLL_SECONDS)  # type: ignore[attr-defined]
        app.dashboard.tick()
        await settle(pilot)
        assert gitlab.count("GET", HOOKS) >= 2 * len(shown)
        assert len(list(app._notifications)) == 1  # the same reason is not told again


async def test_repositories_not_logged_in_are_never_asked(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    session, ctx = await _world(gitlab, tmp_path)
    with session.store.transaction() as txn:
        txn.records.clear()
        txn.commit()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert gitlab.count("GET", HOOKS) == 0
        assert not app.dashboard.hooks.health


async def test_the_use_case_finds_the_pac_hook_as_deliveries_does(
    gitlab: FakeGitLab,
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    gitlab.reset()
    project = gitlab.add_project("group/demo")
    session = await login(gitlab, tmp_path / "data", project="group/demo")

    async def health(controller: str | None = None) -> HookHealth:
        return await hook_health(
            session.repo, session.store, session.clock, controller_url=controller
        )

    assert (await health()).health is Health.NO_HOOK
    async with session.api() as api:
        pac = await create_hook(api, "group/demo", receiver.url, SECRET)
        other = await create_hook(api, "group/demo", "http://127.0.0.1:9/other", SECRET)
    project.hooks[other.id].update(alert_status="disabled")
    # Without the controller's URL every hook sending PAC's events counts; with it, only its own.
    assert (await health()).health is Health.DISABLED
    assert (await health(receiver.url)) == HookHealth(Health.OK, pac.id)

    project.hooks[pac.id].update(alert_status="disabled", disabled_until=None)
    found = await health(receiver.url)
    assert found.disabled and found.hook_id == pac.id and found.disabled_until is None
    assert found.reason == "disabled for good by GitLab after repeated failures (disabled)"
    assert found.fix == reenable_fix("demo")
    assert found.fix.startswith("see why with: pac-tui deliveries demo --failed")

    gitlab.outage = 502
    found = await health(receiver.url)
    assert found.health is Health.UNKNOWN and "502" in (found.reason or "")


async def test_a_test_event_from_the_deliveries_screen_is_seen_on_return(
    gitlab: FakeGitLab,
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    session, ctx = await _world(gitlab, tmp_path)
    async with session.api() as api:
        hook = await create_hook(api, "group/r00", receiver.url, SECRET)
    project = next(p for p in gitlab.projects.values() if p.path == "group/r00")
    project.hooks[hook.id].update(alert_status="disabled")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.dashboard.tick()
        await settle(pilot)
        table = app.dashboard.query_one("#repos", RepoTable)
        assert table.row("r00").cells[WEBHOOK].plain == "⚠ hook disabled"

        await pilot.press("d", "t")  # r00's deliveries; a test event (it asks first)
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert project.hooks[hook.id]["alert_status"] == "executable"
        await pilot.press("escape")
        await settle(pilot)
        asked = gitlab.count("GET", HOOKS)
        app.dashboard.tick()  # the same minute: r00 alone is asked again
        await settle(pilot)
        assert gitlab.count("GET", HOOKS) == asked + 1
        assert table.row("r00").cells[WEBHOOK].plain == "—"


async def test_a_bound_repository_is_judged_by_the_hook_its_repository_names(
    gitlab: FakeGitLab,
    receiver: Receiver,  # noqa: F811
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
) -> None:
    """A project with a second hook sending push events, which GitLab disabled: the dashboard
    judges the hook onboarding recorded on the PAC Repository (its controller-url annotation),
    as `pac-tui deliveries` and `check` do, not the first disabled hook it finds."""
    gitlab.reset()
    project = gitlab.add_project("group/demo")
    clock = ManualClock(datetime.now(UTC))
    session = await login(gitlab, tmp_path / "data", project="group/demo", clock=clock)
    async with session.api() as api:
        other = await create_hook(api, "group/demo", "http://127.0.0.1:9/chat", SECRET)
        pac = await create_hook(api, "group/demo", receiver.url, SECRET)
    project.hooks[other.id].update(alert_status="disabled")
    apiserver.put_object(
        {
            "apiVersion": f"{PAC_GROUP}/v1alpha1",
            "kind": "Repository",
            "metadata": {
                "name": "demo",
                "namespace": "ci",
                "annotations": {CONTROLLER_ANNOTATION: receiver.url},
            },
            "spec": {"url": f"{gitlab.url}/group/demo"},
        }
    )
    binding = '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
    repos = f'[[repositories]]\nname = "demo"\nproject = "group/demo"\n{binding}'
    ctx = gitlab_context(
        gitlab, session, tmp_path, repos, kubeconfig=str(kubeconfig), check_hooks=True
    )
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        app.dashboard.cluster.discover()
        await settle(pilot)
        assert app.dashboard.cluster.pac_for(ctx.config.repositories[0]) is not None
        app.dashboard.tick()
        await settle(pilot)
        assert app.dashboard.hooks.health["demo"] == HookHealth(Health.OK, pac.id)
        table = app.dashboard.query_one("#repos", RepoTable)
        assert table.row("demo").cells[WEBHOOK].plain == "—"


async def test_polls_that_change_nothing_on_screen_redraw_nothing(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    """Rows scrolled into view are asked about while keys are pressed: a hook that works, a
    project without one, or a GitLab that cannot be asked shows nothing, so it redraws nothing."""
    _, ctx = await _world(gitlab, tmp_path)  # no project has a hook: "no PAC hook", not shown
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one("#repos", RepoTable)
        redrawn: list[str] = []
        invalidate_rows = table.invalidate_rows

        def spying(names: list[str], now: datetime) -> None:
            redrawn.extend(names)
            invalidate_rows(names, now)

        table.invalidate_rows = spying  # type: ignore[method-assign]
        await settle(pilot)
        app.dashboard.tick()  # the first with the table laid out
        await settle(pilot)
        health = app.dashboard.hooks.health
        assert set(health) == set(table.on_screen())
        assert {h.health for h in health.values()} == {Health.NO_HOOK}
        assert redrawn == []
