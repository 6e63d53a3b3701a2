"""A yes/no question before anything destructive (revoke, offboard)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label, Static

from pac_tui.actions.offboard import Offboarding, StepState
from pac_tui.core.config import Repository
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.offboard import Answer, OffboardFeed


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


def confirm_offboard(plan: Offboarding) -> ConfirmScreen:
    """The question before carrying out `plan`: its steps, as `pac-tui offboard --dry-run` shows
    them (planned •, skipped -)."""
    lines = [f"Carry out these steps for {plan.repo}?", ""]
    for step in plan.steps:
        mark = "•" if step.state == StepState.PLANNED else "-"
        lines.append(f"{mark} {step.what} {step.target}: {step.message}")
    lines += ["", "A step that fails stops the run; the rest stays as it is."]
    return ConfirmScreen(f"Offboard {plan.repo}?", escape("\n".join(lines)), "Offboard")


def offboard_selected(ctx: AppContext, repo: Repository | None, screen: Screen[Any]) -> None:
    """`D` on the dashboard: plan `repo`'s offboarding in a worker, ask with the steps listed,
    then carry them out in another worker (`ui.feeds.offboard`). None: no row was chosen (the
    screen said why already)."""
    if repo is None:
        return

    def ask(plan: Offboarding, answered: Answer) -> None:
        screen.app.push_screen(confirm_offboard(plan), answered)

    OffboardFeed(ctx, screen.post_message, screen.run_worker, ask).plan(repo)
