"""The login dialog's device mode (`d`) against a real RFC 8628 provider (panva oidc-provider),
with real headless Chromium typing the user code on the "other device"."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from pac_tui.ui.screens.login import LoginScreen
from tests.providers.browser_driver import enter_user_code
from tests.providers.oidc_provider import OidcProvider, start_oidc_provider
from tests.ui.conftest import eventually, make_app, provider_context
from tests.ui.test_dashboard import SIZE, screen_text, table_rows


@pytest.fixture(scope="module")
def fast_oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """oidc-provider polled every second instead of every five."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-ui"), device_interval=1) as p:
        yield p


async def _device_code_shown(pilot: Pilot[None]) -> LoginScreen:
    await pilot.press("l")
    await pilot.pause()
    await pilot.press("d")

    def shown() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, LoginScreen) and screen.code is not None

    await eventually(pilot, shown, "the device code")
    assert isinstance(pilot.app.screen, LoginScreen)
    return pilot.app.screen


async def test_device_login_from_the_dialog(tmp_path: Path, fast_oidc: OidcProvider) -> None:
    ctx = provider_context(tmp_path, fast_oidc)
    ctx.open_browser = None
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _device_code_shown(pilot)
        assert screen.device and screen.code is not None
        text = screen_text(app)
        assert screen.code.user_code in text
        assert "The code expires in" in text
        assert "▀" in text or "▄" in text  # the QR code
        settings = {
            "PAC_TUI_TEST_USERNAME": fast_oidc.username,
            "PAC_TUI_TEST_PASSWORD": fast_oidc.password,
            "PAC_TUI_TEST_CONSENT": "Authorize",
        }
        await asyncio.to_thread(
            enter_user_code, screen.code.verification_uri, screen.code.user_code, settings
        )
        await eventually(pilot, lambda: screen.result is not None, "the login's result")
        assert "Logged in" in screen_text(app)
        await pilot.press("enter")
        assert app.screen is app.dashboard
        assert table_rows(app)["demo"]["state"] == "● authorized"
        tokens = ctx.store.get("demo").tokens
        assert tokens is not None and fast_oidc.is_active(tokens.access_token)
        assert tokens.access_token not in screen_text(app)


async def test_copy_and_esc_cancel_the_device_login(
    tmp_path: Path, fast_oidc: OidcProvider
) -> None:
    ctx = provider_context(tmp_path, fast_oidc)
    ctx.open_browser = None
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _device_code_shown(pilot)
        assert screen.code is not None
        await pilot.press("c")
        assert app.clipboard == screen.code.url_to_open
        assert "user_code=" in app.clipboard
        worker = screen.worker
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert worker is not None and worker.is_cancelled
        assert not any(w.name == "login" and not w.is_finished for w in app.workers)
    assert not ctx.store.path.exists() or ctx.store.get("demo") is None
