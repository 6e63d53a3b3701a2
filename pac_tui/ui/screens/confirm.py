"""A yes/no question before anything destructive (revoke, resend; offboard in `offboard`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from pac_tui.core.config import Repository


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, title: str, body: str, yes: str) -> None:
        super().__init__()
        self._title, self._body, self._yes = title, body, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(self._yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def confirm_revoke(repo: Repository) -> ConfirmScreen:
    """The question before revoking `repo`'s grant."""
    return ConfirmScreen(
        f"Revoke {repo.name}?",
        f"This revokes the access and refresh token of {repo.name} ({repo.project}) at "
        f"{repo.gitlab.url} and forgets them. PAC stops working for this repository "
        "until someone logs in again.",
        "Revoke",
    )
