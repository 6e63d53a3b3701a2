"""Keep a bound repository's Secret and the local store in step, in either token mode.

The rule in both directions: the token generation issued last wins. A newer generation found in
the cluster (the in-cluster refresher rotated it, another laptop logged in) is adopted locally; a
newer local one is written to the Secret. Tokens that GitLab has just issued are on local disk
before the cluster is asked to store them, so an unreachable cluster costs a "not synced" mark,
never a token.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from pac_tui.clock import Clock
from pac_tui.config import KubernetesBinding, Repository
from pac_tui.errors import ClusterUnavailable, NeedsLogin, PacTuiError, UsageError
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.cluster import Cluster, Clusters
from pac_tui.kube.repositories import PacRepository, read_repository
from pac_tui.kube.secrets import (
    SecretTokens,
    StoredSecret,
    WriteResult,
    read_secret,
    write_tokens,
)
from pac_tui.models import (
    ClusterSync,
    ProjectTokenRecord,
    TokenRecord,
    TokenSet,
    iso_utc,
    issued_after,
)
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.oauth.refresh import RefreshResult, refresh
from pac_tui.stores.file_store import TokenStore

ROTATE_WITHIN_DAYS = 7


@dataclass(frozen=True)
class SyncResult:
    repo: str
    action: str  # written, unchanged, adopted, minted, rotated
    secret: str  # namespace/name
    expires_at: datetime | None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "action": self.action,
            "secret": self.secret,
            "expires_at": iso_utc(self.expires_at),
            "warnings": list(self.warnings),
        }


def binding_of(repo: Repository) -> KubernetesBinding:
    if repo.kubernetes is None:
        raise UsageError(
            f"{repo.name} is not bound to a PAC Repository; add a [repositories.kubernetes] "
            "table to its entry in the config (see README)"
        )
    return repo.kubernetes


async def sync(repo: Repository, store: TokenStore, clock: Clock, clusters: Clusters) -> SyncResult:
    """Bring `repo`'s Secret and local record to the newest token generation; mint or rotate a
    project token when it is missing or has less than 7 days left (project-token mode).

    Raises `ClusterUnavailable` (after marking the record "not synced") when the cluster cannot be
    reached; the local tokens are kept either way.
    """
    binding = binding_of(repo)
    try:
        cluster = await asyncio.to_thread(clusters.get, binding.context)
        pac = await asyncio.to_thread(
            read_repository, cluster, binding.namespace, binding.repository
        )
        warnings = check_target(repo, pac)
        if binding.mode == "oauth":
            result = await _sync_oauth(repo, store, clock, cluster, pac)
        else:
            result = await _sync_project_token(repo, store, clock, cluster, pac)
    except ClusterUnavailable as exc:
        _mark(store, repo, clock, error=str(exc))
        raise ClusterUnavailable(f"{repo.name}: not synced, tokens kept locally: {exc}") from None
    return SyncResult(
        repo.name, result[0], f"{pac.namespace}/{pac.token_secret.name}", result[1], warnings
    )


def check_target(repo: Repository, pac: PacRepository) -> tuple[str, ...]:
    """Refuse a Repository that points at another project; warn about what PAC will trip on."""
    if pac.project.casefold() != repo.project.casefold() or (
        pac.instance and pac.instance.rstrip("/") != repo.gitlab.url
    ):
        raise UsageError(
            f"{repo.name}: PAC Repository {pac.key} is for {pac.url}, but the config says "
            f"{repo.gitlab.url}/{repo.project}; fix [repositories.kubernetes] or the config"
        )
    if pac.secret is None:
        raise UsageError(
            f"{repo.name}: PAC Repository {pac.key} names no git_provider.secret, so PAC would "
            "not know where to read the token; set spec.git_provider.secret or run "
            f"pac-tui onboard {repo.name}"
        )
    warnings: list[str] = []
    binding = binding_of(repo)
    if binding.mode == "oauth" and pac.user != "oauth2":
        warnings.append(
            f"PAC Repository {pac.key}: git_provider.user is {pac.user or 'unset'}; clones with "
            "an OAuth token need user: oauth2"
        )
    return tuple(warnings)


async def _sync_oauth(
    repo: Repository, store: TokenStore, clock: Clock, cluster: Cluster, pac: PacRepository
) -> tuple[str, datetime | None]:
    ref = pac.token_secret
    stored = await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)
    held = _held(stored, "oauth")
    if held is not None and held.client_id != repo.gitlab.client_id:
        held = None  # issued to another application: never adopt it
    try:
        local = live_tokens(repo, store.get(repo.name))
    except NeedsLogin:
        if held is None:
            raise
        # The local grant is gone (e.g. a refresh token the in-cluster refresher had already
        # rotated was refused), but the cluster holds a live one: take it back.
        _adopt_oauth(store, repo, clock, held)
        return "adopted", held.expires_at
    if held is not None and held.issued_at > local.issued_at:
        _adopt_oauth(store, repo, clock, held)
        return "adopted", held.expires_at
    mine = SecretTokens(
        mode="oauth",
        token=local.access_token,
        refresh_token=local.refresh_token,
        issued_at=local.issued_at,
        expires_at=local.expires_at,
        gitlab_url=repo.gitlab.url,
        project=repo.project,
        client_id=repo.gitlab.client_id,
    )
    written = await asyncio.to_thread(write_tokens, cluster, pac.namespace, ref.name, ref.key, mine)
    if written.result is WriteResult.NEWER_IN_CLUSTER:
        newer = written.secret.tokens
        assert newer is not None
        _adopt_oauth(store, repo, clock, newer)
        return "adopted", newer.expires_at
    _mark(store, repo, clock, synced=local.issued_at)
    return written.result.value, local.expires_at


def _adopt_oauth(store: TokenStore, repo: Repository, clock: Clock, held: SecretTokens) -> None:
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
            cluster=ClusterSync(clock.now(), held.issued_at),
        )

    _update(store, repo, change)


async def _sync_project_token(
    repo: Repository, store: TokenStore, clock: Clock, cluster: Cluster, pac: PacRepository
) -> tuple[str, datetime | None]:
    ref = pac.token_secret
    stored = await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)
    held = _held(stored, "project-token")
    record = store.get(repo.name)
    local = record.project_token if record else None
    newest = _newest(held, local, repo)
    today = clock.now().astimezone(UTC).date()
    action = "unchanged"
    previous = newest.issued_at if newest else None
    if newest is None or newest.expires_at is None or not await _alive(repo, store, clock, newest):
        newest, action = await _mint(repo, store, clock, today, previous), "minted"
    elif (newest.expires_at.date() - today).days < ROTATE_WITHIN_DAYS:
        newest, action = await _rotate(repo, store, clock, newest, today), "rotated"
    elif local is None or newest.issued_at > local.issued_at:
        if record is not None:
            _keep_project_token(store, repo, newest)
        action = "adopted" if held is newest else action
    if held is not None and held.same_generation(newest) and held.issued_at >= newest.issued_at:
        _mark(store, repo, clock, synced=newest.issued_at)
        return action, newest.expires_at
    written = await asyncio.to_thread(
        write_tokens, cluster, pac.namespace, ref.name, ref.key, newest
    )
    if written.result is WriteResult.NEWER_IN_CLUSTER:
        # Someone else minted or rotated meanwhile. Theirs is newer: keep it, drop a token we
        # minted for nothing (a rotated one cannot race: GitLab rotates a token only once).
        theirs = written.secret.tokens
        assert theirs is not None
        if action == "minted" and newest.token_id is not None:
            await _revoke_quietly(repo, store, clock, newest.token_id)
        _keep_project_token(store, repo, theirs)
        _mark(store, repo, clock, synced=theirs.issued_at)
        return "adopted", theirs.expires_at
    _mark(store, repo, clock, synced=newest.issued_at)
    return action if action != "unchanged" else written.result.value, newest.expires_at


def _newest(
    held: SecretTokens | None, local: ProjectTokenRecord | None, repo: Repository
) -> SecretTokens | None:
    mine = None
    if local is not None:
        mine = SecretTokens(
            mode="project-token",
            token=local.token,
            issued_at=local.issued_at,
            expires_at=local.expires_at,
            gitlab_url=repo.gitlab.url,
            project=repo.project,
            token_id=local.token_id,
        )
    if held is None:
        return mine
    if mine is None or held.issued_at >= mine.issued_at:
        return held
    return mine


async def _alive(repo: Repository, store: TokenStore, clock: Clock, tokens: SecretTokens) -> bool:
    """False when GitLab says the project token was revoked or is gone (someone revoked it in
    GitLab's settings): rotating it would fail, so a new one is minted. Without a local OAuth
    session this cannot be asked, and the token is taken as it is."""
    record = store.get(repo.name)
    if tokens.token_id is None or record is None or record.tokens is None:
        return True
    async with GitLabApi.for_repository(repo, store, clock) as api:
        found = await project_tokens.get(api, repo.project, tokens.token_id)
    return found is not None and found.active and not found.revoked


async def _mint(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    today: date,
    previous: datetime | None = None,
) -> SecretTokens:
    binding = binding_of(repo)
    _require_session(repo, store, "mint a project access token")
    async with GitLabApi.for_repository(repo, store, clock) as api:
        minted = await project_tokens.mint(
            api,
            repo.project,
            expires_at=project_tokens.default_expiry(today, binding.token_days),
        )
    return _persist_new(store, repo, clock, minted, previous)


async def _rotate(
    repo: Repository, store: TokenStore, clock: Clock, current: SecretTokens, today: date
) -> SecretTokens:
    binding = binding_of(repo)
    if current.token_id is None:
        return await _mint(repo, store, clock, today, current.issued_at)
    _require_session(repo, store, "rotate the project access token")
    async with GitLabApi.for_repository(repo, store, clock) as api:
        rotated = await project_tokens.rotate(
            api,
            repo.project,
            current.token_id,
            expires_at=project_tokens.default_expiry(today, binding.token_days),
        )
    return _persist_new(store, repo, clock, rotated, current.issued_at)


def _persist_new(
    store: TokenStore,
    repo: Repository,
    clock: Clock,
    token: project_tokens.ProjectToken,
    previous: datetime | None,
) -> SecretTokens:
    """Put a token GitLab just issued on local disk first (the old one is already revoked)."""
    if not token.token or token.expires_at is None:
        raise PacTuiError(f"{repo.gitlab.url} answered without the new token's value or expiry")
    tokens = SecretTokens(
        mode="project-token",
        token=token.token,
        issued_at=issued_after(previous, clock.now()),
        expires_at=datetime.combine(token.expires_at, time(0), tzinfo=UTC),
        gitlab_url=repo.gitlab.url,
        project=repo.project,
        token_id=token.id,
    )
    _keep_project_token(store, repo, tokens)
    return tokens


def _keep_project_token(store: TokenStore, repo: Repository, tokens: SecretTokens) -> None:
    assert tokens.expires_at is not None and tokens.token_id is not None
    kept = ProjectTokenRecord(tokens.token_id, tokens.token, tokens.expires_at, tokens.issued_at)
    _update(store, repo, lambda record: record.with_(project_token=kept))


async def _revoke_quietly(repo: Repository, store: TokenStore, clock: Clock, token_id: int) -> None:
    try:
        async with GitLabApi.for_repository(repo, store, clock) as api:
            await project_tokens.revoke(api, repo.project, token_id)
    except PacTuiError:
        pass  # it expires on its own; nothing uses it


def _require_session(repo: Repository, store: TokenStore, action: str) -> None:
    record = store.get(repo.name)
    if record is None or record.tokens is None:
        raise NeedsLogin(f"{repo.name}: an OAuth login is needed to {action}; {login_hint(repo)}")


def _held(stored: StoredSecret | None, mode: str) -> SecretTokens | None:
    if stored is None or stored.tokens is None or stored.tokens.mode != mode:
        return None
    return stored.tokens


def _mark(
    store: TokenStore,
    repo: Repository,
    clock: Clock,
    *,
    synced: datetime | None = None,
    error: str | None = None,
) -> None:
    def change(record: TokenRecord) -> TokenRecord:
        previous = record.cluster.synced if record.cluster else None
        return record.with_(cluster=ClusterSync(clock.now(), synced or previous, error))

    _update(store, repo, change, missing_ok=True)


def _update(store: TokenStore, repo: Repository, change: Any, *, missing_ok: bool = False) -> None:
    with store.transaction() as txn:
        record = txn.get(repo.name)
        if record is None:
            if missing_ok:
                return
            record = TokenRecord(gitlab_url=repo.gitlab.url, client_id=repo.gitlab.client_id)
        txn.put(repo.name, change(record))


@dataclass(frozen=True)
class BoundRefresh:
    """A refresh of a repository's grant, and what happened to its Secret afterwards."""

    refresh: RefreshResult
    sync: SyncResult | None = None
    sync_error: PacTuiError | None = None


async def refresh_and_sync(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: Clusters,
    *,
    if_expiring_within: float | None = None,
) -> BoundRefresh:
    """Refresh `repo`'s OAuth grant and bring its Secret up to date.

    In oauth mode the Secret is read first: if the in-cluster refresher already refreshed, its
    tokens are adopted instead of spending a refresh token GitLab has revoked. A sync failure
    (cluster down) does not undo the refresh; it is returned for the caller to show.
    """
    if repo.kubernetes is not None and repo.kubernetes.mode == "oauth":
        with contextlib.suppress(PacTuiError):
            await sync(repo, store, clock, clusters)
    result = await refresh(repo, store, clock, if_expiring_within=if_expiring_within)
    if repo.kubernetes is None:
        return BoundRefresh(result)
    try:
        synced = await sync(repo, store, clock, clusters)
    except PacTuiError as exc:
        return BoundRefresh(result, sync_error=exc)
    return BoundRefresh(result, synced)
