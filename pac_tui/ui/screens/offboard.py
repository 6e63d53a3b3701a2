"""`D` on the dashboard: offboarding behind a confirmation that lists the steps.

A module of its own, imported when `D` is pressed: offboarding reads the cluster, and the
kubernetes client it imports costs every dashboard start 0.2 s otherwise.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.screen import Screen

from pac_tui.actions.offboard import Offboarding, StepState
from pac_tui.core.config import Repository
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.offboard import Answer, OffboardFeed
from pac_tui.ui.screens.confirm import ConfirmScreen


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
