"""The readiness panel: one line per `pac-tui check` question, ✔ green or ✖ red, the fix dim
under a ✖ line."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from pac_tui.onboard.check import Check


def render_checks(checks: list[Check] | None, error: str | None = None) -> RenderableType:
    """The lines as a table; `None` while the checks run; `error` when they could not run."""
    if error is not None:
        return Text(f"✖ the checks could not run: {error}", style="red")
    if checks is None:
        return Text("Checking GitLab and the cluster…", style="italic")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=1)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    for check in checks:
        mark = Text("✔", style="bold green") if check.ok else Text("✖", style="bold red")
        grid.add_row(mark, check.name, Text(check.detail))
        if not check.ok and check.fix:
            grid.add_row("", "", Text(f"→ {check.fix}", style="dim"))
    passed = sum(check.ok for check in checks)
    summary = "ready for PAC" if passed == len(checks) else f"{len(checks) - passed} to fix"
    style = "green" if passed == len(checks) else "yellow"
    grid.add_row("", "", "")
    grid.add_row("", "", Text(f"{passed}/{len(checks)} passed: {summary}", style=style))
    return grid


class ReadinessPanel(Static):
    """Shows `render_checks`; `show` replaces what is shown."""

    DEFAULT_CSS = """
    ReadinessPanel {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(render_checks(None), id=id, classes=classes)
        self.checks: list[Check] | None = None

    def show(self, checks: list[Check] | None, error: str | None = None) -> None:
        self.checks = checks
        self.update(render_checks(checks, error))
