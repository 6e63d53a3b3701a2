"""Asks GitLab whether the PAC hook of the repositories on screen still delivers.

The table shows a marker when GitLab has disabled a repository's PAC hook
(`actions.hook_health`). Asking costs one request per repository, so the feed asks only for the
rows the screen hands it (those on screen and the selected one), at most once per
`POLL_SECONDS` per repository, `HOOK_CONCURRENCY` at once, and never for a repository without a
token that works as it is (no login, or one about to be refreshed). A GitLab that cannot be asked
gives `Health.UNKNOWN`, which shows nothing; a round in which some could not be asked is told
once, and the same reason is not told again until a round has gone well.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pac_tui.actions.hook_health import (
    Health,
    HookHealth,
    asks_without_refresh,
    controller_url_for,
    hook_health,
)
from pac_tui.core.config import Repository
from pac_tui.core.models import TokenRecord
from pac_tui.ui.context import AppContext
from pac_tui.ui.messages import HookHealthArrived, Post, RunWorker, tell

if TYPE_CHECKING:
    from pac_tui.kube.repositories import PacRepository

POLL_SECONDS = 300.0  # at most one hooks list per repository this often
HOOK_CONCURRENCY = 3  # hooks lists asked at once; the others wait their turn


class HookFeed:
    """The last known health of each PAC hook asked about (`health`), and the polls in flight."""

    def __init__(
        self,
        ctx: AppContext,
        post: Post,
        run_worker: RunWorker,
        pac_for: Callable[[Repository], PacRepository | None] = lambda repo: None,
    ) -> None:
        """`pac_for`: the PAC Repository a configured one is bound to, as last discovered (its
        annotation says which hook is PAC's when a project has several)."""
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker
        self._pac_for = pac_for
        self.health: dict[str, HookHealth] = {}
        self.asked_at: dict[str, datetime] = {}
        self.in_flight: set[str] = set()
        self._slots = asyncio.Semaphore(HOOK_CONCURRENCY)
        self._unknown: Counter[str] = Counter()  # this round's reasons
        self._told: str | None = None  # the last reason told, until a round goes well

    def poll(
        self,
        names: Iterable[str],
        repos: dict[str, Repository],
        records: dict[str, TokenRecord],
        now: datetime,
    ) -> None:
        """Ask about those of `names` (the rows on screen) that are due; cheap when none is."""
        if not self.ctx.check_hooks:
            return
        every = timedelta(seconds=POLL_SECONDS)
        for name in names:
            asked = self.asked_at.get(name)
            if (asked is not None and now - asked < every) or name in self.in_flight:
                continue
            repo = repos.get(name)
            if repo is None or not asks_without_refresh(repo, records.get(name), now):
                continue
            self.asked_at[name] = now
            self.in_flight.add(name)
            self._run_worker(self._ask(repo), group="hook-health", exit_on_error=False)

    def forget(self, name: str) -> None:
        """Ask again at the next poll (the user sent a test event, logged in again …)."""
        self.asked_at.pop(name, None)

    async def _ask(self, repo: Repository) -> None:
        try:
            async with self._slots:
                found = await hook_health(
                    repo,
                    self.ctx.store,
                    self.ctx.clock,
                    controller_url=controller_url_for(
                        self._pac_for(repo), self.ctx.config.webhook.relay
                    ),
                )
            if found.health is Health.UNKNOWN:
                self._unknown[found.reason or "GitLab did not answer"] += 1
            before = self.health.get(repo.name)
            self.health[repo.name] = found
            if _shown(before) != _shown(found):  # else nothing on screen changes: no redraw
                self._post(HookHealthArrived([repo.name]))
        finally:
            self.in_flight.discard(repo.name)
            if not self.in_flight:
                self._end_round()

    def _end_round(self) -> None:
        """One notice for the round's unknowns, not one per repository, and not the same twice."""
        unknown, self._unknown = self._unknown, Counter()
        if not unknown:
            self._told = None
            return
        common, _ = unknown.most_common(1)[0]
        if common == self._told:
            return
        self._told = common
        count = sum(unknown.values())
        tell(
            self._post,
            f"Hook health unknown for {count} repositor{'y' if count == 1 else 'ies'}: {common}",
            title="Webhooks",
            severity="warning",
            timeout=10,
        )


def _shown(health: HookHealth | None) -> HookHealth | None:
    """What the table and the panel show of a hook's health: only a disabled hook shows (a hook
    that works, or one GitLab could not be asked about, adds nothing). A poll that changes only
    what is not shown posts nothing, so the rows scrolled into view cost no frames of their own
    while keys are being pressed."""
    return health if health is not None and health.disabled else None
