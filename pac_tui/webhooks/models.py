"""What the webhook parts hand each other: one delivery, as received and as journaled."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 (a header name, not a secret)
REDACTED = "[redacted]"

# Headers whose value is a credential: never stored, shown or logged. Besides these names, any
# name with one of `_CREDENTIAL_WORDS` in it counts (X-Api-Key, X-Auth-Token, X-Session-Id...).
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "job-token",
        "private-token",
        "proxy-authorization",
        "set-cookie",
        "x-gitlab-token",
    }
)
_CREDENTIAL_WORDS = re.compile(r"token|secret|passw|auth|cookie|session|credential|api[-_]?key")
# What a terminal would act on instead of showing: C0 controls (ESC starts CSI and OSC, NUL,
# CR, LF...), DEL, C1 controls (U+009B is a one-character CSI), zero-width characters, the line
# and paragraph separators, and the BiDi embeddings, overrides and isolates.
UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"  # token matched the repository's webhook_secret
    UNVERIFIED = "unverified"  # the repository has no webhook_secret configured
    UNKNOWN_REPO = "unknown-repo"  # no configured repository has this project
    REJECTED = "rejected"  # wrong or missing X-Gitlab-Token: answered 401
    MALFORMED = "malformed"  # not JSON (or not a JSON object): answered 400


@dataclass(frozen=True)
class Summary:
    """One readable line for a delivery, and what PAC would make of it."""

    line: str
    project: str | None = None  # path_with_namespace, when the payload names one
    pac_event: str | None = None  # e.g. "push", "pull_request", "retest-comment"; None: ignored
    pac_command: str | None = None  # "/retest", "/test", "/ok-to-test", "/cancel" in a note


@dataclass(frozen=True)
class Delivery:
    """A delivery as the journal keeps it. `headers` never holds the token's value."""

    received_at: datetime
    kind: str  # the X-Gitlab-Event header ("" when absent)
    verdict: Verdict
    summary: str
    headers: dict[str, str]
    body: bytes
    repo: str | None = None  # configured repository name
    project: str | None = None
    pac_event: str | None = None
    idempotency_key: str | None = None
    event_uuid: str | None = None
    source: str = "http"  # "http" or "smee"
    id: int | None = None  # journal row id, once stored
    redeliveries: int = 0
    relay_status: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def safe_text(value: str) -> str:
    """`value` as text SQLite and JSON can take: valid UTF-8, no lone surrogate.

    aiohttp decodes header bytes that are not UTF-8 with `surrogateescape` (b"\\xff" becomes
    "\\udcff"), and Python's json accepts lone surrogates in a payload; SQLite refuses both. Each
    byte that is not UTF-8 becomes U+FFFD.
    """
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate outside the escape range (from JSON, say)
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def without_controls(text: str) -> str:
    """`text` with every character a terminal would act on (`UNSAFE_CHARS`), and any other that
    is not printable, replaced by a space: the summaries' sanitizer (summary/fields.py)."""
    if text.isascii() and text.isprintable():  # the common case, in C: for ASCII, exactly
        return text  # the characters UNSAFE_CHARS does not match
    text = UNSAFE_CHARS.sub(" ", text)
    if not text.isprintable():  # rare: unassigned, private-use, lone surrogates, odd spaces
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text


def printable(value: str) -> str:
    """`value` as a terminal may show it: `safe_text`, then `without_controls`. Everything
    `pac-tui events` (and `webhook serve`, replay, the smee source) prints from a delivery or a
    sender goes through it."""
    return without_controls(safe_text(value))


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` with every name and value through `safe_text`."""
    return {safe_text(name): safe_text(value) for name, value in headers.items()}


@functools.lru_cache(maxsize=1024)  # the same few dozen names on every delivery
def is_credential(name: str) -> bool:
    """Whether a header of this name carries a credential (its value is then redacted)."""
    lowered = name.strip().lower()
    return lowered in CREDENTIAL_HEADERS or _CREDENTIAL_WORDS.search(lowered) is not None


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as they may be stored and shown: every credential's value is replaced."""
    return {name: (REDACTED if is_credential(name) else value) for name, value in headers.items()}
