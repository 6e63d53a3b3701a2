"""Every key of the dashboard, in one place."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

KEYS = (
    ("↑ ↓ / j k", "move between repositories (pgup pgdn home end too)"),
    ("tab", "next pane: table, token panel (scrolls), webhook log"),
    ("l", "log in to the selected repository (browser)"),
    ("r", "refresh the selected repository's tokens now"),
    ("R", "refresh every logged-in repository"),
    ("x", "revoke the selected repository's tokens (asks first)"),
    ("D", "offboard the selected bound repository (asks first)"),
    ("s", "sync the token into the PAC Secret of a bound repository"),
    ("c", "check that PAC can run pipelines for the selected repository"),
    ("d", "the selected repository's deliveries (GitLab's log)"),
    ("a", "toggle auto-refresh"),
    ("/", "filter the table (esc clears)"),
    ("o", "add a repository (walkthrough)"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
    ("q", "quit (stops every server and worker)"),
    ("", ""),
    ("In the login dialog", ""),
    ("c", "copy the authorize URL (for SSH sessions)"),
    ("d", "device login instead: a code and a QR code to answer on another device"),
    ("esc", "cancel the login; the callback server closes"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with Vertical(classes="dialog", id="help"):
            yield Label("Keys", classes="dialog-title")
            yield Static(table)
            yield Label("[dim]esc closes[/dim]")

    def action_close(self) -> None:
        self.dismiss(None)
