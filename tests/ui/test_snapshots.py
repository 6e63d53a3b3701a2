"""SVG snapshots of the dashboard's states (tests/ui/states.py): frozen clock, no timers, no
animations, no blinking cursor.

Update only in a commit of its own, after looking at the report:
    .venv/bin/python -m pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui import states
from tests.ui.conftest import still


def _compare(snap_compare: Any, state: states.State) -> bool:
    return snap_compare(state.app, press=state.press, terminal_size=states.SIZE, run_before=still)


def test_dashboard_three_repositories(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.dashboard(tmp_path))


def test_token_panel_of_an_expiring_grant(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.token_panel(tmp_path))


def test_login_modal(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.login_modal(tmp_path))


def test_device_login_modal(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.device_login_modal(tmp_path))


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.help_screen(tmp_path))


def test_revoke_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.revoke_confirmation(tmp_path))


def test_onboarding_first_step(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.onboarding(tmp_path))


def test_dashboard_with_webhook_events(snap_compare: Any, tmp_path: Path) -> None:
    assert _compare(snap_compare, states.dashboard_with_events(tmp_path))
