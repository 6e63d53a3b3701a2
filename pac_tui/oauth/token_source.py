"""A repository's OAuth grant as the token source of GitLab REST calls.

`gitlab.api.GitLabApi` knows only the `TokenSource` protocol; this is the source backed by the
token store. It refreshes a token about to expire before a call (persist-first, see
`pac_tui.oauth.refresh`) and, when GitLab refuses one as invalid, hands over the token another
call or process already stored, or refreshes once.

An `adopt` callback (oauth mode bound to a cluster: `pac_tui.kube.sync_grant`) is asked first,
before a refresh and when there is no local grant: the in-cluster refresher may have refreshed the
grant already, revoking the refresh token stored here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.errors import NeedsLogin
from pac_tui.gitlab.api import GitLabApi, Scheme
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.oauth.refresh import refresh
from pac_tui.stores.file_store import TokenStore

# Refresh before a call when the stored token has (by our clock) less than this left, instead of
# spending a request on a certain 401.
REFRESH_MARGIN = 60.0

Adopt = Callable[[], Awaitable[bool]]  # takes a newer grant stored elsewhere; True if it did


class StoreTokenSource:
    """The OAuth access token of one repository, as kept in the token store."""

    scheme: Scheme = "bearer"

    def __init__(
        self, repo: Repository, store: TokenStore, clock: Clock, adopt: Adopt | None = None
    ) -> None:
        self.repo = repo
        self.store = store
        self.clock = clock
        self.adopt = adopt

    async def token(self) -> str:
        try:
            tokens = live_tokens(self.repo, self.store.get(self.repo.name))
        except NeedsLogin:
            if not await self._adopted():
                raise
            tokens = live_tokens(self.repo, self.store.get(self.repo.name))
        remaining = tokens.expires_in(self.clock.now())
        if remaining is not None and remaining <= REFRESH_MARGIN and await self._adopted():
            tokens = live_tokens(self.repo, self.store.get(self.repo.name))
            remaining = tokens.expires_in(self.clock.now())
        if remaining is not None and remaining <= REFRESH_MARGIN:
            result = await refresh(
                self.repo, self.store, self.clock, if_expiring_within=REFRESH_MARGIN
            )
            tokens = live_tokens(self.repo, result.record)
        return tokens.access_token

    async def refreshed(self, stale: str) -> str:
        current = live_tokens(self.repo, self.store.get(self.repo.name))
        if current.access_token != stale:
            return current.access_token  # another call or process refreshed meanwhile
        if await self._adopted():
            current = live_tokens(self.repo, self.store.get(self.repo.name))
            if current.access_token != stale:
                return current.access_token  # the in-cluster refresher had refreshed it
        # `refresh` itself adopts what another process stored while it waited for the lock.
        result = await refresh(self.repo, self.store, self.clock)
        return live_tokens(self.repo, result.record).access_token

    async def _adopted(self) -> bool:
        return self.adopt is not None and await self.adopt()


def repository_api(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    adopt: Adopt | None = None,
) -> GitLabApi:
    """A GitLab REST client that acts with `repo`'s OAuth grant."""
    return GitLabApi(
        repo.gitlab,
        StoreTokenSource(repo, store, clock, adopt),
        transport=transport,
        login_hint=login_hint(repo),
    )
