"""Log a repository in and, when it is bound to a PAC Secret, bring the Secret up to date at once.

`pac-tui login` and the dashboard's login dialog (browser or device code) run this one use case:
a new grant that stays on the laptop leaves PAC with the previous grant's token (or none) until
someone thinks of `pac-tui sync`. The login is stored before the cluster is asked, so a cluster
that cannot be reached costs a "not synced" mark (with the reason, for `status` and the table),
never the login.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import TokenRecord
from pac_tui.kube.sync_result import SyncResult
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.kube.cluster import ClusterSource


@dataclass(frozen=True)
class LoginOutcome:
    """A stored login, and what happened to the bound repository's Secret afterwards."""

    record: TokenRecord
    sync: SyncResult | None = None  # None when not bound, or when the sync failed
    sync_error: PacTuiError | None = None  # the Secret is behind; the login itself held

    @property
    def bound(self) -> bool:
        return self.sync is not None or self.sync_error is not None

    def sync_line(self) -> str | None:
        """What both faces say about the Secret (`demo: written, Secret ci/demo-gitlab`, as
        `pac-tui sync` says it), or why it was not updated; None when not bound."""
        if self.sync is not None:
            return self.sync.describe()
        if self.sync_error is not None:
            return f"the login is stored, but the Secret was not updated: {self.sync_error}"
        return None


async def login_and_sync(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    run_login: Callable[[], Awaitable[TokenRecord]],
) -> LoginOutcome:
    """Run `run_login` (the browser or the device login, which stores the grant); when `repo` is
    bound, write the new grant's token (or the project token it mints) into its Secret, as a
    refresh does, except that the new grant wins over the Secret's whatever the issue times say.
    A failed login raises; a failed sync is returned for the caller to show. An unbound
    repository never touches `clusters` (nor imports the `kubernetes` client)."""
    record = await run_login()
    if repo.kubernetes is None:
        return LoginOutcome(record)
    from pac_tui.kube.sync import sync

    try:
        synced = await sync(repo, store, clock, clusters, fresh_login=True)
    except PacTuiError as exc:
        return LoginOutcome(store.get(repo.name) or record, sync_error=exc)
    return LoginOutcome(store.get(repo.name) or record, synced)
