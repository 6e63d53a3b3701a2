"""SVG snapshots of the dashboard's states: frozen clock, no timers, no animations, no blinking.

Update only in a commit of its own, after looking at the report:
    .venv/bin/python -m pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pac_tui.models import TokenRecord
from pac_tui.ui.context import AppContext
from tests.ui.conftest import make_app, still, three_repo_context

SIZE = (140, 36)
AUTHORIZE_URL = (
    "https://gitlab.example.com/oauth/authorize?response_type=code&client_id=app-id"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&scope=api"
    "&state=snapshot-state&code_challenge=snapshot-challenge&code_challenge_method=S256"
)


def _ctx(tmp_path: Path) -> AppContext:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    return ctx


def test_dashboard_three_repositories(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(_ctx(tmp_path)), terminal_size=SIZE, run_before=still)


def test_token_panel_of_an_expiring_grant(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        make_app(_ctx(tmp_path)), press=["down"], terminal_size=SIZE, run_before=still
    )


def test_login_modal(snap_compare: Any, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)

    async def waiting_login(repo: Any, store: Any, clock: Any, **kw: Any) -> TokenRecord:
        """Shows a fixed URL and waits, so the picture does not depend on ports or randomness."""
        kw["on_authorize_url"](AUTHORIZE_URL)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx.login = waiting_login
    ctx.open_browser = None
    assert snap_compare(
        make_app(ctx), press=["down", "down", "l"], terminal_size=SIZE, run_before=still
    )


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        make_app(_ctx(tmp_path)), press=["question_mark"], terminal_size=SIZE, run_before=still
    )


def test_revoke_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(_ctx(tmp_path)), press=["x"], terminal_size=SIZE, run_before=still)
