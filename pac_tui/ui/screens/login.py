"""The login dialog: the authorize URL (copyable), a waiting indicator, cancel, then the outcome.

The login itself is the core's `login()` in a worker on the app's loop; the browser is opened in a
thread by the core, so the UI never freezes. Cancelling the worker closes the callback server.

`d` switches the dialog to the device login (RFC 8628, for machines without a browser): the user
code, the verification URL (copyable), its QR code and a countdown to the code's expiry, while the
core's `device_login()` polls in a worker; esc cancels the polling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.markup import escape
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from pac_tui.actions.login import LoginOutcome, login_and_sync
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.core.humanize import countdown
from pac_tui.core.models import TokenRecord
from pac_tui.core.qr import qr_text
from pac_tui.oauth.device import DeviceAuthorization
from pac_tui.ui.context import AppContext


class LoginScreen(ModalScreen[TokenRecord | None]):
    BINDINGS = [
        Binding("escape", "close", "Cancel"),
        Binding("c", "copy", "Copy URL"),
        Binding("d", "device", "Device code", show=False),
        Binding("enter", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    #login-device { height: auto; display: none; }
    LoginScreen.device #login-device { display: block; }
    LoginScreen.device #login-wait { display: none; }
    #login-qr { width: auto; height: auto; margin-right: 2; }
    #login-device-text { width: 1fr; height: auto; }
    #login-code { margin-bottom: 1; }
    #login-countdown { margin-top: 1; }
    """

    def __init__(self, ctx: AppContext, repo: Repository, *, device: bool = False) -> None:
        super().__init__()
        self.ctx = ctx
        self.repo = repo
        self.device = device
        self.url: str | None = None
        self.code: DeviceAuthorization | None = None
        self.result: TokenRecord | None = None
        self._worker: Worker[None] | None = None
        self._timer: Timer | None = None

    @property
    def worker(self) -> Worker[None] | None:
        """The login's worker (None before it starts); leaving the screen cancels it."""
        return self._worker

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="login"):
            yield Label(f"Log in: {self.repo.name}", classes="dialog-title", id="login-title")
            yield Static(
                f"Authorize pac-tui for [b]{self.repo.project}[/b] on {self.repo.gitlab.url}.",
                id="login-intro",
            )
            yield Static("Starting the callback server…", id="login-url")
            with Horizontal(id="login-device"):
                yield Static("", id="login-qr")
                with Vertical(id="login-device-text"):
                    yield Static("", id="login-code")
                    yield Static("", id="login-verify")
                    yield Static("", id="login-countdown")
            yield LoadingIndicator(id="login-wait")
            yield Static("", id="login-outcome")
            keys = (
                "c copy URL · esc cancel"
                if self.device
                else ("c copy URL · d use a device code instead · esc cancel")
            )
            yield Label(f"[dim]{keys}[/dim]", id="login-keys")

    def on_mount(self) -> None:
        if self.device:
            self._start_device()
        else:
            self._worker = self.run_worker(self._login(), name="login", exit_on_error=False)

    async def _login(self) -> None:
        try:
            outcome = await self._login_and_sync(
                lambda: self.ctx.login(
                    self.repo,
                    self.ctx.store,
                    self.ctx.clock,
                    on_authorize_url=self._show_url,
                    open_browser=self.ctx.open_browser,
                    wait_seconds=self.ctx.login_timeout,
                )
            )
        except PacTuiError as exc:
            self._finish(f"[b red]✖ Login failed[/b red]\n{escape(str(exc))}")
            return
        except Exception as exc:  # a bug must show, not leave the dialog waiting forever
            self._finish(f"[b red]✖ Unexpected error[/b red]\n{escape(repr(exc))}")
            raise
        self._succeeded(outcome)

    async def _login_and_sync(
        self, run_login: Callable[[], Awaitable[TokenRecord]]
    ) -> LoginOutcome:
        """The login, then (for a bound repository) the Secret: the use case the command runs."""
        return await login_and_sync(
            self.repo, self.ctx.store, self.ctx.clock, self.ctx.clusters, run_login
        )

    def _succeeded(self, outcome: LoginOutcome) -> None:
        record = outcome.record
        self.result = record
        tokens = record.tokens
        who = f" as [b]{record.username}[/b]" if record.username else ""
        expiry = ""
        if tokens and tokens.expires_at:
            expiry = f"; expires in {countdown(tokens.expires_in(self.ctx.clock.now()))}"
        text = f"[b green]✔ Logged in{who}[/b green]{expiry}."
        line = outcome.sync_line()
        if outcome.sync is not None and line:
            text += f"\n✔ {escape(line)}"
        elif line:
            text += f"\n[b yellow]⚠ {escape(line)}[/b yellow]"
        sep = " " if line is None else "\n"  # unbound: the one line it always was
        self._finish(f"{text}{sep}Press enter to close.")

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

    # -- device login ----------------------------------------------------------------------

    def _start_device(self) -> None:
        self.device = True
        self.url = None
        self.add_class("device")
        self.query_one("#login-title", Label).update(f"Log in: {self.repo.name} (device code)")
        self.query_one("#login-url", Static).update("Asking for a device code…")
        self.query_one("#login-outcome", Static).update("")
        self.query_one("#login-keys", Label).update("[dim]c copy URL · esc cancel[/dim]")
        self._worker = self.run_worker(self._device_login(), name="login", exit_on_error=False)

    async def _device_login(self) -> None:
        try:
            outcome = await self._login_and_sync(
                lambda: self.ctx.device_login(
                    self.repo, self.ctx.store, self.ctx.clock, on_code=self._show_code
                )
            )
        except PacTuiError as exc:
            self._stop_countdown()
            self._finish(f"[b red]✖ Login failed[/b red]\n{escape(str(exc))}")
            return
        except Exception as exc:  # a bug must show, not leave the dialog waiting forever
            self._stop_countdown()
            self._finish(f"[b red]✖ Unexpected error[/b red]\n{escape(repr(exc))}")
            raise
        self._stop_countdown()
        self._succeeded(outcome)

    def _show_code(self, auth: DeviceAuthorization) -> None:
        self.code = auth
        self.url = auth.url_to_open
        self.query_one("#login-url", Static).update(
            "Scan the QR code, or open the URL on any device and enter the code:"
        )
        self.query_one("#login-qr", Static).update(qr_text(auth.url_to_open))
        self.query_one("#login-code", Static).update(
            Text.assemble("Code  ", Text(auth.user_code, style="bold reverse"))
        )
        self.query_one("#login-verify", Static).update(
            Text.assemble(
                "URL (c copies it)\n",
                Text(auth.url_to_open, style=Style(link=auth.url_to_open, color="cyan")),
            )
        )
        self._tick()
        self._timer = self.set_interval(1, self._tick)

    def _tick(self) -> None:
        if self.code is None:
            return
        left = (self.code.expires_at - self.ctx.clock.now()).total_seconds()
        text = (
            f"The code expires in [b]{countdown(left)}[/b]. Waiting for the answer…"
            if left > 0
            else "[b red]The code has expired.[/b red]"
        )
        self.query_one("#login-countdown", Static).update(text)

    def _stop_countdown(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_device(self) -> None:
        """Switch from the browser login to the device login (cancelling the browser wait)."""
        if self.device or self.result is not None:
            return
        if self._worker is not None and self._worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            self._worker.cancel()
        self._start_device()

    # -- both ------------------------------------------------------------------------------

    def _finish(self, text: str) -> None:
        self.query_one("#login-wait").display = False
        self.query_one("#login-outcome", Static).update(text)
        self.query_one("#login-keys", Label).update("[dim]enter/esc close[/dim]")

    def action_copy(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            what = "Device login URL" if self.device else "Authorize URL"
            self.notify(f"{what} copied to the clipboard.")

    def action_close(self) -> None:
        self._stop_countdown()
        if self._worker is not None and self._worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            self._worker.cancel()
            self.notify("Login cancelled; nothing was stored.")
        self.dismiss(self.result)
