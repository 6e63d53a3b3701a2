"""project-token mode: a project access token minted with the operator's OAuth session, rotated
when less than 7 days remain, replaced when revoked in GitLab; saved locally before the Secret.

A second rotation of a token already rotated makes GitLab revoke the whole token family, so the
laptop never rotates a token that a live in-cluster refresher keeps (`refresher_mark`), nor one
PAC rotates itself (`rotation`): it takes the new one from the Secret instead; a token someone
else wrote there is adopted, never written over while GitLab accepts it. And whoever mints or
rotates reads the Secret again just before: a generation stored meanwhile is adopted, not replaced.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from functools import partial

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.core.models import ProjectTokenRecord, issued_after
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApiError
from pac_tui.kube.cluster import Cluster, Conflict
from pac_tui.kube.refresher_mark import refresher_in_charge
from pac_tui.kube.repositories import PacRepository
from pac_tui.kube.rotation import Rotator, adopted, describe, introspect, restamp, who_rotates
from pac_tui.kube.secrets import (
    SecretTokens,
    StoredSecret,
    WriteResult,
    read_secret,
    write_tokens,
)
from pac_tui.kube.sync_local import binding_of, held_tokens, mark, update
from pac_tui.kube.sync_result import SyncAction
from pac_tui.oauth.grant import login_hint
from pac_tui.oauth.token_source import repository_api
from pac_tui.stores.file_store import TokenStore

ROTATE_WITHIN_DAYS = 7


async def sync_project_token(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    cluster: Cluster,
    pac: PacRepository,
    warnings: list[str] | None = None,
    setting: bool | None = None,
) -> tuple[SyncAction, datetime | None, Rotator]:
    """(action, expiry, who rotates); what the user should know is appended to `warnings`.

    `setting` is PAC's `token_auto_rotation` for the Repository (`rotation.pac_setting`)."""
    notes = warnings if warnings is not None else []
    ref = pac.token_secret
    stored = await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)
    held = held_tokens(stored, TokenMode.PROJECT_TOKEN)
    rotator = who_rotates(setting, stored)
    replacing = False  # a token someone else wrote that GitLab refuses: replaced below
    if stored is not None and held is not None and stored.foreign:
        taken = await _adopt_foreign(repo, store, clock, cluster, stored, held, rotator, notes)
        if taken is not None:
            notes.append(describe(rotator, setting))
            return SyncAction.ADOPTED, taken.expires_at, rotator
        replacing, rotator = True, who_rotates(setting, None)  # nobody kept that one alive
    record = store.get(repo.name)
    local = record.project_token if record else None
    newest = _newest(held, local, repo)
    today = clock.now().astimezone(UTC).date()
    action = SyncAction.UNCHANGED
    previous = newest.issued_at if newest else None
    if newest is None or newest.expires_at is None or not await _alive(repo, store, clock, newest):
        stored = await _read_again(cluster, pac)
        if _moved_on(stored, held):
            newest = held = held_tokens(stored, TokenMode.PROJECT_TOKEN)  # adopted below
        else:
            newest, action = await _mint(repo, store, clock, today, previous), SyncAction.MINTED
    elif (newest.expires_at.date() - today).days < ROTATE_WITHIN_DAYS:
        stored = await _read_again(cluster, pac)
        keeper = await asyncio.to_thread(refresher_in_charge, cluster, stored, clock)
        if _moved_on(stored, held):
            newest = held = held_tokens(stored, TokenMode.PROJECT_TOKEN)  # adopted below
        elif keeper is not None:
            # Its rotation is due now too: leave it to the refresher, take the result next sync.
            late = f"; its last error: {keeper.last_error}" if keeper.last_error else ""
            notes.append(f"{keeper.reason}{late}")
        elif rotator is Rotator.PAC:
            notes.append(f"{describe(rotator, setting)}; its rotation is due, left to PAC")
        else:
            newest, action = await _rotate(repo, store, clock, newest, today), SyncAction.ROTATED
    assert newest is not None
    if action is SyncAction.UNCHANGED and (local is None or newest.issued_at > local.issued_at):
        if record is not None:
            _keep_project_token(store, repo, newest)
        action = SyncAction.ADOPTED if held is newest else action
    fingerprinted = stored is not None and stored.ours is not None  # else: stamp it now
    if (
        fingerprinted
        and held is not None
        and held.same_generation(newest)
        and held.issued_at >= newest.issued_at
    ):
        mark(store, repo, clock, synced=newest.issued_at)
        return action, newest.expires_at, rotator
    written = await asyncio.to_thread(
        partial(write_tokens, over_foreign=replacing),
        cluster,
        pac.namespace,
        ref.name,
        ref.key,
        newest,
    )
    if written.result is WriteResult.NEWER_IN_CLUSTER:
        # Someone else minted or rotated meanwhile. Theirs is newer: keep it, drop a token we
        # minted for nothing (a rotated one cannot race: GitLab rotates a token only once).
        theirs = written.secret.tokens
        assert theirs is not None
        if action is SyncAction.MINTED and newest.token_id is not None:
            await _revoke_quietly(repo, store, clock, newest.token_id)
        _keep_project_token(store, repo, theirs)
        mark(store, repo, clock, synced=theirs.issued_at)
        return SyncAction.ADOPTED, theirs.expires_at, rotator
    mark(store, repo, clock, synced=newest.issued_at)
    if action is SyncAction.UNCHANGED:
        action = SyncAction(written.result.value)
    return action, newest.expires_at, rotator


