"""Offboarding from the dashboard (`D`): the plan is read in a worker, the user is asked with the
steps listed (`ask`, which pushes the confirmation), and on yes the steps run in another worker,
whose end is `OffboardFinished` (the screen re-reads the store: table and panel update) after a
notice saying how it went.

Like the other feeds it holds no screen: it is given `post`, `run_worker` and `ask`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from pac_tui.actions.offboard import Offboarding, StepState, carry_out, plan_offboard
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.ui.context import AppContext
from pac_tui.ui.messages import OffboardFinished, Post, RunWorker, tell

Answer = Callable[[bool | None], None]
Ask = Callable[[Offboarding, Answer], object]
"""How the feed asks: show the plan's steps, then call the answer with yes or no."""


class OffboardFeed:
    """Plans and carries out offboardings in workers; posts what happened."""

    def __init__(self, ctx: AppContext, post: Post, run_worker: RunWorker, ask: Ask) -> None:
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker
        self._ask = ask

    def plan(self, repo: Repository) -> None:
        """Read the steps for `repo` in a worker, then ask when there is anything to do."""
        if repo.kubernetes is None:
            tell(
                self._post,
                f"{repo.name} is not bound to a PAC Repository: there is nothing to offboard "
                "(x revokes its grant).",
                severity="warning",
            )
            return
        self._run_worker(self._plan(repo), group="offboard", exit_on_error=False)

    async def _plan(self, repo: Repository) -> None:
        ctx = self.ctx
        try:
            plan = await plan_offboard(repo, ctx.store, ctx.clock, ctx.clusters)
        except PacTuiError as exc:
            tell(self._post, str(exc), title=f"Offboard {repo.name}", severity="error")
            return
        if not plan.pending:
            tell(self._post, f"{repo.name}: nothing of pac-tui's is left to remove.")
            return
        self._ask(plan, partial(self._answered, plan))

    def _answered(self, plan: Offboarding, yes: bool | None) -> None:
        if yes:
            self._run_worker(self._carry_out(plan), group="offboard", exit_on_error=False)

    async def _carry_out(self, plan: Offboarding) -> None:
        try:
            done = await carry_out(plan)
            failed = done.failed
            if failed is None:
                removed = sum(step.state == StepState.DONE for step in done.steps)
                tell(self._post, f"{plan.repo}: offboarded ({removed} steps done).")
            else:
                tell(
                    self._post,
                    f"{failed.what} {failed.target}: {failed.message}",
                    title=f"Offboard {plan.repo} stopped",
                    severity="error",
                    timeout=20,
                )
        finally:
            self._post(OffboardFinished(plan.repo))
