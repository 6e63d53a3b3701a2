"""The readiness dialog: opened with c on the dashboard, checks in a worker, ✔/✖ with the fix."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pac_tui.core.errors import ProviderUnavailable
from pac_tui.onboard.check import Check
from pac_tui.ui.screens.readiness import ReadinessScreen
from pac_tui.ui.widgets.readiness_panel import ReadinessPanel, render_checks
from tests.ui.conftest import make_app, three_repo_context

SIZE = (140, 36)
CHECKS = [
    Check("Token", True, "OAuth token valid (signed in as operator)"),
    Check(
        "Webhook", False, "no webhook posts to https://pac.example.com", "run: pac-tui onboard x"
    ),
]


def plain(renderable: Any) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_render_shows_marks_and_the_fix_only_under_a_failure() -> None:
    text = plain(render_checks(CHECKS))
    assert "✔ Token" in text and "✖ Webhook" in text
    assert text.count("→") == 1 and "→ run: pac-tui onboard x" in text
    assert "1/2 passed: 1 to fix" in text
    assert "ready for PAC" in plain(render_checks(CHECKS[:1]))
    assert "Checking" in plain(render_checks(None))
    assert "could not run: boom" in plain(render_checks(None, "boom"))


async def test_c_opens_the_check_of_the_selected_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    release = asyncio.Event()

    async def fake_checks(repo: Any, store: Any, clock: Any, clusters: Any, **kw: Any) -> list:
        seen.append(repo.name)
        assert clusters is None  # not bound: no Kubernetes client is even imported
        await release.wait()
        return CHECKS

    monkeypatch.setattr("pac_tui.ui.screens.readiness.run_checks", fake_checks)
    app = make_app(three_repo_context(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReadinessScreen)
        panel = screen.query_one(ReadinessPanel)
        assert panel.checks is None  # still checking, the UI stays responsive
        release.set()
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "readiness"])
        await pilot.pause()
        assert seen == ["storefront"]
        assert panel.checks == CHECKS

        await pilot.press("r")  # check again
        await pilot.pause()
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "readiness"])
        assert seen == ["storefront", "storefront"]

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_a_failure_shows_in_the_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: Any, **kw: Any) -> list:
        raise ProviderUnavailable("gitlab.example.com did not answer")

    monkeypatch.setattr("pac_tui.ui.screens.readiness.run_checks", failing)
    app = make_app(three_repo_context(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "readiness"])
        await pilot.pause()
        panel = app.screen.query_one(ReadinessPanel)
        assert "did not answer" in str(panel.render())
