"""The local side of a sync: the store record's cluster mark and the Secret's held generation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from pac_tui.core.clock import Clock
from pac_tui.core.config import KubernetesBinding, Repository, TokenMode
from pac_tui.core.errors import UsageError
from pac_tui.core.models import ClusterSync, TokenRecord, TokenSet
from pac_tui.kube.secrets import MalformedSecret, SecretTokens, StoredSecret
from pac_tui.stores.file_store import TokenStore


def binding_of(repo: Repository) -> KubernetesBinding:
    if repo.kubernetes is None:
        raise UsageError(
            f"{repo.name} is not bound to a PAC Repository; add a [repositories.kubernetes] "
            "table to its entry in the config (see README)"
        )
    return repo.kubernetes


def held_tokens(stored: StoredSecret | None, mode: TokenMode) -> SecretTokens | None:
    """The Secret's tokens in `mode`; `MalformedSecret` when its annotations cannot be read
    (never guessed at: it may hold the only working token)."""
    if stored is not None and stored.problem:
        raise MalformedSecret(stored)
    if stored is None or stored.tokens is None or stored.tokens.mode != mode:
        return None
    return stored.tokens


def mark(
    store: TokenStore,
    repo: Repository,
    clock: Clock,
    *,
    synced: datetime | None = None,
    error: str | None = None,
) -> None:
    def change(record: TokenRecord) -> TokenRecord:
        previous = record.cluster.synced if record.cluster else None
        rotator = record.cluster.rotator if record.cluster else None
        return record.with_(cluster=ClusterSync(clock.now(), synced or previous, error, rotator))

    update(store, repo, change, missing_ok=True)


def note_rotator(store: TokenStore, repo: Repository, rotator: str) -> None:
    """Keep who rotates the Secret's token (`kube.rotation.Rotator`) for `status` and the panel."""

    def change(record: TokenRecord) -> TokenRecord:
        if record.cluster is None or record.cluster.rotator == rotator:
            return record
        return record.with_(cluster=replace(record.cluster, rotator=rotator))

    update(store, repo, change, missing_ok=True)


def update(
    store: TokenStore,
    repo: Repository,
    change: Callable[[TokenRecord], TokenRecord],
    *,
    missing_ok: bool = False,
) -> None:
    with store.transaction() as txn:
        record = txn.get(repo.name)
        if record is None:
            if missing_ok:
                return
            record = TokenRecord(gitlab_url=repo.gitlab.url, client_id=repo.gitlab.client_id)
        txn.put(repo.name, change(record))


def adopt_oauth(store: TokenStore, repo: Repository, clock: Clock, held: SecretTokens) -> None:
    """Take the Secret's oauth grant as the local one (it is newer, or the local one is gone)."""

    def change(record: TokenRecord) -> TokenRecord:
        scopes = record.tokens.scopes if record.tokens else repo.gitlab.scopes
        tokens = TokenSet(
            access_token=held.token,
            refresh_token=held.refresh_token,
            token_type="Bearer",  # noqa: S106 (a token type, not a token)
            scopes=scopes,
            expires_at=held.expires_at,
            issued_at=held.issued_at,
        )
        return record.with_(
            gitlab_url=repo.gitlab.url,
            client_id=repo.gitlab.client_id,
            tokens=tokens,
            refreshed_at=held.issued_at,
            needs_login=None,
            cluster=ClusterSync(
                clock.now(),
                held.issued_at,
                rotator=record.cluster.rotator if record.cluster else None,
            ),
        )

    update(store, repo, change)
