"""Revoke a repository's grant at the provider (RFC 7009), then forget it locally."""

from __future__ import annotations

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.errors import NeedsLogin, ProviderRejected, ProviderUnavailable
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.client import explain, oauth_client
from pac_tui.oauth.grant import live_tokens
from pac_tui.stores.file_store import TokenStore


async def revoke(repo: Repository, store: TokenStore, clock: Clock) -> TokenRecord | None:
    """Revoke both tokens; returns the record as it was, or None if there was nothing to revoke.

    The local tokens are forgotten only after the provider confirmed, so a provider that is down
    never leaves a live grant that pac-tui can no longer revoke.
    """
    async with store.atransaction() as txn:
        record = txn.get(repo.name)
        try:
            tokens = live_tokens(repo, record)
        except NeedsLogin:
            return None
        assert record is not None
        await revoke_tokens(repo, tokens.access_token, tokens.refresh_token)
        when = clock.now().strftime("%Y-%m-%d %H:%M UTC")
        txn.put(repo.name, record.with_(tokens=None, needs_login=f"revoked on {when}"))
        return record


async def revoke_tokens(repo: Repository, access_token: str, refresh_token: str | None) -> None:
    """Revoke one access token and its refresh token at `repo`'s provider (RFC 7009: a token
    that is already invalid counts as revoked); the store is not touched."""
    pairs = [(access_token, "access_token")]
    if refresh_token:
        pairs.append((refresh_token, "refresh_token"))
    async with oauth_client(repo.gitlab) as client:
        for token, hint in pairs:
            try:
                response: httpx.Response = await client.revoke_token(
                    repo.gitlab.revoke_url, token=token, token_type_hint=hint
                )
            except Exception as exc:
                raise explain(exc, repo.gitlab, "revoke the tokens") from None
            _check(response, repo)


def _check(response: httpx.Response, repo: Repository) -> None:
    """RFC 7009: 200 means revoked (or already invalid). Anything else keeps the tokens."""
    if response.status_code == 200:
        return
    where = repo.gitlab.url
    if response.status_code >= 500:
        raise ProviderUnavailable(
            f"{where} answered HTTP {response.status_code} to the revocation; the tokens are "
            "kept so you can try again"
        )
    try:
        error = response.json().get("error", "")
    except (ValueError, AttributeError):
        error = ""
    detail = f" ({error})" if error else ""
    raise ProviderRejected(
        f"{where} refused the revocation with HTTP {response.status_code}{detail}; the tokens "
        "are kept. Check client_id/client_secret"
    )
