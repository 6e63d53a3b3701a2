"""Adding a repository to the config file without losing anything already in it.

The onboarding walkthrough writes here. What the user wrote stays byte for byte: the new
`[gitlab.KEY]` (when needed) and `[[repositories]]` tables are appended at the end of the file.
Only when the file's own layout makes that invalid TOML (inline tables, a static array) is the
document edited in place with tomlkit, which still keeps comments. The result is validated with
`parse_config` before anything is written, so pac-tui never writes a file it would refuse, and it
is written atomically with mode 0600 (it may hold a client secret and webhook secrets).

`pac-tui onboard` records a repository's `[repositories.kubernetes]` table here too
(`set_binding`), and the webhook secret it set when pac-tui's receiver relays to PAC
(`set_webhook_secret`) and the signing token it set on the hook (`set_webhook_signing_token`):
edited in place with tomlkit, validated and written the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Container, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import TOMLKitError

from pac_tui.core.config.load import NAME_RE, PROJECT_RE, parse_config
from pac_tui.core.config.model import Config
from pac_tui.core.config.urls import ALLOW, insecure_http
from pac_tui.core.errors import ConfigError, PacTuiError, UsageError

NEW_FILE_HEADER = (
    "# pac-tui config: GitLab OAuth applications and the repositories pac-tui keeps tokens for.\n"
    "# Format: see the README, section Configure.\n"
)


# ---- checks the walkthrough shows in place (plain messages, no file involved) ----------------


def normalize_gitlab_url(text: str, allowed_http: Container[str] = ()) -> str:
    """The instance URL as the config stores it, or `ValueError` saying what is wrong.

    Plain http to another machine is refused (`urls.insecure_http`) unless the URL is in
    `allowed_http`: the config's instances that say `allow_insecure_http = true`.
    """
    url = text.strip()
    if not url:
        raise ValueError("enter the URL of your GitLab instance, e.g. https://gitlab.com")
    if "://" not in url:
        raise ValueError(f"{url!r} has no scheme: did you mean https://{url.rstrip('/')} ?")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} must start with https:// (or http://)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    if not parts.hostname or " " in url:
        raise ValueError(f"{url!r} has no valid host name")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("the URL must not carry a query, a fragment or user info")
    url = url.rstrip("/")
    if insecure_http(url) and url not in allowed_http:
        raise ValueError(
            "plain http to another machine would send the client secret and every token in "
            "clear: use https:// (to accept the risk, write its [gitlab.NAME] table in the "
            f"config by hand, with {ALLOW})"
        )
    return url


def check_project(text: str) -> str:
    """The project path (``group/sub/project``), or `ValueError` saying what is wrong."""
    project = text.strip().strip("/")
    if not project:
        raise ValueError("enter the project's path as shown in its URL, e.g. group/project")
    if project.startswith(("http://", "https://")):
        path = urlsplit(project).path.strip("/").removesuffix(".git")
        raise ValueError(f"give the path only, without the instance URL: {path}")
    if not PROJECT_RE.match(project):
        raise ValueError(
            f"{project!r} is not a GitLab project path like group/project or group/sub/project "
            "(letters, digits, '.', '_', '-', separated by '/')"
        )
    return project


def check_name(text: str, taken: Iterable[str]) -> str:
    """The repository's name for pac-tui commands, or `ValueError` saying what is wrong."""
    name = text.strip()
    if not name:
        raise ValueError("enter a short name; pac-tui commands take it (pac-tui login NAME)")
    if not NAME_RE.match(name):
        raise ValueError(f"{name!r}: use letters, digits, '.', '_' and '-' only")
    if name in set(taken):
        raise ValueError(f"a repository named {name!r} is already configured; pick another name")
    return name


def suggest_name(project: str, taken: Iterable[str] = ()) -> str:
    """A name for the repository: the project's last path segment, unique among `taken`."""
    last = project.strip().strip("/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", last).lstrip("._-") or "repo"
    taken = set(taken)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


