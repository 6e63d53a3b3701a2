"""Persist-first refresh.

GitLab revokes the old access *and* refresh token the moment it answers a refresh, so the new set
must be on disk before anything uses it, and only one process may refresh a grant at a time. Under
the store lock we re-read the store: if another process refreshed meanwhile we adopt its tokens
instead of spending the (now revoked) refresh token again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from pac_tui.core.clock import Clock
from pac_tui.core.config import GitLabApp, Repository
from pac_tui.core.errors import NeedsLogin, PacTuiError, StoreError
from pac_tui.core.models import RefreshOutcome, TokenRecord, TokenSet, issued_after
from pac_tui.oauth.client import explain, oauth_client
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.stores.file_store import TokenStore


class RefreshAction(enum.StrEnum):
    REFRESHED = "refreshed"
    ADOPTED = "adopted"  # another process refreshed while we waited for the lock
    SKIPPED = "skipped"  # not expiring within the given window


@dataclass(frozen=True)
class RefreshResult:
    action: RefreshAction
    record: TokenRecord


def _expiring(tokens: TokenSet, clock: Clock, within: float | None) -> bool:
    if within is None:
        return True
    remaining = tokens.expires_in(clock.now())
    return remaining is not None and remaining <= within


async def refresh(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    *,
    if_expiring_within: float | None = None,
) -> RefreshResult:
    """Refresh `repo`'s grant (or only if it expires within `if_expiring_within` seconds).

    Raises `NeedsLogin` when there is no grant or the provider answers `invalid_grant` (the record
    then says so, and nothing retries), `ProviderUnavailable` / `ProviderRejected` when the call
    failed otherwise (the old tokens are kept, the failure is recorded for the UI).
    """
    before = live_tokens(repo, store.get(repo.name))
    if not _expiring(before, clock, if_expiring_within):
        record = store.get(repo.name)
        assert record is not None
        return RefreshResult(RefreshAction.SKIPPED, record)

    async with store.atransaction() as txn:
        record = txn.get(repo.name)
        current = live_tokens(repo, record)
        assert record is not None
        if current.refresh_token != before.refresh_token:
            return RefreshResult(RefreshAction.ADOPTED, record)
        if not _expiring(current, clock, if_expiring_within):
            return RefreshResult(RefreshAction.SKIPPED, record)
        if not current.refresh_token:
            raise NeedsLogin(
                f"{repo.name}: GitLab issued no refresh token for this grant; {login_hint(repo)}"
            )

        try:
            tokens = await exchange_refresh_token(
                repo.gitlab, current.refresh_token, current.scopes, clock
            )
            tokens = replace(tokens, issued_at=issued_after(current.issued_at, tokens.issued_at))
        except PacTuiError as error:
            txn.put(repo.name, _failed(record, error, clock))
            if isinstance(error, NeedsLogin):
                raise NeedsLogin(f"{repo.name}: {error}; {login_hint(repo)}") from None
            raise error from None

        now = clock.now()
        updated = record.with_(
            tokens=tokens,
            refreshed_at=now,
            last_refresh=RefreshOutcome(now, ok=True, message="refreshed"),
            needs_login=None,
        )
        try:
            txn.put(repo.name, updated)
        except StoreError as exc:
            raise StoreError(
                f"{exc}. GitLab has already replaced the tokens, so the stored ones no longer "
                f"work; once the disk is fixed, {login_hint(repo)}"
            ) from None
        return RefreshResult(RefreshAction.REFRESHED, updated)


async def exchange_refresh_token(
    app: GitLabApp, refresh_token: str, scopes: tuple[str, ...], clock: Clock
) -> TokenSet:
    """One refresh_token grant at `app`'s token endpoint; failures come back explained.

    The caller must persist the answer before anything else: GitLab has revoked the old pair.
    """
    try:
        async with oauth_client(app) as client:
            response = await client.refresh_token(app.token_url, refresh_token=refresh_token)
        return TokenSet.from_response(dict(response), clock.now(), scopes)
    except Exception as exc:
        raise explain(exc, app, "refresh the token") from None


def _failed(record: TokenRecord, error: PacTuiError, clock: Clock) -> TokenRecord:
    outcome = RefreshOutcome(clock.now(), ok=False, message=str(error))
    if isinstance(error, NeedsLogin):
        # The grant is gone for good: drop the dead tokens, say why, never retry.
        return record.with_(tokens=None, needs_login=str(error), last_refresh=outcome)
    return record.with_(last_refresh=outcome)
