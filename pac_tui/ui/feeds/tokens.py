"""Connects the dashboard to the token store: the records it shows, re-read only when the file
changed (another process may have refreshed), refreshing and revoking grants in workers.

Like the other feeds it holds no screen: a revoke posts `Notified` and `RevokeFinished`, a
refresh `Notified` and `StoreWritten`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from functools import partial

from pac_tui.actions.refresh import refresh_and_sync
from pac_tui.core.config import Repository
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.core.humanize import countdown
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.revoke import revoke
from pac_tui.oauth.schedule import AutoRefreshPlan
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.context import AppContext
from pac_tui.ui.messages import Post, RevokeFinished, RunWorker, StoreWritten, tell


class StoreWatch:
    """The store's records as last read, and the version of the file they were read from."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self.records: dict[str, TokenRecord] = {}
        self._version: tuple[int, int, int] | None = (-1, -1, -1)

    def load(self, force: bool = False) -> None:
        """Re-read the store if its file changed (or `force`); raises the store's errors.

        A version is the file's inode, size and mtime: file times come from a coarse clock, so
        two writes within a few milliseconds can share an mtime, but every write replaces the
        file (a rename), and the new file never has the inode of the one it replaces.
        """
        try:
            info = self.store.path.stat()
            version: tuple[int, int, int] | None = (info.st_ino, info.st_size, info.st_mtime_ns)
        except FileNotFoundError:
            version = None
        if not force and version == self._version:
            return
        self._version = version
        self.records = self.store.read_all()


class TokenFeed:
    """Revokes grants in workers; posts what happened."""

    def __init__(self, ctx: AppContext, post: Post, run_worker: RunWorker) -> None:
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker

    def revoke(self, repo: Repository) -> None:
        self._run_worker(self._revoke(repo), group="revoke", exit_on_error=False)

    async def _revoke(self, repo: Repository) -> None:
        notify = partial(tell, self._post)
        try:
            record = await revoke(repo, self.ctx.store, self.ctx.clock)
        except PacTuiError as exc:
            notify(str(exc), title=f"Revoke of {repo.name} failed", severity="error")
        else:
            message = "revoked and forgotten" if record else "nothing to revoke"
            notify(f"{repo.name}: {message}.")
        finally:
            self._post(RevokeFinished(repo.name))


class FailureDigest:
    """Failed automatic refreshes, told as one notification per round instead of one each.

    With auto-refresh on and the instance unreachable, hundreds of grants fail within seconds;
    the screen says so once: "37 refreshes failed: <the most common error>; retrying in 2m 00s".
    """

    def __init__(self) -> None:
        self._failed: dict[str, tuple[str, datetime | None]] = {}

    def __bool__(self) -> bool:
        return bool(self._failed)

    def add(self, name: str, message: str, retry_at: datetime | None) -> None:
        """`retry_at` None: nothing retries (the user has to log in)."""
        self._failed[name] = (message, retry_at)

    def take(self, now: datetime) -> str | None:
        """The round's summary (None if nothing failed); the digest starts over."""
        if not self._failed:
            return None
        failed, self._failed = self._failed, {}
        messages = Counter(message for message, _ in failed.values())
        common, _ = messages.most_common(1)[0]
        count = len(failed)
        text = f"{count} refresh{'es' if count > 1 else ''} failed: {common}"
        others = len(messages) - 1
        if others:
            text += f" (and {others} other error{'s' if others > 1 else ''})"
        retries = [at for _, at in failed.values() if at is not None]
        if retries:
            text += f"; retrying in {countdown((min(retries) - now).total_seconds())}"
        return text


REFRESH_CONCURRENCY = 4  # refreshes at once; the others wait their turn
REFRESH_JITTER_SECONDS = 120.0  # grants due together are spread over two minutes


class RefreshFeed:
    """Refreshes grants in workers, at most REFRESH_CONCURRENCY at once.

    A refresh the user asked for is told on its own; automatic ones that fail are told together,
    once the round is over (`FailureDigest`), and counted in the title (`plan.failing()`).
    """

    def __init__(self, ctx: AppContext, post: Post, run_worker: RunWorker) -> None:
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker
        self.plan = AutoRefreshPlan(jitter=REFRESH_JITTER_SECONDS)
        self.digest = FailureDigest()
        self._slots = asyncio.Semaphore(REFRESH_CONCURRENCY)

    def start(self, repo: Repository, auto: bool) -> None:
        self.plan.started(repo.name)
        self._run_worker(self._refresh(repo, auto), group="refresh", exit_on_error=False)

    async def _refresh(self, repo: Repository, auto: bool) -> None:
        notify = partial(tell, self._post)
        clock = self.ctx.clock
        try:
            async with self._slots:
                outcome = await refresh_and_sync(repo, self.ctx.store, clock, self.ctx.clusters)
            if outcome.sync_error is not None:
                notify(
                    str(outcome.sync_error),
                    title=f"{repo.name}: Secret not synced",
                    severity="warning",
                    timeout=10,
                )
        except NeedsLogin as exc:
            self.plan.succeeded(repo.name)  # nothing to retry: the user has to log in
            if auto:
                self.digest.add(repo.name, "the grant needs a new login", None)
            else:
                notify(str(exc), title="Needs login", severity="error", timeout=15)
        except PacTuiError as exc:
            retry = self.plan.failed(repo.name, clock.now())
            if auto:
                self.digest.add(repo.name, str(exc), retry)
            else:
                wait = countdown((retry - clock.now()).total_seconds())
                notify(
                    f"{exc}\nRetrying in {wait}.",
                    title=f"Refresh of {repo.name} failed",
                    severity="error",
                    timeout=10,
                )
        else:
            self.plan.succeeded(repo.name)
            if not auto:
                notify(f"{repo.name}: {outcome.note()}.")
        finally:
            self.plan.in_flight.discard(repo.name)
            if not self.plan.in_flight and (summary := self.digest.take(clock.now())):
                notify(summary, title="Auto-refresh", severity="warning", timeout=15)
            self._post(StoreWritten(repo.name))
