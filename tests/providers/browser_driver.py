"""A stand-in for the user's browser: pac-tui opens it through `$BROWSER` like any browser.

Usage: browser_driver.py URL. Drives real headless Chromium (Debian's, never a downloaded one)
through the provider's login and consent pages, then waits for the redirect to land on pac-tui's
callback page. Behaviour comes from the environment, so the product's own `webbrowser.open` runs
unchanged:

- PAC_TUI_TEST_USERNAME / PAC_TUI_TEST_PASSWORD: the provider's login form
- PAC_TUI_TEST_CONSENT: the consent button to press, ``Authorize`` (default) or ``Deny``
- PAC_TUI_TEST_BROWSER_OUT: where to write what the browser ended on, as JSON
  ({"status", "url_path", "text", "html"}), for the test to check
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("PAC_TUI_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def drive(url: str, settings: Mapping[str, str] = os.environ) -> dict[str, object]:
    redirect = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0])
    landing = f"{redirect.scheme}://{redirect.netloc}{redirect.path}"
    consent = settings.get("PAC_TUI_TEST_CONSENT", "Authorize")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)  # each step; a loaded CI machine is slow
            page.goto(url)
            if page.locator("input[name=password]").count():
                page.fill("input[name=username]", settings["PAC_TUI_TEST_USERNAME"])
                page.fill("input[name=password]", settings["PAC_TUI_TEST_PASSWORD"])
                with page.expect_navigation():
                    page.locator("[type=submit]").first.click()
            with page.expect_response(lambda r: r.url.startswith(landing)) as answer:
                page.get_by_role("button", name=consent, exact=True).click()
            page.wait_for_load_state()
            return {
                "status": answer.value.status,
                "url_path": urlsplit(page.url).path,
                "text": page.inner_text("body"),
                "html": page.content(),
            }
        finally:
            browser.close()


def enter_user_code(
    verification_uri: str, user_code: str, settings: Mapping[str, str] = os.environ
) -> dict[str, object]:
    """The device login's other half: open the verification page, type the user code, confirm
    it, sign in, and press the consent button (PAC_TUI_TEST_CONSENT); what the browser ended on."""
    consent = settings.get("PAC_TUI_TEST_CONSENT", "Authorize")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)  # each step; a loaded CI machine is slow
            page.goto(verification_uri)
            page.fill("input[name=user_code]", user_code)
            with page.expect_navigation():
                page.get_by_role("button", name="Continue", exact=True).click()
            with page.expect_navigation():
                page.get_by_role("button", name="Continue", exact=True).click()
            if page.locator("input[name=password]").count():
                page.fill("input[name=username]", settings["PAC_TUI_TEST_USERNAME"])
                page.fill("input[name=password]", settings["PAC_TUI_TEST_PASSWORD"])
                with page.expect_navigation():
                    page.locator("[type=submit]").first.click()
            with page.expect_navigation():
                page.get_by_role("button", name=consent, exact=True).click()
            page.wait_for_load_state()
            return {"url_path": urlsplit(page.url).path, "text": page.inner_text("body")}
        finally:
            browser.close()


def main() -> int:
    url = sys.argv[1]
    try:
        result = drive(url)
    except Exception as exc:  # report to the test instead of dying silently
        result = {"error": f"{type(exc).__name__}: {exc}"}
    out = os.environ.get("PAC_TUI_TEST_BROWSER_OUT")
    if out:
        Path(out).write_text(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
