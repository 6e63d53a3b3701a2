"""Writes screenshots/*.png from the same deterministic states the snapshot tests pin.

Run with script/screenshots. Each state is rendered by Textual to SVG, then to PNG by headless
Debian Chromium (the browser the tests use).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.providers.browser_driver import CHROMIUM, FLAGS
from tests.ui import states

OUT = Path(__file__).parents[2] / "screenshots"
PICTURED = (
    "dashboard",
    "token-panel",
    "login-modal",
    "onboarding",
    "dashboard-with-events",
    "dashboard-with-cluster",
)


async def render_svg(state: states.State) -> str:
    async with state.app.run_test(size=states.SIZE) as pilot:
        for key in state.press:
            await pilot.press(key)
        await pilot.pause()
        await state.before(pilot)
        return state.app.export_screenshot(title="pac-tui")


def main(names: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    svgs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or PICTURED:
            workdir = Path(tmp) / name
            workdir.mkdir()
            svgs[name] = asyncio.run(render_svg(states.STATES[name](workdir)))
    # Playwright's sync API runs its own loop, so it starts only after every app has run.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(device_scale_factor=1.5)
        for name, svg in svgs.items():
            page.set_content(f"<html><body style='margin:0'>{svg}</body></html>")
            target = OUT / f"{name}.png"
            page.locator("svg").first.screenshot(path=str(target))
            print(f"wrote {target.relative_to(OUT.parent)}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
