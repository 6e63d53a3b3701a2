"""Device login (RFC 8628) for machines without a browser: GitLab ≥ 17.3.

The client asks `/oauth/authorize_device` for a device code and a short user code, shows the user
code and the verification URL, and polls `/oauth/token` with the device-code grant at the server's
`interval` (5 s more after each `slow_down`) until the user has answered in a browser anywhere.
The tokens are then stored exactly as a browser login stores them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import GitLabApp, Repository
from pac_tui.core.errors import LoginFailed, ProviderRejected, ProviderUnavailable
from pac_tui.core.models import TokenRecord, TokenSet
from pac_tui.gitlab.http import http_client, json_object
from pac_tui.oauth.client import explain
from pac_tui.oauth.login import store_grant
from pac_tui.stores.file_store import TokenStore

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: when the server names none
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5

Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True)
class DeviceAuthorization:
    """The answer of the device authorization endpoint. `device_code` is a secret: never shown."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: datetime
    interval: int = DEFAULT_INTERVAL

    @property
    def url_to_open(self) -> str:
        """The URL with the code filled in when the instance gives one, else the plain one."""
        return self.verification_uri_complete or self.verification_uri


def device_authorize_url(app: GitLabApp) -> str:
    return f"{app.url}/oauth/authorize_device"


def _unsupported(app: GitLabApp) -> LoginFailed:
    return LoginFailed(
        f"{app.url} does not support the device login (it needs GitLab 17.3 or later with the "
        f"device authorization grant enabled); log in with the browser instead: pac-tui login "
        "REPO (or --no-browser to print the URL to open elsewhere)"
    )


def _client_auth(app: GitLabApp) -> dict[str, str]:
    data = {"client_id": app.client_id}
    if app.confidential and app.client_secret:
        data["client_secret"] = app.client_secret  # client_secret_post, as for the other calls
    return data


async def start_device_authorization(app: GitLabApp, clock: Clock) -> DeviceAuthorization:
    """Ask the instance for a device code; `LoginFailed` when it has no device grant."""
    data = {**_client_auth(app), "scope": " ".join(app.scopes)}
    try:
        async with http_client() as http:
            response = await http.post(device_authorize_url(app), data=data)
    except httpx.HTTPError as exc:
        raise explain(exc, app, "start the device login") from None
    body = json_object(response) or {}
    error = body.get("error")
    if response.status_code in (404, 405) or error in ("unsupported_grant_type", "invalid_request"):
        raise _unsupported(app)
    if response.status_code >= 500:
        raise ProviderUnavailable(
            f"{app.url} answered HTTP {response.status_code} while trying to start the device "
            "login; try again later"
        )
    if error in ("invalid_client", "unauthorized_client"):
        raise ProviderRejected(
            f"{app.url} refused the application for the device login ({error}); check "
            f"client_id/client_secret of [gitlab.{app.key}], and that the application may use "
            "the device authorization grant"
        )
    if error or response.status_code != 200:
        detail = f" ({error})" if error else f" (HTTP {response.status_code})"
        raise ProviderRejected(f"{app.url} refused to start the device login{detail}")
    try:
        expires_in = int(body["expires_in"])
        interval = int(body.get("interval") or DEFAULT_INTERVAL)
        device_code, user_code = str(body["device_code"]), str(body["user_code"])
        verification_uri = str(body["verification_uri"])
    except (KeyError, TypeError, ValueError):
        raise ProviderRejected(
            f"{app.url} gave an answer that is not a device authorization response; is this "
            "the URL of a GitLab instance?"
        ) from None
    complete = body.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=verification_uri,
        verification_uri_complete=str(complete) if complete else None,
        expires_at=clock.now() + timedelta(seconds=expires_in),
        interval=max(interval, 1),
    )


def _expired() -> LoginFailed:
    return LoginFailed(
        "the code expired before it was entered; nothing was stored. Run the device login again "
        "for a new code"
    )


async def poll_device_token(
    app: GitLabApp,
    auth: DeviceAuthorization,
    clock: Clock,
    sleep: Sleep = asyncio.sleep,
) -> TokenSet:
    """Poll the token endpoint until the user answered; the new tokens, or `LoginFailed`."""
    interval = auth.interval
    data = {**_client_auth(app), "grant_type": DEVICE_GRANT, "device_code": auth.device_code}
    async with http_client() as http:
        while True:
            await sleep(interval)
            if clock.now() >= auth.expires_at:
                raise _expired()
            try:
                response = await http.post(app.token_url, data=data)
            except httpx.HTTPError as exc:
                raise explain(exc, app, "finish the device login") from None
            body = json_object(response) or {}
            error = body.get("error")
            if response.status_code == 200 and not error:
                try:
                    return TokenSet.from_response(body, clock.now(), app.scopes)
                except ValueError:
                    raise ProviderRejected(
                        f"{app.url} gave an answer that is not an OAuth token response"
                    ) from None
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if error == "access_denied":
                raise LoginFailed("access was denied in the browser; nothing was stored")
            if error == "expired_token":
                raise _expired()
            if error == "unsupported_grant_type" or response.status_code == 404:
                raise _unsupported(app)
            if response.status_code >= 500:
                raise ProviderUnavailable(
                    f"{app.url} answered HTTP {response.status_code} while waiting for the "
                    "device login; try again later"
                )
            description = body.get("error_description")
            detail = f": {description}" if description else ""
            what = error or f"HTTP {response.status_code}"
            raise LoginFailed(
                f"{app.url} did not authorize pac-tui ({what}{detail}); nothing was stored"
            )


async def device_login(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    *,
    on_code: Callable[[DeviceAuthorization], None],
    sleep: Sleep = asyncio.sleep,
) -> TokenRecord:
    """Run one device login for `repo` and store its tokens; returns the stored record.

    `on_code` receives the code and URLs to show. Nothing is stored unless the flow succeeds.
    """
    auth = await start_device_authorization(repo.gitlab, clock)
    on_code(auth)
    tokens = await poll_device_token(repo.gitlab, auth, clock, sleep)
    return await store_grant(repo, store, clock, tokens)
