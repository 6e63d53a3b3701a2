"""`D` in the dashboard: the confirmation lists the plan's steps; yes carries them out in a worker,
and the table and panel show the result. The real app, the fake GitLab in front of the real OAuth
provider, the fake apiserver through a kubeconfig."""

from __future__ import annotations

from pathlib import Path

from pac_tui.core.clock import SystemClock
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.screens.confirm import ConfirmScreen
from tests.onboard.conftest import PROJECT, World
from tests.onboard.test_offboard import onboarded
from tests.ui.conftest import make_app, make_context
from tests.ui.test_dashboard import SIZE, screen_text, settle, table_rows


def dashboard(world: World, tmp_path: Path) -> PacTuiApp:
    app = world.session.repo.gitlab
    ctx = make_context(
        tmp_path,  # the session's store is tmp_path/data, as make_context's
        url=world.gitlab.url,
        config_text=(
            f'[gitlab.default]\nurl = "{{url}}"\nclient_id = "{app.client_id}"\n'
            f'client_secret = "{app.client_secret}"\n\n'
            f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n\n'
            '[repositories.kubernetes]\ncontext = "kind-pac"\nnamespace = "ci"\n'
            'repository = "demo"\nmode = "project-token"\n'
        ),
    )
    assert ctx.store.path == world.session.store.path
    ctx.clock = SystemClock()  # the grant was issued by the system clock
    ctx.kubeconfig = str(world.kubeconfig)
    ctx.auto_refresh = False
    return make_app(ctx)


def notices(app: PacTuiApp) -> str:
    """Every notification the app has shown so far."""
    return "\n".join(n.message for n in app._notifications)


async def test_offboard_from_the_dashboard_after_a_confirmation(
    world: World, tmp_path: Path
) -> None:
    _, values = await onboarded(world, "project-token")
    app = dashboard(world, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert table_rows(app)["demo"]
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "Offboard demo?" in text and "delete hook #" in text
        assert "revoke project access token #" in text
        await pilot.press("n")  # cancel: nothing happens
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert world.apiserver.writes() == [] and world.gitlab_writes() == 0

        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)

        assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is None
        assert world.project.hooks == {}
        assert world.session.store.get("demo") is None
        text = screen_text(app)
        assert "demo: offboarded" in notices(app)
        assert "not logged in" in text.lower() or "needs login" in text.lower()
        for value in values.values():
            assert value not in text

        await pilot.press("D")  # a second time: nothing left, no question
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "nothing of pac-tui's is left to remove" in notices(app)


async def test_a_failed_step_in_the_dashboard_says_what_to_do(world: World, tmp_path: Path) -> None:
    await onboarded(world, "project-token")
    app = dashboard(world, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        world.project.access_level = 30  # the role is lowered while the question is open
        await pilot.press("y")
        await settle(pilot)

        stopped = [n for n in app._notifications if n.title == "Offboard demo stopped"]
        assert len(stopped) == 1 and stopped[0].severity == "error"
        assert "Maintainer" in stopped[0].message
        assert "run pac-tui offboard demo" in stopped[0].message
        assert world.apiserver.writes() == [] and len(world.project.hooks) == 1
        assert world.session.store.get("demo") is not None
