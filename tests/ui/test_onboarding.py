"""The onboarding walkthrough, driven key by key against the real core: a real OAuth provider
(django-oauth-toolkit, set up like GitLab), the real config writer, a temp data dir, a frozen clock,
and for one test a real login through headless Chromium."""

from __future__ import annotations

import socket
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from pac_tui.core.config import load_config
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.screens.dashboard import DashboardScreen
from pac_tui.ui.screens.login import LoginScreen
from pac_tui.ui.screens.onboarding.screen import OnboardingScreen
from tests.providers.base import Provider
from tests.ui.conftest import make_app, make_context

SIZE = (140, 40)


@pytest.fixture(scope="module")
def dot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    from tests.providers.dot import start_dot_provider

    with start_dot_provider(tmp_path_factory.mktemp("dot")) as provider:
        yield provider


def existing_config(provider: Provider, comment: str = "# hand-written; keep me") -> str:
    app = provider.confidential
    return (
        f"{comment}\n"
        "[gitlab.default]\n"
        f'url = "{provider.url}"\n'
        f'client_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n'
        "\n"
        "[[repositories]]\n"
        'name = "first"\n'
        'project = "acme/first"   # the first one\n'
    )


# ---- helpers ------------------------------------------------------------------------------------


def onboarding(app: PacTuiApp) -> OnboardingScreen:
    screen = app.screen
    assert isinstance(screen, OnboardingScreen), f"expected onboarding, got {screen!r}"
    return screen


