"""The request target, kept byte for byte: GitLab paths carry ``%2F`` (``group%2Fproject``).

aiohttp decodes ``request.path``; only ``request.raw_path`` (the target as it came off the wire)
keeps ``%2F`` and the query exactly, so the forwarder works from that string alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

# An absolute-form target (``GET http://host/x HTTP/1.1``, what clients send to a proxy).
ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
PRIVATE_TOKEN_PARAM = "private_token"  # noqa: S105 - a parameter name


class BadTarget(ValueError):
    """A request target the gateway does not forward (``*``, ``host:port``)."""


@dataclass(frozen=True)
class Target:
    """A request target split into its raw path and raw query (no ``?``; "" when none)."""

    path: str
    query: str


def split_target(raw: str) -> Target:
    """Split a raw request target into path and query, dropping any scheme and authority.

    An absolute-form target keeps only its path and query: the gateway never connects to the
    host it names (it is not an open proxy). A fragment, which no client should send, is dropped.
    """
    if not raw.startswith("/"):
        match = ABSOLUTE_FORM.match(raw)
        if match is None:
            raise BadTarget(raw)
        raw = raw[match.end() :] or "/"
        if not raw.startswith("/"):  # "http://host?q" has an empty path
            raw = "/" + raw
    raw = raw.partition("#")[0]
    path, _, query = raw.partition("?")
    return Target(path=path, query=query)


def _name(field: str) -> str:
    return unquote_plus(field.partition("=")[0])


def take_private_token(query: str) -> tuple[str | None, str]:
    """The ``private_token`` parameter's value (the last one, as Rails reads it) and the query
    without any ``private_token`` parameter; every other byte of the query is kept as it was.

    Names are compared decoded (``private%5Ftoken`` is the same parameter to Rails). Only ``&``
    separates parameters here (go-gitlab never puts a token in the query at all)."""
    if not query:
        return None, query
    token: str | None = None
    kept: list[str] = []
    for field in query.split("&"):
        if _name(field) == PRIVATE_TOKEN_PARAM:
            token = unquote_plus(field.partition("=")[2])
        else:
            kept.append(field)
    return token, "&".join(kept)


def loggable(target: Target) -> str:
    """The path with only the names of the query's parameters: never a value (a value may be a
    token, ``private_token=…``, or anything else a client put there)."""
    if not target.query:
        return target.path
    names = [_name(field)[:64] for field in target.query.split("&") if field]
    return f"{target.path}?{'&'.join(_printable(name) for name in names)}"


def _printable(text: str) -> str:
    """Decoded names may hold control characters: escape them, a log line stays one line."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
