"""The config file: which GitLab OAuth applications and which repositories pac-tui manages.

The TOML format is a contract that other tools write (see README). Loading validates everything up
front, so a broken file gives one message naming the file, the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pac_tui.core.config.model import (
    DEFAULT_GITLAB_URL,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPES,
    TOKEN_MODES,
    Config,
    GatewayTable,
    GitLabApp,
    KubernetesBinding,
    Repository,
    TokenMode,
    WebhookSettings,
)
from pac_tui.core.config.signing import SIGNING_KEY, signing_key
from pac_tui.core.config.urls import ALLOW, check_gitlab_url, check_redirect_uri
from pac_tui.core.errors import ConfigError
from pac_tui.core.paths import config_path

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PROJECT_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$")

_GITLAB_KEYS = {
    "url",
    "client_id",
    "client_secret",
    "scopes",
    "redirect_uri",
    "allow_insecure_http",
}
_REPOSITORY_KEYS = {"name", "project", "gitlab", "webhook_secret", "kubernetes", SIGNING_KEY}
_KUBERNETES_KEYS = {"context", "namespace", "repository", "mode", "token_days", "gateway"}
_K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_WEBHOOK_KEYS = {"host", "port", "relay", "smee", "buffer", "retention", "journal_max_bytes"}
MIN_JOURNAL_BYTES = 1 << 20  # a budget under 1 MiB would prune at every batch
_GATEWAY_KEYS = {"upstream", "host", "port", "ca_bundle", "tls_cert", "tls_key"}


def load_config(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Load and validate the config (`core.paths.config_path` says where it is looked for)."""
    env = os.environ if env is None else env
    path, named = config_path(explicit, env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(path, None, "no such file") from None
        return _config_from_env(env)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read it: {exc}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None

    unknown = sorted(set(data) - {"gitlab", "repositories", "webhook", "gateway"})
    if unknown:
        raise ConfigError(
            path, unknown[0], "unknown key (known: gitlab, repositories, webhook, gateway)"
        )

    gitlab_table = data.get("gitlab", {})
    if not isinstance(gitlab_table, dict):
        raise ConfigError(path, "gitlab", "must be a table of [gitlab.NAME] tables")
    gitlab = {key: _gitlab_app(path, key, value) for key, value in gitlab_table.items()}

    repos_list = data.get("repositories", [])
    if not isinstance(repos_list, list):
        raise ConfigError(path, "repositories", "must be an array of [[repositories]] tables")
    repositories: list[Repository] = []
    seen: set[str] = set()
    for index, entry in enumerate(repos_list):
        repo = _repository(path, index, entry, gitlab)
        if repo.name in seen:
            raise ConfigError(
                path,
                f"repositories[{index}].name",
                f"{repo.name!r} is used twice; names are unique",
            )
        seen.add(repo.name)
        repositories.append(repo)
    webhook = _webhook(path, data.get("webhook", {}))
    gateway = _gateway(path, data.get("gateway", {}))
    return Config(
        path=path,
        gitlab=gitlab,
        repositories=tuple(repositories),
        webhook=webhook,
        gateway=gateway,
    )


def _webhook(path: Path | None, table: Any) -> WebhookSettings:
    if not isinstance(table, dict):
        raise ConfigError(path, "webhook", "must be a table")
    _reject_unknown(path, "webhook", table, _WEBHOOK_KEYS)
    defaults = WebhookSettings()
    host = _string(path, "webhook.host", table.get("host", defaults.host))
    port = _port(path, "webhook.port", table.get("port", defaults.port))
    urls = {}
    for key in ("relay", "smee"):
        value = table.get(key)
        if value is not None:
            value = _string(path, f"webhook.{key}", value)
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(path, f"webhook.{key}", f"{value!r} is not an http(s) URL")
        urls[key] = value
    sizes = {}
    for key in ("buffer", "retention"):
        value = table.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(path, f"webhook.{key}", "must be a whole number of deliveries ≥ 1")
        sizes[key] = value
    budget = table.get("journal_max_bytes", defaults.journal_max_bytes)
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < MIN_JOURNAL_BYTES:
        raise ConfigError(
            path,
            "webhook.journal_max_bytes",
            f"must be a whole number of bytes ≥ {MIN_JOURNAL_BYTES} (1 MiB), e.g. 1073741824",
        )
    return WebhookSettings(host=host, port=port, **urls, **sizes, journal_max_bytes=budget)


def _gateway(path: Path | None, table: Any) -> GatewayTable:
    if not isinstance(table, dict):
        raise ConfigError(path, "gateway", "must be a table")
    _reject_unknown(path, "gateway", table, _GATEWAY_KEYS)
    defaults = GatewayTable()
    upstream = table.get("upstream")
    files = {}
    for key in ("ca_bundle", "tls_cert", "tls_key"):
        value = table.get(key)
        files[key] = None if value is None else _file(path, f"gateway.{key}", value)
    if (files["tls_cert"] is None) != (files["tls_key"] is None):
        raise ConfigError(path, "gateway", "tls_cert and tls_key go together: give both or neither")
    return GatewayTable(
        upstream=None if upstream is None else _http_url(path, "gateway.upstream", upstream),
        host=_string(path, "gateway.host", table.get("host", defaults.host)),
        port=_port(path, "gateway.port", table.get("port", defaults.port)),
        **files,
    )


def _port(path: Path | None, key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ConfigError(path, key, "must be a port number, 0 to 65535")
    return value


def _http_url(path: Path | None, key: str, value: Any) -> str:
    """An http(s) URL with a host and no user info, query or fragment, without a trailing /."""
    value = _string(path, key, value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, key, f"{value!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(path, key, "must not carry user info, a query or a fragment")
    return value.rstrip("/")


def _file(path: Path | None, key: str, value: Any) -> Path:
    """A file path; a relative one is taken from the config file's folder."""
    name = Path(_string(path, key, value)).expanduser()
    if not name.is_absolute() and path is not None:
        name = path.parent / name
    return name


def _config_from_env(env: Mapping[str, str]) -> Config:
    """With no config file, the seed's variables define [gitlab.default] and no repositories."""
    if not env.get("GITLAB_CLIENT_ID"):
        return Config(path=None, gitlab={}, repositories=())
    table: dict[str, Any] = {"client_id": env["GITLAB_CLIENT_ID"]}
    for key, var in (
        ("url", "GITLAB_URL"),
        ("client_secret", "GITLAB_CLIENT_SECRET"),
        ("redirect_uri", "GITLAB_REDIRECT_URI"),
    ):
        if env.get(var):
            table[key] = env[var]
    allow_how = (
        f"write a config file whose [gitlab.default] table says {ALLOW} ($GITLAB_URL alone cannot)"
    )
    app = _gitlab_app(None, "default", table, allow_how)
    return Config(path=None, gitlab={"default": app}, repositories=())


def _gitlab_app(path: Path | None, key: str, table: Any, allow_how: str | None = None) -> GitLabApp:
    where = f"gitlab.{key}"
    if not isinstance(table, dict):
        raise ConfigError(path, where, "must be a table")
    _reject_unknown(path, where, table, _GITLAB_KEYS)

    url = _string(path, f"{where}.url", table.get("url", DEFAULT_GITLAB_URL))
    allow = table.get("allow_insecure_http", False)
    if not isinstance(allow, bool):
        raise ConfigError(path, f"{where}.allow_insecure_http", "must be true or false")
    check_gitlab_url(path, f"{where}.url", url, allow, allow_how or f"add {ALLOW} to [{where}]")

    client_id = table.get("client_id")
    if client_id is None:
        raise ConfigError(
            path, f"{where}.client_id", "missing: copy the Application ID from GitLab's app page"
        )
    client_id = _string(path, f"{where}.client_id", client_id)
    secret = table.get("client_secret")
    if secret is not None:
        secret = _string(path, f"{where}.client_secret", secret)

    scopes = table.get("scopes", list(DEFAULT_SCOPES))
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s.strip() and " " not in s for s in scopes)
    ):
        raise ConfigError(
            path, f"{where}.scopes", 'must be a non-empty list of scopes, e.g. ["api"]'
        )

    redirect = _string(
        path, f"{where}.redirect_uri", table.get("redirect_uri", DEFAULT_REDIRECT_URI)
    )
    check_redirect_uri(path, f"{where}.redirect_uri", redirect)

    return GitLabApp(
        key=key,
        url=url.rstrip("/"),
        client_id=client_id,
        client_secret=secret,
        scopes=tuple(scopes),
        redirect_uri=redirect,
        allow_insecure_http=allow,
    )


def _repository(
    path: Path | None, index: int, table: Any, gitlab: Mapping[str, GitLabApp]
) -> Repository:
    where = f"repositories[{index}]"
    if not isinstance(table, dict):
        raise ConfigError(path, where, "must be a table")
    _reject_unknown(path, where, table, _REPOSITORY_KEYS)

    if "name" not in table:
        raise ConfigError(path, f"{where}.name", "missing: every repository needs a unique name")
    name = _string(path, f"{where}.name", table["name"])
    if not NAME_RE.match(name):
        raise ConfigError(
            path, f"{where}.name", f"{name!r}: use letters, digits, '.', '_' and '-' only"
        )
    if "project" not in table:
        raise ConfigError(
            path, f"{where}.project", "missing: the GitLab project path, group/project"
        )
    project = _string(path, f"{where}.project", table["project"]).strip("/")
    if not PROJECT_RE.match(project):
        raise ConfigError(
            path, f"{where}.project", f"{project!r} is not a GitLab project path like group/project"
        )
    gitlab_key = _string(path, f"{where}.gitlab", table.get("gitlab", "default"))
    if gitlab_key not in gitlab:
        defined = ", ".join(gitlab) or "none"
        raise ConfigError(
            path,
            f"{where}.gitlab",
            f"{gitlab_key!r} is not defined under [gitlab] (defined: {defined})",
        )
    secret = table.get("webhook_secret")
    if secret is not None:
        secret = _string(path, f"{where}.webhook_secret", secret)
    signing = table.get(SIGNING_KEY)
    if signing is not None:
        signing = _string(path, f"{where}.{SIGNING_KEY}", signing)
        try:
            signing_key(signing)
        except ValueError as exc:  # says what is wrong, never the value
            raise ConfigError(path, f"{where}.{SIGNING_KEY}", str(exc)) from None
    binding = None
    if "kubernetes" in table:
        binding = _kubernetes(path, f"{where}.kubernetes", table["kubernetes"])
    return Repository(
        name=name,
        project=project,
        gitlab=gitlab[gitlab_key],
        webhook_secret=secret,
        kubernetes=binding,
        webhook_signing_token=signing,
    )


def parse_kubernetes_binding(table: Any, where: str, path: Path | None = None) -> KubernetesBinding:
    """A `[repositories.kubernetes]` table read exactly as the config loader reads it.

    Raises `ConfigError` (its key under `where`) when the table would be refused in the file.
    """
    return _kubernetes(path, where, table)


def _kubernetes(path: Path | None, where: str, table: Any) -> KubernetesBinding:
    if not isinstance(table, dict):
        raise ConfigError(path, where, "must be a table")
    _reject_unknown(path, where, table, _KUBERNETES_KEYS)
    names = {}
    for key in ("namespace", "repository"):
        if key not in table:
            what = "namespace" if key == "namespace" else "name of the PAC Repository resource"
            raise ConfigError(path, f"{where}.{key}", f"missing: the {what}")
        value = _string(path, f"{where}.{key}", table[key])
        if len(value) > 253 or not _K8S_NAME_RE.match(value):
            raise ConfigError(
                path, f"{where}.{key}", f"{value!r} is not a Kubernetes name (a-z, 0-9, -)"
            )
        names[key] = value
    mode = _string(path, f"{where}.mode", table.get("mode", TokenMode.PROJECT_TOKEN.value))
    if mode not in TOKEN_MODES:
        raise ConfigError(
            path, f"{where}.mode", f'{mode!r}: use "project-token" or "oauth" (see README)'
        )
    context = table.get("context")
    if context is not None:
        context = _string(path, f"{where}.context", context)
    gateway = table.get("gateway")
    if gateway is not None:
        gateway = _http_url(path, f"{where}.gateway", gateway)
        if mode != TokenMode.OAUTH:
            raise ConfigError(
                path,
                f"{where}.gateway",
                'the token gateway carries OAuth tokens: it needs mode = "oauth"',
            )
    days = table.get("token_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ConfigError(
            path, f"{where}.token_days", "must be a whole number of days, 1 to 365 (GitLab's limit)"
        )
    return KubernetesBinding(
        namespace=names["namespace"],
        repository=names["repository"],
        mode=TokenMode(mode),
        context=context,
        token_days=days,
        gateway=gateway,
    )


def _string(path: Path | None, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, key, "must be a non-empty string")
    return value.strip()


def _reject_unknown(path: Path | None, where: str, table: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            path, f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})"
        )
