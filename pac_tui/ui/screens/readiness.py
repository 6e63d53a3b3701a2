"""The PAC readiness check of one repository, as a dialog over the dashboard (key c).

The checks run in an async worker: the core is async, and its blocking Kubernetes calls already
go to threads. `r` runs them again, over the app's cluster pool (closed when the app ends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.onboard.check import Check, run_checks
from pac_tui.ui.context import AppContext
from pac_tui.ui.widgets.readiness_panel import ReadinessPanel

Runner = Callable[..., Awaitable[list[Check]]]


class ReadinessScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("r", "recheck", "Check again"),
    ]
    DEFAULT_CSS = """
    ReadinessScreen > #readiness-dialog {
        width: 120;
        max-width: 96%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    ReadinessScreen #readiness-title {
        text-style: bold;
        margin-bottom: 1;
    }
    ReadinessScreen #readiness-keys {
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self, ctx: AppContext, repo: Repository, run: Runner | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.repo = repo
        self._run = run

    def compose(self) -> ComposeResult:
        with Vertical(id="readiness-dialog"):
            title = f"PAC readiness of {self.repo.name}  ({self.repo.project})"
            yield Label(title, id="readiness-title")
            yield ReadinessPanel(id="readiness-panel")
            yield Static("r check again · esc close", id="readiness-keys")

    def on_mount(self) -> None:
        self.check()

    @work(exclusive=True, group="readiness", exit_on_error=False)
    async def check(self) -> None:
        panel = self.query_one(ReadinessPanel)
        panel.show(None)
        try:
            checks = await (self._run or run_checks)(
                self.repo,
                self.ctx.store,
                self.ctx.clock,
                self.ctx.clusters if self.repo.kubernetes else None,
                relay_url=self.ctx.config.webhook.relay,
            )
        except PacTuiError as exc:
            panel.show(None, str(exc))
            return
        panel.show(checks)

    def action_recheck(self) -> None:
        self.check()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "readiness")
        self.dismiss(None)
