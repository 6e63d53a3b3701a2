"""Keep a bound repository's Secret and the local store in step, in either token mode.

The rule in both directions: the token generation issued last wins. A newer generation found in
the cluster (the in-cluster refresher rotated it, another laptop logged in) is adopted locally; a
newer local one is written to the Secret. Tokens that GitLab has just issued are on local disk
before the cluster is asked to store them, so an unreachable cluster costs a "not synced" mark,
never a token.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import ClusterUnavailable, NeedsLogin, PacTuiError, UsageError
from pac_tui.core.models import iso_utc
from pac_tui.kube.cluster import Cluster, ClusterSource
from pac_tui.kube.events import sync_event
from pac_tui.kube.repositories import PacRepository, read_repository
from pac_tui.kube.rotation import Rotator, pac_setting
from pac_tui.kube.secrets import (
    ForeignToken,
    SecretTokens,
    WriteResult,
    read_secret,
    write_tokens,
)
from pac_tui.kube.sync_local import adopt_oauth as _adopt_oauth
from pac_tui.kube.sync_local import binding_of, held_tokens, mark, note_rotator
from pac_tui.kube.sync_project_token import sync_project_token
from pac_tui.kube.sync_result import SyncAction, SyncResult
from pac_tui.oauth.grant import live_tokens
from pac_tui.stores.file_store import TokenStore


async def sync(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    *,
    fresh_login: bool = False,
) -> SyncResult:
    """Bring `repo`'s Secret and local record to the newest token generation; mint or rotate a
    project token when it is missing or has less than 7 days left (project-token mode).

    `fresh_login` (oauth mode): the local grant was authorized a moment ago, so it replaces the
    Secret's grant instead of being compared with it by issue time.

    Raises `ClusterUnavailable` (after marking the record "not synced") when the cluster cannot be
    reached; the local tokens are kept either way.
    """
    binding = binding_of(repo)
    notes: list[str] = []
    pac: PacRepository | None = None
    try:
        cluster = await asyncio.to_thread(clusters.get, binding.context)
        pac = await asyncio.to_thread(
            read_repository, cluster, binding.namespace, binding.repository
        )
        warnings = check_target(repo, pac)
        if binding.mode == TokenMode.OAUTH:
            result = await _sync_oauth(repo, store, clock, cluster, pac, fresh_login)
            rotator = Rotator.PAC_TUI  # PAC cannot rotate an OAuth token (`kube.rotation`)
        else:
            setting = await asyncio.to_thread(pac_setting, cluster, pac)
            action, expires, rotator = await sync_project_token(
                repo, store, clock, cluster, pac, notes, setting
            )
            result = (action, expires)
        note_rotator(store, repo, rotator)
    except ClusterUnavailable as exc:
        mark(store, repo, clock, error=str(exc))
        raise ClusterUnavailable(f"{repo.name}: not synced, tokens kept locally: {exc}") from None
    except PacTuiError as exc:
        if pac is not None:
            await asyncio.to_thread(sync_event, cluster, clock, pac, None, str(exc))
        raise
    await asyncio.to_thread(sync_event, cluster, clock, pac, result[0], iso_utc(result[1]))
    return SyncResult(
        repo.name,
        result[0],
        f"{pac.namespace}/{pac.token_secret.name}",
        result[1],
        (*warnings, *notes),
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
    if binding.mode == TokenMode.OAUTH and pac.user != "oauth2":
        warnings.append(
            f"PAC Repository {pac.key}: git_provider.user is {pac.user or 'unset'}; clones with "
            "an OAuth token need user: oauth2"
        )
    return tuple(warnings)


async def _sync_oauth(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    cluster: Cluster,
    pac: PacRepository,
    fresh_login: bool,
) -> tuple[SyncAction, datetime | None]:
    ref = pac.token_secret
    stored = await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)
    if stored is not None and stored.foreign and not fresh_login:
        # PAC cannot rotate an OAuth token: a person or a tool put this one here on purpose.
        raise ForeignToken(
            f"{repo.name}: Secret {stored.key} holds a token pac-tui did not write (replaced "
            "with kubectl or another tool); pac-tui leaves it there. To hand the Secret back to "
            f"pac-tui, log in again: pac-tui login {repo.name} (the new grant replaces it)"
        )
    held = held_tokens(stored, TokenMode.OAUTH)
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
        return SyncAction.ADOPTED, held.expires_at
    if held is not None and held.issued_at > local.issued_at and not fresh_login:
        _adopt_oauth(store, repo, clock, held)
        return SyncAction.ADOPTED, held.expires_at
    mine = SecretTokens(
        mode=TokenMode.OAUTH,
        token=local.access_token,
        refresh_token=local.refresh_token,
        issued_at=local.issued_at,
        expires_at=local.expires_at,
        gitlab_url=repo.gitlab.url,
        project=repo.project,
        client_id=repo.gitlab.client_id,
    )
    ref = pac.token_secret
    written = await asyncio.to_thread(
        partial(write_tokens, replace_newer=fresh_login),
        cluster,
        pac.namespace,
        ref.name,
        ref.key,
        mine,
    )
    if written.result is WriteResult.NEWER_IN_CLUSTER:
        newer = written.secret.tokens
        assert newer is not None
        _adopt_oauth(store, repo, clock, newer)
        return SyncAction.ADOPTED, newer.expires_at
    mark(store, repo, clock, synced=local.issued_at)
    return SyncAction(written.result.value), local.expires_at
