"""The token panel's size never follows its content: moving the cursor repaints the panel's
changed lines without laying the screen out again (issue 15, key press → frame), and content
taller than the panel still scrolls."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pac_tui.ui.widgets.token_panel import TokenPanel
from tests.ui.conftest import make_app, three_repo_context
from tests.ui.test_dashboard import SIZE, _plain, screen_text


async def test_moving_the_cursor_repaints_the_panel_without_a_layout(tmp_path: Path) -> None:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        board = app.dashboard
        panel = board.query_one("#panel", TokenPanel)
        region = panel.region
        layouts = 0
        original = board._refresh_layout

        def counting(*args: Any, **kwargs: Any) -> None:
            nonlocal layouts
            layouts += 1
            original(*args, **kwargs)

        board._refresh_layout = counting  # type: ignore[method-assign]
        # payments (authorized: the longest panel) → storefront → docs (needs login: short).
        for key, name in (("down", "storefront"), ("j", "docs"), ("k", "storefront")):
            await pilot.press(key)
            await pilot.pause()
            assert name in _plain(panel)
            assert panel.region == region  # the same size whatever it shows
        assert layouts == 0
        text = _plain(panel)
        assert "in 4m 00s" in text and "Auto-refresh  off" in text


async def test_content_taller_than_the_panel_scrolls_from_the_keyboard(tmp_path: Path) -> None:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=(100, 30)) as pilot:  # narrow: the panel is 10 lines high
        await pilot.pause()
        panel = app.dashboard.query_one("#panel", TokenPanel)
        shown = panel.scrollable_content_region.height
        assert panel.virtual_size.height > shown  # payments' panel is longer than that
        await pilot.press("tab")  # from the table to the panel
        assert app.focused is panel
        await pilot.press("end")
        await pilot.pause()
        assert panel.scroll_y == panel.virtual_size.height - shown
        last = "".join(s.text for s in panel.render_line(shown - 1)).strip()
        assert last.startswith("Auto-refresh")  # its last line is on screen


async def test_a_new_selection_repaints_only_the_lines_that_changed(tmp_path: Path) -> None:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.dashboard.query_one("#panel", TokenPanel)
        repainted: list[tuple[Any, ...]] = []
        original = panel.refresh

        def spying(*regions: Any, **kwargs: Any) -> Any:
            repainted.append(regions)
            return original(*regions, **kwargs)

        panel.refresh = spying  # type: ignore[method-assign]
        await pilot.press("down")  # payments → storefront: labels and blank lines stay
        await pilot.pause()
        lines = [region.y for regions in repainted for region in regions]
        assert repainted and all(repainted)  # never the whole panel
        assert 0 in lines and len(lines) < panel.scrollable_content_region.height // 2
        text = screen_text(app)  # what the terminal shows is the new panel, line for line
        assert re.search(r"│storefront\s*acme/web/storefront", text)
        assert not re.search(r"│payments\s*acme/payments", text)
        assert re.search(r"Refreshed\s+never", text) and re.search(r"Expires\s+in 4m 00s", text)
