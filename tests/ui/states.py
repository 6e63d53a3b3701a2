"""The deterministic states the snapshot tests pin and `script/screenshots` pictures.

Each state is an app plus the keys that bring it to the state, built on a frozen clock with no
timers, animations or network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pac_tui.models import TokenRecord
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext
from tests.ui.conftest import make_app, make_context, three_repo_context

SIZE = (140, 36)
AUTHORIZE_URL = (
    "https://gitlab.example.com/oauth/authorize?response_type=code&client_id=app-id"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&scope=api"
    "&state=snapshot-state&code_challenge=snapshot-challenge&code_challenge_method=S256"
)


@dataclass(frozen=True)
class State:
    app: PacTuiApp
    press: tuple[str, ...] = ()


def _three(tmp_path: Path) -> AppContext:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    return ctx


def dashboard(tmp_path: Path) -> State:
    """Three repositories: authorized (1h 40m left), expiring (4 min left), needs login."""
    return State(make_app(_three(tmp_path)))


def token_panel(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("down",))


def login_modal(tmp_path: Path) -> State:
    ctx = _three(tmp_path)

    async def waiting_login(repo: Any, store: Any, clock: Any, **kw: Any) -> TokenRecord:
        """Shows a fixed URL and waits, so the picture does not depend on ports or randomness."""
        kw["on_authorize_url"](AUTHORIZE_URL)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx.login = waiting_login
    ctx.open_browser = None
    return State(make_app(ctx), ("down", "down", "l"))


def help_screen(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("question_mark",))


def revoke_confirmation(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("x",))


def onboarding(tmp_path: Path) -> State:
    """Nothing configured: the walkthrough opens at its first step."""
    return State(make_app(make_context(tmp_path)))


STATES: dict[str, Callable[[Path], State]] = {
    "dashboard": dashboard,
    "token-panel": token_panel,
    "login-modal": login_modal,
    "help": help_screen,
    "revoke-confirmation": revoke_confirmation,
    "onboarding": onboarding,
}