def text(app: PacTuiApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the condition did not become true in time")


async def type_into(pilot: Pilot[None], selector: str, value: str) -> None:
    """Focus a field, clear it (end, ctrl+u) and paste `value` as a terminal pastes it."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.press("end", "ctrl+u")
    await paste(pilot, value)


async def paste(pilot: Pilot[None], value: str) -> None:
    """What a terminal sends for a paste (bracketed paste), to the focused widget."""
    focused = pilot.app.screen.focused
    assert focused is not None
    focused.post_message(events.Paste(value))
    await pilot.pause()


async def to_client_step(pilot: Pilot[None], url: str) -> None:
    await type_into(pilot, "#ob-url", url)
    await pilot.press("enter")
    assert onboarding(pilot.app).step == "register"
    await pilot.press("ctrl+n")
    assert onboarding(pilot.app).step == "client"


async def enter_client(pilot: Pilot[None], client_id: str, secret: str | None) -> None:
    """Fill the client step (values set directly: 64 hex digits) and press Next."""
    screen = onboarding(pilot.app)
    screen.query_one("#ob-client-id", Input).value = client_id
    screen.query_one("#ob-client-secret", Input).value = secret or ""
    screen.query_one("#ob-client-secret", Input).focus()
    await pilot.press("enter")
    await until(pilot, lambda: not screen.checking)


async def to_project_step(pilot: Pilot[None], provider: Provider) -> None:
    await to_client_step(pilot, provider.url)
    app = provider.confidential
    await enter_client(pilot, app.client_id, app.client_secret)
    assert onboarding(pilot.app).step == "project"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- tests --------------------------------------------------------------------------------------


async def test_nothing_configured_opens_the_walkthrough_first(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        assert screen.step == "instance"
        assert app.screen_stack[-2] is app.dashboard
        assert screen.query_one("#ob-url", Input).has_focus
        assert screen.query_one("#ob-url", Input).value == "https://gitlab.com"
        assert screen.query_one("#ob-back", Button).disabled
        await pilot.press("ctrl+b")  # nothing before the first step
        assert screen.step == "instance"


async def test_the_whole_walk_writes_the_config_and_returns_to_the_dashboard(
    tmp_path: Path, dot: Provider
) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        # 1 instance: typed key by key, a trailing slash is fine.
        await type_into(pilot, "#ob-url", dot.url + "/")
        await pilot.press("enter")
        # 2 registration: the exact redirect URI and scope, each copyable.
        assert screen.step == "register"
        assert "http://127.0.0.1/callback" in text(app, "#ob-register-redirect-uri")
        assert "api" in text(app, "#ob-register-scopes")
        assert "not confidential" in text(app, "#ob-register-confidential")
        await pilot.press("u")
        assert app.clipboard == "http://127.0.0.1/callback"
        await pilot.press("s")
        assert app.clipboard == "api"
        await pilot.press("ctrl+n")
        # 3 client: enter moves from the ID to the secret, then checks against the provider.
        assert screen.step == "client"
        assert f"{dot.url}/oauth/token" in text(app, "#ob-client-intro")
        await paste(pilot, dot.confidential.client_id)
        await pilot.press("enter")
        assert screen.query_one("#ob-client-secret", Input).has_focus
        await paste(pilot, str(dot.confidential.client_secret))
        await pilot.press("enter")
        await until(pilot, lambda: screen.step == "project")
        # 4 project: the name follows the project path.
        await pilot.press(*"acme/web/storefront")
        assert screen.query_one("#ob-name", Input).value == "storefront"
        assert not ctx.config_path.exists(), "nothing is written before Next on this step"
        await pilot.press("enter")  # to the name field
        assert screen.query_one("#ob-name", Input).has_focus
        await pilot.press("enter")
        # 5 login: the config is written, 0600, and pac-tui loads it.
        assert screen.step == "login"
        assert mode(ctx.config_path) == 0o600
        config = load_config(ctx.config_path, env={})
        repo = config.repository("storefront")
        assert (repo.project, repo.gitlab.url) == ("acme/web/storefront", dot.url)
        assert repo.gitlab.client_secret == dot.confidential.client_secret
        assert repo.webhook_secret == screen.draft.webhook_secret
        assert len(repo.webhook_secret or "") >= 32
        assert ctx.config.repository("storefront") == repo, "the context was reloaded"
        assert screen.query_one("#ob-back", Button).disabled, "no going back past the write"
        assert str(screen.query_one("#ob-next", Button).label) == "Skip"
        await pilot.press("ctrl+n")
        # 6 webhook: the hooks page, the secret (copyable) and the events.
        assert screen.step == "webhook"
        assert f"{dot.url}/acme/web/storefront/-/hooks" in text(app, "#ob-webhook-intro")
        assert repo.webhook_secret in text(app, "#ob-webhook-secret-token")
        assert "Merge request events" in text(app, "#ob-webhook-trigger")
        await pilot.press("t")
        assert app.clipboard == repo.webhook_secret
        await pilot.press("ctrl+n")
        # 7 Connect to PAC (tests/ui/test_onboarding_pac.py): skipped here, with the command.
        assert screen.step == "pac"
        assert str(screen.query_one("#ob-next", Button).label) == "Skip"
        assert "pac-tui onboard storefront" in text(app, "#ob-pac-skip")
        await pilot.press("ctrl+n")
        # 9 done: a summary; Finish (enter on the focused button) returns to the dashboard.
        assert screen.step == "done"
        assert "storefront is ready" in text(app, "#ob-done-intro")
        assert "[gitlab.default], confidential" in text(app, "#ob-done-application")
        assert "pac-tui login storefront" in text(app, "#ob-done-login")
        assert "not yet" in text(app, "#ob-done-pac")
        assert "not run" in text(app, "#ob-done-check")
        assert str(ctx.config_path) in text(app, "#ob-done-config")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert [r.name for r in ctx.config.repositories] == ["storefront"]
        assert app.dashboard.selected_repo() == repo


async def test_back_and_next_keys_and_buttons_keep_what_was_entered(
    tmp_path: Path, dot: Provider
) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await type_into(pilot, "#ob-url", dot.url)
        await pilot.click("#ob-next")
        assert screen.step == "register"
        await pilot.click("#ob-back")
        assert screen.step == "instance"
        assert screen.query_one("#ob-url", Input).value == dot.url
        await pilot.press("ctrl+n", "ctrl+n")
        assert screen.step == "client"
        screen.query_one("#ob-client-id", Input).value = "typed-id"
        await pilot.press("ctrl+b")
        assert screen.step == "register"
        await pilot.press("ctrl+b")
        assert screen.step == "instance"
        await pilot.press("ctrl+n", "ctrl+n")
        assert screen.query_one("#ob-client-id", Input).value == "typed-id"
        # Back from the project step, and forward again without a new check needed to show it.
        await enter_client(pilot, dot.public.client_id, None)
        assert screen.step == "project"
        await pilot.press("ctrl+b")
        assert screen.step == "client"
        assert screen.query_one("#ob-client-id", Input).value == dot.public.client_id


async def test_escape_leaves_without_writing_anything(tmp_path: Path, dot: Provider) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    results: list[str | None] = []
    async with app.run_test(size=SIZE) as pilot:
        app.pop_screen()
        app.push_screen(OnboardingScreen(ctx), results.append)
        await pilot.pause()
        await to_project_step(pilot, dot)
        await pilot.press(*"acme/docs", "escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert results == [None]
        assert not ctx.config_path.exists()
        assert not list(tmp_path.glob(".config.toml.*")), "no temp file either"
        # Leaving after the write answers with the name: the repository does exist.
        app.push_screen(OnboardingScreen(ctx), results.append)
        await pilot.pause()
        await to_project_step(pilot, dot)
        await pilot.press(*"acme/docs", "ctrl+n")
        assert onboarding(app).step == "login"
        await pilot.press("escape")
        await pilot.pause()
        assert results == [None, "docs"]


async def test_an_invalid_url_is_explained_in_place(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        for typed, why in [
            ("gitlab.example.com", "did you mean https://gitlab.example.com"),
            ("ftp://gitlab.example.com", "must start with https://"),
            ("https://", "no valid host"),
            ("https://gitlab.example.com/?tab=1", "must not carry a query"),
        ]:
            await type_into(pilot, "#ob-url", typed)
            await pilot.press("enter")
            assert screen.step == "instance"
            assert why in text(app, "#ob-url-error")
        await pilot.press("backspace")  # editing clears the explanation
        assert text(app, "#ob-url-error") == ""
        await pilot.press("ctrl+n")  # ...and Next explains again
        assert "must not carry a query" in text(app, "#ob-url-error")
        await type_into(pilot, "#ob-url", "https://gitlab.example.com")
        await pilot.press("enter")
        assert screen.step == "register"


async def test_a_bad_client_is_explained_in_place(tmp_path: Path, dot: Provider) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await to_client_step(pilot, dot.url)
        await pilot.press("ctrl+n")  # empty ID
        assert "Paste the Application ID" in text(app, "#ob-client-status")
        await enter_client(pilot, "0" * 64, None)  # unknown to the provider
        assert screen.step == "client"
        assert "invalid_client" in text(app, "#ob-client-status")
        assert "check the Application ID" in text(app, "#ob-client-status")
        wrong = "gloas-" + "f" * 64
        await enter_client(pilot, dot.confidential.client_id, wrong)
        assert screen.step == "client"
        assert "the Secret" in text(app, "#ob-client-status")
        assert wrong not in text(app, "#ob-client-status")
        await enter_client(pilot, dot.confidential.client_id, None)  # confidential, no secret
        assert "confidential" in text(app, "#ob-client-status")
        await pilot.press("ctrl+n")  # a refusal is never continued past
        await until(pilot, lambda: not screen.checking)
        assert screen.step == "client"
        await enter_client(pilot, dot.public.client_id, None)
        assert screen.step == "project"


async def test_an_unreachable_instance_can_be_continued_past_with_a_warning(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await to_client_step(pilot, url)
        await enter_client(pilot, "some-id", None)
        assert screen.step == "client"
        status = screen.query_one("#ob-client-status", Static)
        assert status.has_class("ob-warning")
        assert "cannot reach" in text(app, "#ob-client-status")
        assert "Press Next again to continue anyway" in text(app, "#ob-client-status")
        await pilot.press("ctrl+n")
        assert screen.step == "project"
        await pilot.press(*"acme/api", "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        assert screen.step == "done"
        assert "not checked" in text(app, "#ob-done-application")
        assert load_config(ctx.config_path, env={}).repository("api").gitlab.url == url


async def test_a_bad_project_or_name_is_explained_and_nothing_is_written(
    tmp_path: Path, dot: Provider
) -> None:
    ctx = make_context(tmp_path, config_text=existing_config(dot))
    before = ctx.config_path.read_text()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")  # from the dashboard: it has a repository already
        screen = onboarding(app)
        await to_project_step(pilot, dot)
        await pilot.press("ctrl+n")
        assert "enter the project's path" in text(app, "#ob-project-error")
        assert "enter a short name" in text(app, "#ob-name-error")
        await pilot.press(*"justaproject", "ctrl+n")
        assert "not a GitLab project path" in text(app, "#ob-project-error")
        await type_into(pilot, "#ob-project", f"{dot.url}/acme/first.git")
        await pilot.press("ctrl+n")
        assert "path only, without the instance URL: acme/first" in text(app, "#ob-project-error")
        await type_into(pilot, "#ob-project", "acme/first")
        assert screen.query_one("#ob-name", Input).value == "first-2", "unique suggestion"
        await type_into(pilot, "#ob-name", "first")
        await pilot.press("ctrl+n")
        assert "'first' is already configured" in text(app, "#ob-name-error")
        await type_into(pilot, "#ob-name", "my first")
        await pilot.press("enter")
        assert "letters, digits" in text(app, "#ob-name-error")
        assert screen.step == "project"
        assert ctx.config_path.read_text() == before


async def test_a_config_broken_meanwhile_is_explained_and_left_untouched(
    tmp_path: Path, dot: Provider
) -> None:
    ctx = make_context(tmp_path)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await to_project_step(pilot, dot)
        ctx.config_path.write_text("[gitlab.default\n")  # someone else's edit, broken
        await pilot.press(*"acme/docs", "ctrl+n")
        assert screen.step == "project"
        assert "Nothing was saved" in text(app, "#ob-project-error")
        assert "not valid TOML" in text(app, "#ob-project-error")
        assert ctx.config_path.read_text() == "[gitlab.default\n"


async def test_running_it_again_adds_a_repository_and_keeps_everything(
    tmp_path: Path, dot: Provider
) -> None:
    original = existing_config(dot)
    ctx = make_context(tmp_path, config_text=original)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen is app.dashboard, "configured: the dashboard comes first"
        await pilot.press("o")
        screen = onboarding(app)
        assert screen.query_one("#ob-url", Input).value == dot.url, "the known instance"
        await pilot.press("enter")
        assert "[gitlab.default]" in text(app, "#ob-register-outro")
        await pilot.press("ctrl+n")
        assert screen.query_one("#ob-client-id", Input).value == dot.confidential.client_id
        assert screen.query_one("#ob-client-secret", Input).value == (
            dot.confidential.client_secret
        )
        await pilot.press("ctrl+n")
        await until(pilot, lambda: screen.step == "project")
        await pilot.press(*"acme/second", "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n", "enter")
        await pilot.pause()
        assert app.screen is app.dashboard
    new = ctx.config_path.read_text()
    assert new.startswith(original), "the first repository and the comments stay as written"
    data = tomllib.loads(new)
    assert list(data["gitlab"]) == ["default"], "the same application is reused"
    assert [r["name"] for r in data["repositories"]] == ["first", "second"]
    assert mode(ctx.config_path) == 0o600
    assert [r.name for r in ctx.config.repositories] == ["first", "second"]


async def test_the_known_application_is_filled_in_only_for_its_instance(
    tmp_path: Path, dot: Provider
) -> None:
    ctx = make_context(tmp_path, config_text=existing_config(dot))
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o", "enter", "ctrl+n")
        screen = onboarding(app)
        assert screen.query_one("#ob-client-id", Input).value == dot.confidential.client_id
        assert "Filled in from [gitlab.default]" in text(app, "#ob-client-intro")
        await pilot.press("ctrl+b", "ctrl+b")
        await type_into(pilot, "#ob-url", "https://gitlab.other.example")
        await pilot.press("enter")
        assert "already has an application" not in text(app, "#ob-register-outro")
        await pilot.press("ctrl+n")
        assert screen.query_one("#ob-client-id", Input).value == ""
        assert screen.query_one("#ob-client-secret", Input).value == ""


async def test_open_page_buttons_and_copy_buttons(tmp_path: Path, dot: Provider) -> None:
    opened: list[str] = []
    ctx = make_context(tmp_path, open_browser=opened.append)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await type_into(pilot, "#ob-url", dot.url)
        await pilot.press("enter", "o")
        await until(pilot, lambda: len(opened) == 1)
        assert opened == [f"{dot.url}/-/user_settings/applications"]
        await pilot.click("#ob-open-applications")
        await until(pilot, lambda: len(opened) == 2)
        await pilot.click("#ob-copy-scope")
        assert app.clipboard == "api"
        app.copy_to_clipboard("")
        await pilot.click("#ob-copy-redirect")
        assert app.clipboard == "http://127.0.0.1/callback"
        # Keys of other steps do nothing here; the footer does not offer them.
        await pilot.press("t", "l")
        assert screen.step == "register"
        await pilot.press("ctrl+n")
        await enter_client(pilot, dot.public.client_id, None)
        await pilot.press(*"acme/hooks", "ctrl+n", "ctrl+n")
        assert screen.step == "webhook"
        await pilot.click("#ob-copy-secret")
        assert app.clipboard == screen.draft.webhook_secret
        await pilot.press("o")
        await until(pilot, lambda: len(opened) == 3)
        assert opened[-1] == f"{dot.url}/acme/hooks/-/hooks"
        await pilot.click("#ob-open-hooks")
        await until(pilot, lambda: len(opened) == 4)
        await pilot.press("u", "s")  # register-step keys: nothing copied now
        assert app.clipboard == screen.draft.webhook_secret
        await pilot.press("ctrl+b")
        assert screen.step == "login"
        await pilot.press("ctrl+b")  # the config is written: no way back to the project step
        assert screen.step == "login"


async def test_without_a_browser_open_page_copies_the_url(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)  # open_browser=None
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "o")
        assert app.clipboard == "https://gitlab.com/-/user_settings/applications"


async def test_logging_in_from_the_walkthrough_with_a_real_browser(
    tmp_path: Path, dot: Provider
) -> None:
    from tests.providers.browser_driver import drive

    settings = {
        "PAC_TUI_TEST_USERNAME": dot.username,
        "PAC_TUI_TEST_PASSWORD": dot.password,
        "PAC_TUI_TEST_CONSENT": "Authorize",
    }
    browsed: list[dict[str, object]] = []
    ctx = make_context(tmp_path, open_browser=lambda url: browsed.append(drive(url, settings)))
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await to_client_step(pilot, dot.url)
        await enter_client(pilot, dot.public.client_id, None)
        await pilot.press(*"acme/login", "ctrl+n")
        assert screen.step == "login"
        await pilot.press("l")
        assert isinstance(app.screen, LoginScreen)
        login = app.screen
        await until(pilot, lambda: login.result is not None, timeout=60)
        await pilot.press("enter")  # closes the login dialog
        await pilot.pause()
        assert app.screen is screen
        assert f"Logged in as {dot.username}" in text(app, "#ob-login-outcome")
        assert str(screen.query_one("#ob-next", Button).label) == "Next"
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
        assert f"logged in as {dot.username}" in text(app, "#ob-done-login")
    assert browsed and browsed[0]["status"] == 200
    record = ctx.store.get("login")
    assert record is not None and record.tokens is not None
    assert record.client_id == dot.public.client_id
    assert dot.is_active(record.tokens.access_token)


async def test_a_cancelled_login_says_so_and_allows_skipping(tmp_path: Path, dot: Provider) -> None:
    ctx = make_context(tmp_path)  # no browser: the login waits until cancelled
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = onboarding(app)
        await to_client_step(pilot, dot.url)
        await enter_client(pilot, dot.public.client_id, None)
        await pilot.press(*"acme/later", "ctrl+n")
        await pilot.click("#ob-login-now")
        assert isinstance(app.screen, LoginScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "Not logged in" in text(app, "#ob-login-outcome")
        await pilot.press("ctrl+n")
        assert screen.step == "webhook"
    assert ctx.store.get("later") is None
