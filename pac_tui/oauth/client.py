"""The OAuth client for one GitLab application, and the translation of its failures into ours.

authlib ≥ 1.9 prefers `httpx2` and warns once when it falls back to httpx. pac-tui uses httpx on
purpose (docs/ARCHITECTURE.md, Facts), so that one warning is silenced here and nowhere else.
`authlib.deprecate` re-enables its warnings when first imported, so it is imported before the
filter is set.
"""

from __future__ import annotations

import warnings

import authlib.deprecate

warnings.filterwarnings(
    "ignore",
    message="The httpx module is deprecated",
    category=authlib.deprecate.AuthlibDeprecationWarning,
)

from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError  # noqa: E402

from pac_tui.core.config import GitLabApp  # noqa: E402
from pac_tui.core.errors import NeedsLogin, PacTuiError, ProviderRejected  # noqa: E402
from pac_tui.gitlab.http import client_options, explain_http  # noqa: E402

__all__ = ["AsyncOAuth2Client", "OAuthError", "explain", "oauth_client"]


def oauth_client(app: GitLabApp, redirect_uri: str | None = None) -> AsyncOAuth2Client:
    """A client for `app`: PKCE S256 always; `client_secret_post` with a secret, `none` without."""
    method = "client_secret_post" if app.confidential else "none"
    return AsyncOAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        scope=" ".join(app.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        **client_options(),
    )


def explain(exc: BaseException, app: GitLabApp, action: str) -> PacTuiError:
    """Turn a failure of an OAuth call into an error a person can act on, without token values."""
    where = app.url
    if isinstance(exc, OAuthError):
        code = exc.error or "error"
        detail = f": {exc.description}" if exc.description else ""
        if code == "invalid_grant":
            return NeedsLogin(f"{where} no longer accepts this grant (invalid_grant{detail})")
        if code in ("invalid_client", "unauthorized_client"):
            return ProviderRejected(
                f"{where} refused the application while trying to {action} ({code}{detail}); "
                f"check client_id/client_secret of [gitlab.{app.key}] against the application "
                "registered in GitLab"
            )
        return ProviderRejected(f"{where} refused to {action} ({code}{detail})")
    return explain_http(exc, app, action)
