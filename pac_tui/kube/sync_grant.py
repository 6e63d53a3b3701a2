"""oauth mode on the laptop: take the in-cluster refresher's newer grant before spending ours.

Once the in-cluster refresher has refreshed a bound repository's grant, the laptop's own refresh
token is revoked. Spending it anyway (`check`, `onboard`, the readiness dialog, any GitLab call
whose token is about to expire) gets `invalid_grant`, clears the local record and sends the user
to log in again, which makes a second grant. So before spending it (a refresh, or a token GitLab
refused) the laptop reads the Secret and adopts a newer grant issued to the same application; the
Secret is only read, never written, and a laptop whose token still works asks nothing.
"""

from __future__ import annotations

import asyncio
import logging

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.kube.cluster import Clusters
from pac_tui.kube.repositories import read_repository
from pac_tui.kube.secrets import read_secret
from pac_tui.kube.sync_local import adopt_oauth, held_tokens
from pac_tui.oauth.grant import application_mismatch
from pac_tui.oauth.token_source import Adopt
from pac_tui.stores.file_store import TokenStore

log = logging.getLogger(__name__)


async def adopt_cluster_grant(
    repo: Repository, store: TokenStore, clock: Clock, clusters: Clusters
) -> bool:
    """For a repository bound in oauth mode, adopt the Secret's grant when it is newer than the
    local one (or the local one is gone); True if adopted. Never raises: without the cluster
    the caller goes on with what it has."""
    binding = repo.kubernetes
    if binding is None or binding.mode != TokenMode.OAUTH:
        return False
    try:
        cluster = await asyncio.to_thread(clusters.get, binding.context)
        pac = await asyncio.to_thread(
            read_repository, cluster, binding.namespace, binding.repository
        )
        ref = pac.token_secret
        stored = await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)
        held = held_tokens(stored, TokenMode.OAUTH)
    except PacTuiError as exc:
        log.info("%s: could not look for a newer grant in the cluster: %s", repo.name, exc)
        return False
    if held is None or held.client_id != repo.gitlab.client_id:
        return False
    record = store.get(repo.name)
    local = record.tokens if record and not application_mismatch(repo, record) else None
    if local is not None and held.issued_at <= local.issued_at:
        return False
    adopt_oauth(store, repo, clock, held)
    return True


def grant_adopter(
    repo: Repository, store: TokenStore, clock: Clock, clusters: Clusters | None
) -> Adopt | None:
    """The `adopt` callback of `repository_api` for `repo` (None unless bound in oauth mode)."""
    binding = repo.kubernetes
    if clusters is None or binding is None or binding.mode != TokenMode.OAUTH:
        return None

    async def adopt() -> bool:
        return await adopt_cluster_grant(repo, store, clock, clusters)

    return adopt
