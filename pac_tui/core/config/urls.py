"""The URLs of a `[gitlab.NAME]` table: the instance's, and the OAuth redirect URI.

An instance reached over plain http to another machine sends the OAuth client secret and every
access and refresh token across the network in clear: the config refuses it unless the table
says `allow_insecure_http = true`, and then every command warns about it. Plain http to this
machine (a port-forward, a test instance) never leaves it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pac_tui.core.errors import ConfigError

# The hosts GitLab treats as loopback in a redirect URI (its port may then differ).
LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})
ALLOW = "allow_insecure_http = true"


def is_loopback_host(host: str) -> bool:
    """This machine: `localhost`, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_http(url: str) -> bool:
    """Plain http to a host that is not this machine: what it sends, anyone on the way reads."""
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


def check_gitlab_url(path: Path | None, key: str, url: str, allowed: bool, allow_how: str) -> None:
    """Raise `ConfigError` unless `url` is an http(s) URL of an instance, and https or loopback
    unless plain http is `allowed`; `allow_how` says how to allow it."""
    parts = urlsplit(url)
    if parts.username or parts.password:  # said without the URL: it holds a credential
        raise ConfigError(
            path, key, "must not carry user info (user:password@): pac-tui never sends it"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, key, f"{url!r} is not an http(s) URL of a GitLab instance")
    if parts.query or parts.fragment:
        raise ConfigError(path, key, "must not have a query or fragment")
    if insecure_http(url) and not allowed:
        raise ConfigError(
            path,
            key,
            f"{url!r} is plain http to another machine: the OAuth client secret and every access "
            "and refresh token would cross the network in clear. Use https://; to accept the "
            f"risk deliberately (a lab instance on a network you trust), {allow_how}",
        )


def check_redirect_uri(path: Path | None, key: str, uri: str) -> None:
    parts = urlsplit(uri)
    if parts.username or parts.password:  # said without the URI: it may hold a credential
        raise ConfigError(path, key, "must not carry user info (user:password@)")
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in LOOPBACK_NAMES:
        raise ConfigError(
            path,
            key,
            f"{uri!r} must be http on a loopback host (127.0.0.1, [::1] or localhost), "
            "e.g. http://127.0.0.1/callback: pac-tui receives the browser's answer itself",
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(path, key, f"{uri!r} has an invalid port") from None
    if host == "localhost" and port is None:
        raise ConfigError(
            path,
            key,
            f"{uri!r}: GitLab matches localhost redirect URIs exactly, port included; "
            "give a port or use http://127.0.0.1/callback (any free port then works)",
        )
    if parts.query or parts.fragment:
        raise ConfigError(path, key, f"{uri!r} must not carry a query or fragment")
