"""Check an OAuth application's client ID (and secret) against the instance, with no user involved.

The token endpoint authenticates the client before it looks at the authorization code. So an
authorization-code request with a random code tells the two apart: ``invalid_grant`` means the
client was accepted and only the (bogus) code was not; ``invalid_client`` means the instance does
not know this client ID, or the secret is wrong or missing. Nothing is created at the instance.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from authlib.common.security import generate_token

from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import ProviderRejected, ProviderUnavailable
from pac_tui.gitlab.http import http_client, json_object
from pac_tui.oauth.client import explain

ACTION = "check the OAuth application"
_CLIENT_ERRORS = ("invalid_client", "unauthorized_client")


async def check_client(app: GitLabApp) -> None:
    """Return if `app.token_url` accepts the client credentials; raise `ProviderRejected` (wrong
    ID or secret, not a GitLab instance) or `ProviderUnavailable` (unreachable, 5xx) otherwise."""
    form = {
        "grant_type": "authorization_code",
        "code": secrets.token_urlsafe(32),
        "redirect_uri": app.redirect_uri,
        "code_verifier": generate_token(64),
        "client_id": app.client_id,
    }
    if app.client_secret is not None:
        form["client_secret"] = app.client_secret
    try:
        async with http_client() as http:
            response = await http.post(
                app.token_url, data=form, headers={"Accept": "application/json"}
            )
    except httpx.HTTPError as exc:
        raise explain(exc, app, ACTION) from None

    status = response.status_code
    if status >= 500:
        raise ProviderUnavailable(f"{app.url} answered HTTP {status}; try again later")
    body = json_object(response)
    error = body.get("error") if body else None
    if status == 404 or not isinstance(error, str):
        raise ProviderRejected(
            f"{app.token_url} answered HTTP {status} without an OAuth error; "
            "is this a GitLab instance URL?"
        )
    detail = _describe(body, app)
    if error == "invalid_grant":
        return  # the client passed; only the made-up code was refused
    if error == "invalid_request" and "code" in detail.lower():
        return  # some servers call a bad code a bad request, after authenticating the client
    if error in _CLIENT_ERRORS:
        if app.confidential:
            hint = (
                "check the Application ID and the Secret (GitLab shows the Secret once, at "
                "creation; 'Renew secret' makes a new one)"
            )
        else:
            hint = (
                "check the Application ID; if the application is confidential, "
                "the Secret is needed too"
            )
        raise ProviderRejected(
            f"{app.url} does not accept this application ({error}{detail}): {hint}"
        )
    raise ProviderRejected(f"{app.url} refused the check ({error}{detail})")


def _describe(body: dict[str, Any], app: GitLabApp) -> str:
    """The provider's error description, with the secret blanked in case a server echoes it."""
    text = body.get("error_description")
    if not isinstance(text, str) or not text.strip():
        return ""
    if app.client_secret:
        text = text.replace(app.client_secret, "…")
    return f": {text.strip()}"
