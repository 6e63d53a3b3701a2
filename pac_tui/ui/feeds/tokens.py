"""Connects the dashboard to the token store: the records it shows, re-read only when the file
changed (another process may have refreshed), and revoking a grant in a worker.

Like the other feeds it holds no screen: a revoke posts `Notified` and `RevokeFinished`.
"""

from __future__ import annotations

from functools import partial

from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.revoke import revoke
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.context import AppContext
from pac_tui.ui.messages import Post, RevokeFinished, RunWorker, tell


class StoreWatch:
    """The store's records as last read, and the file's mtime they were read at."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self.records: dict[str, TokenRecord] = {}
        self._mtime: int | None = -1

    def load(self, force: bool = False) -> None:
        """Re-read the store if its file changed (or `force`); raises the store's errors."""
        try:
            mtime = self.store.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if not force and mtime == self._mtime:
            return
        self._mtime = mtime
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
