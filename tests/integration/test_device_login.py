"""Device login (RFC 8628) against a real provider that implements it (panva oidc-provider), with
headless Chromium typing the user code, and against one that does not (django-oauth-toolkit)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import GitLabApp
from pac_tui.oauth.device import poll_device_token, start_device_authorization
from tests.integration.conftest import Harness
from tests.providers.base import Provider
from tests.providers.browser_driver import enter_user_code
from tests.providers.oidc_provider import OidcProvider, start_oidc_provider

CODE = re.compile(r"enter the code:\s+(\S+)")
URL = re.compile(r"open:\s+(\S+)")


@pytest.fixture(scope="module")
def fast_oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """oidc-provider with a 1 s polling interval, so the tests need not wait 5 s per poll."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-fast"), device_interval=1) as p:
        yield p


@pytest.fixture(scope="module")
def short_codes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """Device codes that expire after 3 s."""
    with start_oidc_provider(
        tmp_path_factory.mktemp("oidc-short"), device_interval=1, device_code_ttl=3
    ) as p:
        yield p


def _harness(provider: Provider, tmp_path: Path, confidential: bool = True) -> Harness:
    app = provider.confidential if confidential else provider.public
    h = Harness(provider=provider, app=app, root=tmp_path)
    h.write_config()
    return h


def _settings(provider: Provider, consent: str) -> dict[str, str]:
    return {
        "PAC_TUI_TEST_USERNAME": provider.username,
        "PAC_TUI_TEST_PASSWORD": provider.password,
        "PAC_TUI_TEST_CONSENT": consent,
    }


def _run_device_login(h: Harness, consent: str | None) -> tuple[subprocess.CompletedProcess, str]:
    """`pac-tui login demo --device`; the browser (if `consent`) types the printed code."""
    process = h.popen("login", "demo", "--device")
    assert process.stderr is not None
    printed: list[str] = []
    page: dict[str, object] = {}
    while True:
        line = process.stderr.readline()
        if not line:
            break
        printed.append(line)
        if "Waiting for the answer" in line:
            break
    text = "".join(printed)
    if consent is not None:
        code, url = CODE.search(text), URL.search(text)
        assert code and url, text
        page = enter_user_code(url.group(1), code.group(1), _settings(h.provider, consent))
    stdout, rest = process.communicate(timeout=60)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, text + rest)
    h.outputs += [done.stdout, done.stderr, str(page)]
    h.remember_tokens()
    return done, str(page)


@pytest.mark.parametrize("confidential", [True, False], ids=["confidential", "public"])
def test_device_login_with_the_cli(fast_oidc: OidcProvider, tmp_path: Path, confidential: bool):
    h = _harness(fast_oidc, tmp_path, confidential)
    done, page = _run_device_login(h, "Authorize")
    assert done.returncode == 0, done.stderr
    assert "Device authorized" in page
    assert "█" in done.stderr  # the QR code
    assert "/oauth/device" in done.stderr
    assert "Logged in to" in done.stdout
    tokens = h.tokens()
    assert tokens["access_token"] and tokens["refresh_token"]
    assert fast_oidc.is_active(tokens["access_token"])
    assert h.status()["state"] == "authorized"
    assert h.leaked_tokens() == []


def test_denied_in_the_browser(fast_oidc: OidcProvider, tmp_path: Path):
    h = _harness(fast_oidc, tmp_path)
    done, _ = _run_device_login(h, "Deny")
    assert done.returncode == 1
    assert "access was denied" in done.stderr
    assert not h.store_path.exists() or "demo" not in h.store_path.read_text()


def test_the_code_expires(short_codes: OidcProvider, tmp_path: Path):
    h = _harness(short_codes, tmp_path)
    done, _ = _run_device_login(h, None)
    assert done.returncode == 1
    assert "the code expired" in done.stderr
    assert "run the device login again" in done.stderr.lower()
    assert not h.store_path.exists() or "demo" not in h.store_path.read_text()


def test_slow_down_makes_the_client_back_off(fast_oidc: OidcProvider):
    """Polling with a too-short interval gets `slow_down`; the client adds 5 s and succeeds."""
    app = GitLabApp("default", fast_oidc.url, fast_oidc.public.client_id)
    clock = SystemClock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds / 4)  # 0 stays too fast, 5 s more becomes 1.25 s

    async def run() -> None:
        auth = await start_device_authorization(app, clock)
        assert auth.interval == 1
        browser = threading.Thread(
            target=enter_user_code,
            args=(auth.verification_uri, auth.user_code, _settings(fast_oidc, "Authorize")),
        )
        before = fast_oidc.slow_downs()
        browser.start()
        try:
            tokens = await poll_device_token(
                app, dataclasses.replace(auth, interval=0), clock, sleep
            )
        finally:
            await asyncio.to_thread(browser.join)
        assert tokens.access_token
        assert fast_oidc.slow_downs() > before
        assert waits[0] == 0 and 5 in waits

    asyncio.run(run())


def test_an_instance_without_the_device_grant(dot_provider: Provider, tmp_path: Path):
    h = _harness(dot_provider, tmp_path)
    done = h.run("login", "demo", "--device")
    assert done.returncode == 1
    assert "does not support the device login" in done.stderr
    assert "pac-tui login REPO" in done.stderr
    assert not h.store_path.exists() or "demo" not in h.store_path.read_text()
