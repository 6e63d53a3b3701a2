"""The walkthrough's "Check" step: can PAC run the repository that was just connected?

`CheckStep` runs the readiness check (`pac_tui.onboard.check`) in its own worker and shows it in
the dashboard's own `ReadinessPanel`; its `summary` goes to the Done step.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.onboard.check import all_ok, run_checks
from pac_tui.ui.context import AppContext
from pac_tui.ui.widgets.readiness_panel import ReadinessPanel


class CheckStep(VerticalScroll):
    """Step "Check": the readiness lines of the connected repository."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.checks: list[Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "pac-tui asks GitLab and the cluster what PAC needs to run pipelines for this "
            "repository. A ✖ line says how to fix it; r checks again.",
            classes="ob-text",
        )
        yield ReadinessPanel(id="ob-check-panel")

    @property
    def summary(self) -> str:
        if not self.checks:
            return ""
        passed = sum(check.ok for check in self.checks)
        verdict = "ready for PAC" if all_ok(self.checks) else f"{len(self.checks) - passed} to fix"
        return f"{passed}/{len(self.checks)} passed: {verdict}"

    @work(exclusive=True, group="pac-check", exit_on_error=False)
    async def check(self, ctx: AppContext, repo: Repository, controller_url: str | None) -> None:
        panel = self.query_one(ReadinessPanel)
        panel.show(None)
        self.checks = None
        try:
            checks = await run_checks(
                repo,
                ctx.store,
                ctx.clock,
                ctx.clusters if repo.kubernetes else None,
                controller_url=controller_url,
                relay_url=ctx.config.webhook.relay,
            )
        except PacTuiError as exc:
            panel.show(None, str(exc))
            return
        self.checks = checks
        panel.show(checks)
