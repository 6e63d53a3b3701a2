"""The config's model: the OAuth applications, the repositories and their bindings, as loaded.

`load` builds these from the TOML file and checks them; `write` edits the file they came from.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pac_tui.core.config.urls import insecure_http
from pac_tui.core.errors import UsageError

DEFAULT_GITLAB_URL = "https://gitlab.com"
DEFAULT_REDIRECT_URI = "http://127.0.0.1/callback"
DEFAULT_SCOPES = ("api",)


class TokenMode(enum.StrEnum):
    """What a bound repository's Secret gives PAC; the values are the config's.

    See docs/ARCHITECTURE.md, Facts: unmodified PAC sends its token as `Private-Token`.
    """

    # A project access token pac-tui mints and rotates (works with today's PAC).
    PROJECT_TOKEN = "project-token"  # noqa: S105 (a mode's name, not a password)
    # The OAuth access token itself, refreshed before expiry.
    OAUTH = "oauth"


TOKEN_MODES = tuple(mode.value for mode in TokenMode)


@dataclass(frozen=True)
class GitLabApp:
    """One OAuth application registered on one GitLab instance."""

    key: str
    url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    redirect_uri: str = DEFAULT_REDIRECT_URI
    allow_insecure_http: bool = False  # plain http to a host that is not this machine, on purpose

    @property
    def confidential(self) -> bool:
        return self.client_secret is not None

    @property
    def in_clear(self) -> bool:
        """Whether the client secret and the tokens cross a network unencrypted: plain http to a
        host other than this machine (only loaded with `allow_insecure_http`)."""
        return insecure_http(self.url)

    def insecure_warning(self) -> str | None:
        """The warning for an instance allowed on plain http, or None."""
        if not self.in_clear:
            return None
        return (
            f"[gitlab.{self.key}] {self.url} is plain http (allow_insecure_http = true): the OAuth "
            f"client secret and every token cross the network in clear; use https:// if it can"
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}/oauth/revoke"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@dataclass(frozen=True)
class KubernetesBinding:
    """The `[repositories.kubernetes]` table: the PAC `Repository` whose Secret pac-tui keeps.

    `mode` says what goes into the Secret's provider key (docs/ARCHITECTURE.md, Facts): a project
    access token that pac-tui mints and rotates (works with today's PAC), or the OAuth access token
    itself (for a PAC that sends Bearer tokens). `token_days` is the lifetime of minted project
    tokens.
    """

    namespace: str
    repository: str
    mode: TokenMode = TokenMode.PROJECT_TOKEN
    context: str | None = None
    token_days: int = 30
    # oauth mode: the URL PAC reaches pac-tui's token gateway at (`spec.git_provider.url`).
    gateway: str | None = None

    @property
    def key(self) -> str:
        """`namespace/name` of the PAC Repository, as `PacRepository.key` spells it."""
        return f"{self.namespace}/{self.repository}"


@dataclass(frozen=True)
class Repository:
    """A GitLab project that pac-tui holds tokens for."""

    name: str
    project: str
    gitlab: GitLabApp
    webhook_secret: str | None = field(default=None, repr=False)
    kubernetes: KubernetesBinding | None = None
    # `whsec_…`: the receiver then requires GitLab's webhook signature (see core.config.signing).
    webhook_signing_token: str | None = field(default=None, repr=False)

    @property
    def signs_webhooks(self) -> bool:
        """Whether deliveries must carry a valid signature; all that is ever shown of the token."""
        return self.webhook_signing_token is not None


@dataclass(frozen=True)
class WebhookSettings:
    """The `[webhook]` table: where the receiver listens and where deliveries go next."""

    host: str = "127.0.0.1"
    port: int = 8080
    relay: str | None = None  # the PAC controller's URL: accepted deliveries are forwarded there
    smee: str | None = None  # a smee.io / gosmee channel to subscribe to
    buffer: int = 10_000  # deliveries kept in the dashboard's log pane
    retention: int = 1_000_000  # deliveries kept in the journal
    journal_max_bytes: int = 1 << 30  # the journal's rows kept within this (oldest go first)


@dataclass(frozen=True)
class GatewayTable:
    """The `[gateway]` table: defaults for `pac-tui gateway` (its flags override them).

    `upstream` is the one GitLab the gateway forwards to; without it, the `[gitlab]` instance when
    exactly one is configured.
    """

    upstream: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - it serves PAC from inside the cluster
    port: int = 8080
    ca_bundle: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None
    gitlab: Mapping[str, GitLabApp]
    repositories: tuple[Repository, ...]
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    gateway: GatewayTable = field(default_factory=GatewayTable)

    def repository_for_project(
        self, project: str, instance: str | None = None
    ) -> Repository | None:
        """The configured repository for a GitLab project path (case-insensitive).

        When several instances host the same path, `instance` (X-Gitlab-Instance) decides.
        """
        wanted = project.strip("/").casefold()
        matches = [r for r in self.repositories if r.project.casefold() == wanted]
        if len(matches) > 1 and instance:
            on_instance = [r for r in matches if r.gitlab.url == instance.rstrip("/")]
            matches = on_instance or matches
        return matches[0] if matches else None

    def find(self, name: str) -> Repository | None:
        return next((repo for repo in self.repositories if repo.name == name), None)

    def repository(self, name: str) -> Repository:
        repo = self.find(name)
        if repo is not None:
            return repo
        known = ", ".join(r.name for r in self.repositories) or "none configured"
        where = f" in {self.path}" if self.path else ""
        raise UsageError(f"no repository named {name!r}{where} (known: {known})")