# ---- the writer ---------------------------------------------------------------------------------


def add_repository(
    path: Path,
    *,
    gitlab_url: str,
    client_id: str,
    client_secret: str | None,
    name: str,
    project: str,
    webhook_secret: str | None,
) -> str:
    """Add one repository (and its GitLab application when new) to the config at `path`.

    Returns the `[gitlab.KEY]` the repository uses: an existing one with the same URL, client ID
    and secret, else a new one (``default`` if free, else named after the host). Raises
    `ConfigError` when the existing file is broken (it is left untouched), `UsageError` when the
    name is taken, `PacTuiError` when the file cannot be written.
    """
    url = gitlab_url.strip().rstrip("/")
    text = _read(path)
    existing = parse_config(text, path)  # a broken file stops here, untouched
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:  # tomllib accepted it; tomlkit is stricter in rare corners
        raise ConfigError(path, None, f"cannot be edited safely: {exc}") from None

    if any(repo.name == name for repo in existing.repositories):
        raise UsageError(f"{path}: a repository named {name!r} is already configured")

    key = _matching_app(existing, url, client_id, client_secret)
    new_app: dict[str, Any] | None = None
    if key is None:
        key = _new_key(existing, url)
        new_app = {"url": url, "client_id": client_id}
        if client_secret is not None:
            new_app["client_secret"] = client_secret
    new_repo: dict[str, Any] = {"name": name, "project": project, "gitlab": key}
    if webhook_secret is not None:
        new_repo["webhook_secret"] = webhook_secret

    new_text = _appended(text, key, new_app, new_repo)
    if new_text is None:
        new_text = _edited(document, key, new_app, new_repo)
    parse_config(new_text, path)  # never write what pac-tui would refuse to read
    _write_atomically(path, new_text)
    return key


def set_binding(path: Path, repo_name: str, table: Mapping[str, Any]) -> None:
    """Make `table` the `[repositories.kubernetes]` table of the repository named `repo_name`.

    The rest of the file, comments included, is kept (tomlkit); the keys are written in the order
    of `table`. Raises `ConfigError` when the file is broken (it is left untouched), `UsageError`
    when no repository has that name, `PacTuiError` when the file cannot be written.
    """
    text = _read(path)
    parse_config(text, path).repository(repo_name)  # a broken file or unknown name stops here
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:  # tomllib accepted it; tomlkit is stricter in rare corners
        raise ConfigError(path, None, f"cannot be edited safely: {exc}") from None
    entry = next(e for e in document["repositories"] if e.get("name") == repo_name)
    entry["kubernetes"] = _table(table)
    new_text = tomlkit.dumps(document)
    parse_config(new_text, path)  # never write what pac-tui would refuse to read
    _write_atomically(path, new_text)


def set_webhook_secret(path: Path, repo_name: str, value: str) -> None:
    """Make `value` the `webhook_secret` of the repository named `repo_name`, so pac-tui's own
    receiver checks deliveries against the secret PAC checks them against.

    Kept, validated and written as `set_binding` does (the file is mode 0600: it holds secrets).
    """
    _set_secret(path, repo_name, "webhook_secret", value)


def set_webhook_signing_token(path: Path, repo_name: str, value: str) -> None:
    """Make `value` (`whsec_…`) the `webhook_signing_token` of the repository named `repo_name`:
    the receiver then requires the signature GitLab makes with it. Written as `set_webhook_secret`.
    """
    _set_secret(path, repo_name, "webhook_signing_token", value)


def _set_secret(path: Path, repo_name: str, key: str, value: str) -> None:
    text = _read(path)
    parse_config(text, path).repository(repo_name)  # a broken file or unknown name stops here
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(path, None, f"cannot be edited safely: {exc}") from None
    entry = next(e for e in document["repositories"] if e.get("name") == repo_name)
    entry[key] = value
    new_text = tomlkit.dumps(document)
    if getattr(parse_config(new_text, path).repository(repo_name), key) != value:
        raise ConfigError(path, None, f"cannot be edited safely: the {key} did not land")
    _write_atomically(path, new_text)


