"""The table says how to add a repository when it has none, keeps Name, State and Expires in on
screen in a 100x30 terminal (the token panel goes under it), and truncates cells with an ellipsis
instead of scrolling sideways."""

from __future__ import annotations

import re
from pathlib import Path

from pac_tui.ui.screens.onboarding.screen import OnboardingScreen
from pac_tui.ui.widgets.repo_table import RepoTable, RowInfo, column_widths
from tests.ui.conftest import make_app, make_context, three_repo_context
from tests.ui.test_dashboard import screen_text


async def test_an_empty_table_says_how_to_add_a_repository(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, config_text='[gitlab.default]\nurl = "{url}"\nclient_id = "a"\n')
    app = make_app(ctx)
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OnboardingScreen)  # no repository: the walkthrough opens
        await pilot.press("escape")
        await pilot.pause()
        text = screen_text(app)
        assert "No repositories yet" in text
        assert "press o" in text and "pac-tui onboard" in text
        assert str(ctx.config_path) in text
        await pilot.press("o")
        assert isinstance(app.screen, OnboardingScreen)


async def test_key_columns_stay_at_100x30_and_cells_end_with_an_ellipsis(tmp_path: Path) -> None:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        board = app.dashboard
        assert board.has_class("-narrow")
        table = board.query_one("#repos", RepoTable)
        panel = board.query_one("#panel")
        assert table.region.width >= 96  # the whole width: the panel went under the table
        assert panel.region.y >= table.region.bottom
        assert table.show_horizontal_scrollbar is False
        text = screen_text(app)
        for shown in ("Name", "State", "Expires in", "payments", "authorized", "1h 40m"):
            assert shown in text
        assert re.search(r"acme/pay\w*…", text)  # the project is cut with an ellipsis
    (tmp_path / "wide").mkdir()
    wide = make_app(three_repo_context(tmp_path / "wide"))
    async with wide.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        assert wide.dashboard.has_class("-wide")
        assert wide.dashboard.query_one("#panel").region.y < 5  # beside the table


def test_columns_shrink_then_the_least_useful_go_never_the_key_ones() -> None:
    rows = [RowInfo("a-very-long-repository-name", "group/sub/" + "p" * 60, "gitlab.example.com")]
    full = column_widths(rows, 400)
    assert len(full) == 8 and dict(full)[5] == 70  # the project as long as it is
    narrow = column_widths(rows, 80)
    assert sum(w + 2 for _, w in narrow) <= 80
    assert [i for i, _ in narrow][:3] == [0, 1, 2]
    assert len(narrow) < 8
    tiny = column_widths(rows, 30)
    assert [i for i, _ in tiny] == [0, 1, 2]  # Name, State and Expires in stay