async def _adopt_foreign(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    cluster: Cluster,
    stored: StoredSecret,
    held: SecretTokens,
    rotator: Rotator,
    notes: list[str],
) -> SecretTokens | None:
    """Take the token someone else (PAC's rotation) wrote into the Secret: GitLab's id and
    expiry for it go into the annotations and the local store; nothing is minted or rotated.
    None when GitLab refuses that token (revoked, expired): then nobody keeps it alive, and the
    caller replaces it as it would replace any dead token."""
    try:
        info = await introspect(repo.gitlab, held.token)
    except GitLabApiError as exc:
        if exc.status not in (401, 403):
            raise
        info = None
    if info is None or not info.active or info.revoked:
        notes.append(
            f"Secret {stored.key} held a token pac-tui did not write and GitLab no longer "
            "accepts it; pac-tui replaced it"
        )
        return None
    tokens = adopted(held, info, clock)
    try:
        await asyncio.to_thread(restamp, cluster, stored, tokens, rotator)
    except Conflict:
        raise PacTuiError(
            f"Secret {stored.key} changed while pac-tui adopted the token in it; run pac-tui "
            f"sync {repo.name} again"
        ) from None
    _keep_project_token(store, repo, tokens)
    mark(store, repo, clock, synced=tokens.issued_at)
    return tokens


async def _read_again(cluster: Cluster, pac: PacRepository) -> StoredSecret | None:
    """The Secret as it is now, just before a mint or a rotation."""
    ref = pac.token_secret
    return await asyncio.to_thread(read_secret, cluster, pac.namespace, ref.name, ref.key)


def _moved_on(stored: StoredSecret | None, held: SecretTokens | None) -> bool:
    """Whether someone stored a newer project token since `held` was read."""
    now = held_tokens(stored, TokenMode.PROJECT_TOKEN)
    if now is None:
        return False
    return held is None or (not now.same_generation(held) and now.issued_at > held.issued_at)


def _newest(
    held: SecretTokens | None, local: ProjectTokenRecord | None, repo: Repository
) -> SecretTokens | None:
    mine = None
    if local is not None:
        mine = SecretTokens(
            mode=TokenMode.PROJECT_TOKEN,
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
    async with repository_api(repo, store, clock) as api:
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
    async with repository_api(repo, store, clock) as api:
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
    async with repository_api(repo, store, clock) as api:
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
        mode=TokenMode.PROJECT_TOKEN,
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
    update(store, repo, lambda record: record.with_(project_token=kept))


async def _revoke_quietly(repo: Repository, store: TokenStore, clock: Clock, token_id: int) -> None:
    try:
        async with repository_api(repo, store, clock) as api:
            await project_tokens.revoke(api, repo.project, token_id)
    except PacTuiError:
        pass  # it expires on its own; nothing uses it


def _require_session(repo: Repository, store: TokenStore, action: str) -> None:
    record = store.get(repo.name)
    if record is None or record.tokens is None:
        raise NeedsLogin(f"{repo.name}: an OAuth login is needed to {action}; {login_hint(repo)}")
