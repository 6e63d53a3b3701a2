"""The walkthrough's "Connect to PAC" and "Check" steps, driven key by key against the real core:
the fake GitLab (real OAuth tokens from django-oauth-toolkit) and the fake apiserver reached
through a kubeconfig, exactly as `pac-tui onboard` reaches GitLab and a kind cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import TokenMode, load_config
from pac_tui.kube.repositories import PAC_GROUP
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding.pac import CheckStep, ConnectStep
from pac_tui.ui.screens.onboarding.screen import OnboardingScreen
from tests.kube.fake_apiserver import ADMIN_USER, FakeApiServer
from tests.providers.gitlab_api import FakeGitLab, FakeProject, login
from tests.ui.conftest import make_app, make_context
from tests.ui.test_onboarding import text, type_into, until

CONTROLLER = "https://pac.example.com/hook"
PROJECT = "group/sub/project"
SIZE = (140, 50)


@dataclass
class Setup:
    ctx: AppContext
    gitlab: FakeGitLab
    project: FakeProject
    apiserver: FakeApiServer

    def gitlab_writes(self) -> int:
        return sum(
            n for key, n in self.gitlab.requests.items() if not key.startswith(("GET ", "HEAD "))
        )


@pytest.fixture
async def setup(
    gitlab: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> AsyncIterator[Setup]:
    """Repository `demo` saved in the config and logged in; a kubeconfig for the fake cluster."""
    gitlab.reset()
    project = gitlab.add_project(PROJECT, access_level=40, tekton=["push.yaml", "pull.yaml"])
    session = await login(gitlab, tmp_path / "data", project=PROJECT)
    app = session.repo.gitlab
    config = (
        f'[gitlab.default]\nurl = "{{url}}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n'
    )
    ctx = make_context(tmp_path, url=gitlab.url, config_text=config)
    ctx.clock = SystemClock()  # the tokens are real: they expire in real time
    ctx.auto_refresh = False
    ctx.kubeconfig = str(kubeconfig)
    gitlab.requests.clear()
    yield Setup(ctx, gitlab, project, apiserver)


async def at_pac_step(pilot: Pilot[None], ctx: AppContext) -> OnboardingScreen:
    """The walkthrough opened at "Connect to PAC" for `demo`, its contexts loaded."""
    screen = OnboardingScreen(ctx, connect="demo")
    await pilot.app.push_screen(screen)
    await until(pilot, lambda: screen.query_one("#ob-pac-context", Select).value == "kind-pac")
    return screen


async def wait_idle(pilot: Pilot[None], screen: OnboardingScreen) -> ConnectStep:
    step = screen.query_one(ConnectStep)
    await until(pilot, lambda: not step.busy)
    return step


def fill(screen: OnboardingScreen, selector: str, value: str) -> None:
    """Set a field as a paste would (faster than keys; typing is covered in test_onboarding)."""
    screen.query_one(selector, Input).value = value


def shown(app: PacTuiApp, selector: str) -> str:
    """What a Static shows, as plain text (tables included)."""
    console = Console(width=130, record=True, color_system=None)
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


def app_for(setup: Setup) -> PacTuiApp:
    return make_app(setup.ctx)


# ---- tests --------------------------------------------------------------------------------------


async def test_preview_writes_nothing_then_connect_and_check(setup: Setup) -> None:
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        assert screen.step == "pac"
        assert "PAC" in text(app, "#ob-progress")
        assert screen.query_one("#ob-back", Button).disabled, "opened here: nothing before"
        # The form's defaults: the current context, its namespace, the repository's name.
        assert screen.query_one("#ob-pac-namespace", Input).value == "ci"
        assert screen.query_one("#ob-pac-repository", Input).value == "demo"
        assert str(screen.query_one("#ob-next", Button).label) == "Skip"
        await type_into(pilot, "#ob-pac-controller", CONTROLLER)
        await pilot.press("enter")  # enter in the last field previews
        step = await wait_idle(pilot, screen)
        assert "nothing was written" in text(app, "#ob-pac-status")
        items = shown(app, "#ob-pac-items")
        assert items.count("would create") == 3, items
        assert setup.apiserver.writes() == []
        assert setup.gitlab_writes() == 0
        assert "kind: Repository" in text(app, "#ob-pac-yaml-text")
        assert step.connected is None
        # Connect, from a button (the form keeps its values).
        await pilot.click("#ob-pac-connect")
        await wait_idle(pilot, screen)
        assert "Connected" in text(app, "#ob-pac-status"), text(app, "#ob-pac-status")
        await until(pilot, lambda: screen.query_one("#ob-next", Button).has_focus)
        assert shown(app, "#ob-pac-items").count("created") == 3
        repository = setup.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
        assert repository is not None
        assert setup.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is not None
        (hook,) = setup.project.hooks.values()
        assert hook["url"] == CONTROLLER
        bound = load_config(setup.ctx.config_path, env={}).repository("demo").kubernetes
        assert bound is not None and (bound.namespace, bound.repository) == ("ci", "demo")
        assert str(screen.query_one("#ob-next", Button).label) == "Next"
        # Check: the readiness lines in the dashboard's own panel.
        await pilot.press("ctrl+n")
        assert screen.step == "check"
        check = screen.query_one(CheckStep)
        await until(pilot, lambda: check.checks is not None)
        assert check.checks is not None and all(c.ok for c in check.checks), check.checks
        lines = shown(app, "#ob-check-panel")
        assert "✔" in lines and "ready for PAC" in lines
        await pilot.press("ctrl+n")
        assert screen.step == "done"
        assert "ci/demo, project-token mode" in text(app, "#ob-done-pac")
        assert "8/8 passed" in text(app, "#ob-done-check")  # with Rotation
        await pilot.press("ctrl+b")
        assert screen.step == "check"
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_an_unreachable_cluster_is_explained_and_connect_works_once_it_is_back(
    setup: Setup,
) -> None:
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        fill(screen, "#ob-pac-controller", CONTROLLER)
        setup.apiserver.stop()
        await pilot.click("#ob-pac-connect")
        await wait_idle(pilot, screen)
        status = text(app, "#ob-pac-status")
        assert "cannot reach the cluster" in status
        assert "kubectl --context kind-pac get namespaces" in status
        assert screen.step == "pac"
        assert str(screen.query_one("#ob-next", Button).label) == "Skip"
        assert screen.query_one("#ob-pac-controller", Input).value == CONTROLLER, "nothing lost"
        setup.apiserver.start()  # the same port, the same state
        await until(pilot, lambda: screen.query_one("#ob-pac-connect", Button).has_focus)
        await pilot.press("c")
        await wait_idle(pilot, screen)
        assert "Connected" in text(app, "#ob-pac-status")
        assert setup.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo") is not None


async def test_an_rbac_refusal_is_explained_and_can_be_retried(setup: Setup) -> None:
    app = app_for(setup)
    resource = "repositories.pipelinesascode.tekton.dev"
    setup.apiserver.deny(ADMIN_USER, "create", resource, "ci")
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        fill(screen, "#ob-pac-controller", CONTROLLER)
        await pilot.click("#ob-pac-connect")
        await wait_idle(pilot, screen)
        status = text(app, "#ob-pac-status")
        assert "not allowed to create PAC Repository ci/demo" in status
        assert "press Connect again" in status
        setup.apiserver.allow_all()
        await pilot.press("c")
        await wait_idle(pilot, screen)
        assert "Connected" in text(app, "#ob-pac-status")


async def test_without_the_maintainer_role_oauth_mode_is_offered(setup: Setup) -> None:
    setup.project.access_level = 30  # Developer
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        fill(screen, "#ob-pac-controller", CONTROLLER)
        await pilot.click("#ob-pac-connect")
        await wait_idle(pilot, screen)
        status = text(app, "#ob-pac-status")
        assert "needs the Maintainer role" in status and "OAuth mode" in status
        offer = screen.query_one("#ob-pac-use-oauth", Button)
        assert offer.display
        await pilot.click("#ob-pac-use-oauth")
        assert screen.query_one(ConnectStep).mode == "oauth"
        assert "token gateway" in text(app, "#ob-pac-mode-help")
        assert screen.query_one("#ob-pac-gateway").display  # shown in OAuth mode only
        assert not offer.display
        assert setup.apiserver.writes() == [], "refused before anything was written"


async def test_gitlab_down_and_no_login_are_explained(setup: Setup) -> None:
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        fill(screen, "#ob-pac-controller", CONTROLLER)
        setup.gitlab.outage = 503
        await pilot.click("#ob-pac-connect")
        await wait_idle(pilot, screen)
        assert "press Connect again once it is back" in text(app, "#ob-pac-status")
        setup.gitlab.outage = None
        with setup.ctx.store.transaction() as txn:  # logged out meanwhile
            txn.records.pop("demo")
            txn.commit()
        await pilot.press("c")
        await wait_idle(pilot, screen)
        assert "Log in first" in text(app, "#ob-pac-status")
        assert setup.apiserver.writes() == []
        assert setup.gitlab_writes() == 0


async def test_missing_entries_are_explained_in_place(setup: Setup) -> None:
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        await pilot.press("p")  # focus on the context list: p is Preview
        assert "Enter the PAC controller URL" in text(app, "#ob-pac-status")
        fill(screen, "#ob-pac-controller", "pac.example.com")
        await pilot.click("#ob-pac-preview")
        assert "not an http(s) URL" in text(app, "#ob-pac-status")
        fill(screen, "#ob-pac-controller", CONTROLLER)
        fill(screen, "#ob-pac-namespace", "")
        await pilot.press("p")  # (two clicks in a row would be a double click)
        assert "Enter the namespace" in text(app, "#ob-pac-status")
        fill(screen, "#ob-pac-namespace", "Not_A_Namespace")
        await pilot.press("p")
        assert "kubernetes.namespace" in text(app, "#ob-pac-status")
        assert not screen.query_one(ConnectStep).busy
        assert setup.apiserver.writes() == []


async def test_skip_ends_the_walkthrough(setup: Setup) -> None:
    app = app_for(setup)
    results: list[str | None] = []
    async with app.run_test(size=SIZE) as pilot:
        screen = OnboardingScreen(setup.ctx, connect="demo")
        await app.push_screen(screen, results.append)
        await pilot.press("ctrl+n")  # Skip
        assert screen.step == "done"
        assert "pac-tui onboard demo" in text(app, "#ob-done-pac")
        await pilot.press("ctrl+b")  # back to the step that was skipped, not the check
        assert screen.step == "pac"
        await pilot.press("ctrl+n", "enter")
        await pilot.pause()
        assert app.screen is app.dashboard
    assert results == ["demo"]
    assert setup.apiserver.writes() == []


async def test_a_missing_kubeconfig_says_how_to_get_one(setup: Setup, tmp_path: Path) -> None:
    setup.ctx.kubeconfig = str(tmp_path / "nowhere")
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = OnboardingScreen(setup.ctx, connect="demo")
        await app.push_screen(screen)
        await until(pilot, lambda: text(app, "#ob-pac-context-error") != "")
        assert "kind create cluster" in text(app, "#ob-pac-context-error")
        assert isinstance(screen.query_one("#ob-pac-context-error"), Static)


async def test_oauth_mode_through_the_token_gateway(setup: Setup) -> None:
    gateway_url = "http://pac-tui-gateway.pac-tui.svc"
    app = app_for(setup)
    async with app.run_test(size=SIZE) as pilot:
        screen = await at_pac_step(pilot, setup.ctx)
        assert not screen.query_one("#ob-pac-gateway").display  # project-token mode first
        screen.query_one(ConnectStep).form.set_mode(TokenMode.OAUTH)
        await until(pilot, lambda: screen.query_one("#ob-pac-gateway").display)
        fill(screen, "#ob-pac-gateway", gateway_url)
        fill(screen, "#ob-pac-controller", CONTROLLER)
        await pilot.press("c")  # Connect (the form is taller in OAuth mode)
        await wait_idle(pilot, screen)
        assert "Connected" in text(app, "#ob-pac-status"), text(app, "#ob-pac-status")
        repository = setup.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
        provider = repository["spec"]["git_provider"]
        assert (provider["url"], provider["user"]) == (gateway_url, "oauth2")
        bound = load_config(setup.ctx.config_path, env={}).repository("demo").kubernetes
        assert bound is not None and (bound.mode, bound.gateway) == ("oauth", gateway_url)
