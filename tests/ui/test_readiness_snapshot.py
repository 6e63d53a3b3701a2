"""SVG snapshot of the readiness dialog over the dashboard: frozen clock, no timers, no
animations, fixed check lines (the checks themselves are tested in tests/onboard).

Update only in a commit of its own, after looking at it:
    .venv/bin/python -m pytest tests/ui/test_readiness_snapshot.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from pac_tui.onboard.check import Check
from tests.ui.conftest import make_app, still, three_repo_context

SIZE = (140, 36)
CHECKS = [
    Check("Token", True, "OAuth token valid (signed in as operator)"),
    Check("Project", True, "acme/payments/api reachable; your role: Maintainer"),
    Check(".tekton/", True, ".tekton/ present on main: 2 files"),
    Check("Commit status", True, "allowed: your role Maintainer can set commit statuses"),
    Check(
        "Webhook",
        False,
        "hook #12 → https://pac.example.com/hook: no tag push, note events",
        "run: pac-tui onboard payments",
    ),
    Check(
        "Secret", True, "payments-gitlab:provider.token and payments-gitlab:webhook.secret present"
    ),
    Check(
        "Repository",
        False,
        "ci/payments is for https://gitlab.example.com/acme/old-api, the project is "
        "https://gitlab.example.com/acme/payments/api",
        "set spec.url of ci/payments to https://gitlab.example.com/acme/payments/api",
    ),
]


async def fixed_checks(*args: Any, **kw: Any) -> list[Check]:
    return CHECKS


async def open_check(pilot: Pilot[None]) -> None:
    await pilot.press("c")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete(
        [w for w in pilot.app.workers if w.group == "readiness"]
    )
    await still(pilot)


def test_readiness_dialog(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pac_tui.ui.screens.readiness.run_checks", fixed_checks)
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    assert snap_compare(make_app(ctx), terminal_size=SIZE, run_before=open_check)
