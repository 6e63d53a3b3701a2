"""Refresh a repository's grant and, when it is bound to a PAC Secret, bring the Secret up to date.

`pac-tui refresh` and the dashboard (its `r`, `R` and automatic refreshes) run this one use case,
and describe its outcome with the words kept here: each face keeps its own wording, but both read
it from one table.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.core.humanize import countdown
from pac_tui.kube.sync_result import SyncResult
from pac_tui.oauth.refresh import RefreshAction, RefreshResult, refresh
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.kube.cluster import ClusterSource

# What each face says about a refresh: the dashboard's short note, the command's line.
_WORDS: dict[RefreshAction, tuple[str, str]] = {
    RefreshAction.REFRESHED: ("refreshed", "refreshed; expires in {left}"),
    RefreshAction.ADOPTED: (
        "already refreshed by another process",
        "already refreshed by another pac-tui process; expires in {left}",
    ),
    RefreshAction.SKIPPED: ("not due", "not refreshed, expires in {left}"),
}


@dataclass(frozen=True)
class RepoRefresh:
    """A refresh of a repository's grant, and what happened to its Secret afterwards."""

    refresh: RefreshResult
    sync: SyncResult | None = None  # None when not bound, or when the sync failed
    sync_error: PacTuiError | None = None  # the Secret is behind; the refresh itself held

    @property
    def action(self) -> RefreshAction:
        return self.refresh.action

    def note(self) -> str:
        """The dashboard's words: `refreshed`, `not due`…"""
        return _WORDS[self.action][0]

    def line(self, now: datetime) -> str:
        """The command's words, with the new expiry: `refreshed; expires in 1h 59m`."""
        tokens = self.refresh.record.tokens
        assert tokens is not None
        return _WORDS[self.action][1].format(left=countdown(tokens.expires_in(now)))


async def refresh_and_sync(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    *,
    if_expiring_within: float | None = None,
) -> RepoRefresh:
    """Refresh `repo`'s OAuth grant; when it is bound, bring its Secret up to date as well.

    In oauth mode the Secret is read first: if the in-cluster refresher already refreshed, its
    tokens are adopted instead of spending a refresh token GitLab has revoked. A sync failure
    (cluster down) does not undo the refresh; it is returned for the caller to show. An unbound
    repository never touches `clusters` (nor imports the `kubernetes` client).
    """
    if repo.kubernetes is None:
        return RepoRefresh(await refresh(repo, store, clock, if_expiring_within=if_expiring_within))
    from pac_tui.kube.sync import sync

    if repo.kubernetes.mode == TokenMode.OAUTH:
        with contextlib.suppress(PacTuiError):
            await sync(repo, store, clock, clusters)
    result = await refresh(repo, store, clock, if_expiring_within=if_expiring_within)
    try:
        synced = await sync(repo, store, clock, clusters)
    except PacTuiError as exc:
        return RepoRefresh(result, sync_error=exc)
    return RepoRefresh(result, synced)