def remove_repository(path: Path, repo_name: str) -> bool:
    """Remove the `[[repositories]]` entry named `repo_name` (its binding and webhook secret go
    with it); False when the file has no such entry. The rest of the file, comments included,
    is kept (tomlkit), validated and written as `set_binding` does; a `[gitlab.KEY]` table stays
    even when no repository uses it any more (other tools of the user's may)."""
    text = _read(path)
    config = parse_config(text, path)  # a broken file stops here, untouched
    if all(repo.name != repo_name for repo in config.repositories):
        return False
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(path, None, f"cannot be edited safely: {exc}") from None
    entries = document["repositories"]
    index = next(i for i, e in enumerate(entries) if e.get("name") == repo_name)
    del entries[index]
    if not entries:
        del document["repositories"]
    new_text = tomlkit.dumps(document)
    if any(r.name == repo_name for r in parse_config(new_text, path).repositories):
        raise ConfigError(path, None, "cannot be edited safely: the repository is still there")
    _write_atomically(path, new_text)
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read it: {exc}") from None


def _matching_app(config: Config, url: str, client_id: str, secret: str | None) -> str | None:
    for key, app in config.gitlab.items():
        if app.url == url and app.client_id == client_id and app.client_secret == secret:
            return key
    return None


def _new_key(config: Config, url: str) -> str:
    if "default" not in config.gitlab:
        return "default"
    parts = urlsplit(url)
    host = f"{parts.hostname}-{parts.port}" if parts.port else str(parts.hostname)
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", host).strip("-") or "gitlab"
    key, n = base, 2
    while key in config.gitlab:
        key, n = f"{base}-{n}", n + 1
    return key


def _tables(key: str, app: dict[str, Any] | None, repo: dict[str, Any]) -> str:
    """The new tables as TOML text (tomlkit quotes the values)."""
    snippet = tomlkit.document()
    if app is not None:
        gitlab = tomlkit.table(is_super_table=True)
        gitlab.append(key, _table(app))
        snippet.append("gitlab", gitlab)
    repositories = tomlkit.aot()
    repositories.append(_table(repo))
    snippet.append("repositories", repositories)
    return tomlkit.dumps(snippet)


def _table(values: Mapping[str, Any]) -> Any:
    table = tomlkit.table()
    for name, value in values.items():
        table.add(name, value)
    return table


def _appended(text: str, key: str, app: dict[str, Any] | None, repo: dict[str, Any]) -> str | None:
    """The file with the new tables added at its end, or None if that is not valid TOML here."""
    head = text.rstrip()
    prefix = f"{head}\n\n" if head else NEW_FILE_HEADER + "\n"
    candidate = prefix + _tables(key, app, repo)
    try:
        tomllib.loads(candidate)
    except tomllib.TOMLDecodeError:
        return None
    return candidate


def _edited(document: Any, key: str, app: dict[str, Any] | None, repo: dict[str, Any]) -> str:
    """The document edited in place: for files whose tables are inline or arrays are static."""
    if app is not None:
        if "gitlab" not in document:
            document.append("gitlab", tomlkit.table(is_super_table=True))
        document["gitlab"][key] = app
    if "repositories" not in document:
        document.append("repositories", tomlkit.aot())
    document["repositories"].append(repo)
    return tomlkit.dumps(document)


def _write_atomically(path: Path, text: str) -> None:
    """Temp file (0600) in the same directory, fsync, rename over, fsync the directory."""
    target = path.resolve() if path.is_symlink() else path  # keep a dotfile manager's symlink
    parent = target.parent
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise PacTuiError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PacTuiError(f"cannot write {path}: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
