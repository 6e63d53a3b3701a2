"""The login dialog: the authorize URL (copyable), a waiting indicator, cancel, then the outcome.

The login itself is the core's `login()` in a worker on the app's loop; the browser is opened in a
thread by the core, so the UI never freezes. Cancelling the worker closes the callback server.
"""

from __future__ import annotations

from rich.markup import escape
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from pac_tui.config import Repository
from pac_tui.errors import PacTuiError
from pac_tui.humanize import countdown
from pac_tui.models import TokenRecord
from pac_tui.ui.context import AppContext


class LoginScreen(ModalScreen[TokenRecord | None]):
    BINDINGS = [
        Binding("escape", "close", "Cancel"),
        Binding("c", "copy", "Copy URL"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, ctx: AppContext, repo: Repository) -> None:
        super().__init__()
        self.ctx = ctx
        self.repo = repo
        self.url: str | None = None
        self.result: TokenRecord | None = None
        self._worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="login"):
            yield Label(f"Log in: {self.repo.name}", classes="dialog-title")
            yield Static(
                f"Authorize pac-tui for [b]{self.repo.project}[/b] on {self.repo.gitlab.url}.",
                id="login-intro",
            )
            yield Static("Starting the callback server…", id="login-url")
            yield LoadingIndicator(id="login-wait")
            yield Static("", id="login-outcome")
            yield Label("[dim]c copy URL · esc cancel[/dim]", id="login-keys")

    def on_mount(self) -> None:
        self._worker = self.run_worker(self._login(), name="login", exit_on_error=False)

    async def _login(self) -> None:
        try:
            record = await self.ctx.login(
                self.repo,
                self.ctx.store,
                self.ctx.clock,
                on_authorize_url=self._show_url,
                open_browser=self.ctx.open_browser,
                wait_seconds=self.ctx.login_timeout,
            )
        except PacTuiError as exc:
            self._finish(f"[b red]✖ Login failed[/b red]\n{escape(str(exc))}")
            return
        except Exception as exc:  # a bug must show, not leave the dialog waiting forever
            self._finish(f"[b red]✖ Unexpected error[/b red]\n{escape(repr(exc))}")
            raise
        self.result = record
        tokens = record.tokens
        who = f" as [b]{record.username}[/b]" if record.username else ""
        expiry = ""
        if tokens and tokens.expires_at:
            expiry = f"; expires in {countdown(tokens.expires_in(self.ctx.clock.now()))}"
        self._finish(f"[b green]✔ Logged in{who}[/b green]{expiry}. Press enter to close.")

    def _show_url(self, url: str) -> None:
        self.url = url
        opening = (
            "Opening your browser. If it does not open, visit"
            if self.ctx.open_browser
            else "Open this URL in a browser that reaches this machine's 127.0.0.1"
        )
        self.query_one("#login-url", Static).update(
            Text.assemble(
                f"{opening} (c copies it):\n\n",
                Text(url, style=Style(link=url, color="cyan")),
            )
        )

    def _finish(self, text: str) -> None:
        self.query_one("#login-wait").display = False
        self.query_one("#login-outcome", Static).update(text)
        self.query_one("#login-keys", Label).update("[dim]enter/esc close[/dim]")

    def action_copy(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Authorize URL copied to the clipboard.")

    def action_close(self) -> None:
        if self._worker is not None and self._worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            self._worker.cancel()
            self.notify("Login cancelled; nothing was stored.")
        self.dismiss(self.result)
