"""Browser login: authorization code with PKCE S256 and a one-time state, answered on loopback."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import replace

import httpx
from authlib.common.security import generate_token

from pac_tui.core.clock import Clock
from pac_tui.core.config import GitLabApp, Repository
from pac_tui.core.errors import LoginFailed, PacTuiError, ProviderUnavailable
from pac_tui.core.models import TokenRecord, TokenSet, issued_after
from pac_tui.gitlab.http import http_client
from pac_tui.gitlab.users import current_username
from pac_tui.oauth.callback import CallbackServer
from pac_tui.oauth.client import OAuthError, explain, oauth_client
from pac_tui.stores.file_store import TokenStore

DEFAULT_TIMEOUT = 180.0

OpenBrowser = Callable[[str], object]


async def login(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    *,
    on_authorize_url: Callable[[str], None],
    open_browser: OpenBrowser | None,
    wait_seconds: float = DEFAULT_TIMEOUT,
) -> TokenRecord:
    """Run one browser login for `repo` and store its tokens; returns the stored record.

    `on_authorize_url` receives the URL to show; `open_browser` (e.g. `webbrowser.open`) is called
    with it in a thread, since a browser command may block until the browser exits. Nothing is
    stored unless the whole flow succeeds. Raises `LoginFailed` or another `PacTuiError`.
    """
    app = repo.gitlab
    await check_reachable(app)
    state = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    server = CallbackServer(app.redirect_uri, state)
    redirect_uri = await server.start()
    try:
        async with oauth_client(app, redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                app.authorize_url, state=state, code_verifier=verifier
            )
            on_authorize_url(url)
            if open_browser is not None:
                # Not awaited: the callback must be served while the browser command runs.
                asyncio.get_running_loop().run_in_executor(None, open_browser, url)
            try:
                async with asyncio.timeout(wait_seconds):
                    answer = await server.wait()
            except TimeoutError:
                raise LoginFailed(
                    f"no answer from the browser within {wait_seconds:.0f} s; nothing was stored. "
                    "Run the login again (--timeout SECONDS gives more time)"
                ) from None
            await server.close()
            if answer.error:
                raise _denied(answer.error, answer.error_description, app.url)
            try:
                response = await client.fetch_token(
                    app.token_url,
                    grant_type="authorization_code",
                    code=answer.code,
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                )
                tokens = TokenSet.from_response(dict(response), clock.now(), app.scopes)
            except Exception as exc:
                raise _exchange_error(exc, repo) from None
    finally:
        await server.close()

    return await store_grant(repo, store, clock, tokens)


async def store_grant(
    repo: Repository, store: TokenStore, clock: Clock, tokens: TokenSet
) -> TokenRecord:
    """Store a newly obtained grant for `repo` (with the account it belongs to); the record.

    The new grant is a new generation: issued strictly after the one it replaces (generations are
    stored to the second, and a tie counts as newer wherever the other one is held, so a login in
    the same second as the last refresh or sync would otherwise be swapped back for it).
    """
    app = repo.gitlab
    username = await current_username(app, tokens.access_token)
    now = clock.now()
    previous = store.get(repo.name)
    if previous is not None and previous.tokens is not None:
        tokens = replace(
            tokens, issued_at=issued_after(previous.tokens.issued_at, tokens.issued_at)
        )
    record = TokenRecord(
        gitlab_url=app.url,
        client_id=app.client_id,
        tokens=tokens,
        username=username,
        obtained_at=now,
    )
    async with store.atransaction() as txn:
        txn.put(repo.name, record)
    return record


def _denied(error: str, description: str | None, where: str) -> LoginFailed:
    if error == "access_denied":
        return LoginFailed("access was denied in the browser; nothing was stored")
    detail = f": {description}" if description else ""
    return LoginFailed(f"{where} did not authorize pac-tui ({error}{detail}); nothing was stored")


def _exchange_error(exc: Exception, repo: Repository) -> PacTuiError:
    err = explain(exc, repo.gitlab, "exchange the authorization code")
    if isinstance(exc, OAuthError):
        # invalid_grant here means a stale code or a PKCE mismatch, not a lost session.
        return LoginFailed(f"{err}; nothing was stored")
    return type(err)(f"{err}; nothing was stored")


async def check_reachable(app: GitLabApp) -> None:
    """Fail fast, before a browser opens, when the instance cannot be reached at all."""
    try:
        async with http_client() as http:
            response = await http.get(app.authorize_url)
    except httpx.HTTPError as exc:
        raise explain(exc, app, "start the login") from None
    if response.status_code >= 500:
        raise ProviderUnavailable(
            f"{app.url} answered HTTP {response.status_code}; try the login again later"
        )
