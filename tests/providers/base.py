"""What every test OAuth provider offers the tests, whichever implementation runs behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OAuthApp:
    """One registered OAuth application. `client_secret` is None for a non-confidential one."""

    client_id: str
    client_secret: str | None
    redirect_uri: str = "http://127.0.0.1/callback"
    scopes: tuple[str, ...] = ("api",)


class Provider(Protocol):
    """A running provider.

    - `url`: base URL (``http://127.0.0.1:PORT``); GitLab's paths live under it:
      ``/oauth/authorize``, ``/oauth/token``, ``/oauth/revoke``.
    - `confidential` / `public`: two registered apps, both with redirect URI
      ``http://127.0.0.1/callback``; any port on 127.0.0.1 is accepted (RFC 8252 §7.3, as GitLab).
    - `username` / `password`: the one resource owner; the login page has a form with inputs
      named ``username`` and ``password`` and a submit button; the consent page has buttons whose
      text is exactly ``Authorize`` and ``Deny`` (as GitLab's). Deny redirects with
      ``error=access_denied`` and the state.
    """

    name: str
    url: str
    confidential: OAuthApp
    public: OAuthApp
    username: str
    password: str
    access_token_lifetime: int

    def is_active(self, token: str) -> bool:
        """True if the provider still accepts this access or refresh token (its own records)."""

    def token_requests(self, grant_type: str) -> int:
        """How many requests with this grant_type reached /oauth/token since start (any outcome)."""
