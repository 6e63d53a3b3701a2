"""Signed webhooks: the one check of GitLab's webhook signature (Standard Webhooks 1.0).

When a hook has a signing token, GitLab sends `webhook-id` (its Idempotency-Key),
`webhook-timestamp` (Unix seconds) and `webhook-signature`: a space-separated list of
`v1,<base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">` entries, keyed with the token's
decoded key. A delivery passes when any `v1` entry matches (compared in constant time; `v1a`
asymmetric entries and unknown versions are skipped) and its timestamp is within 5 minutes of the
clock, either way: older is a replay.

Written from the specification with hmac and base64 rather than with the `standardwebhooks`
package: its `verify` reads the wall clock (the tolerance here follows the injected `Clock`),
decodes the body as text (a body that is not UTF-8 raises instead of failing the check), raises
`ValueError` on an entry without a comma (a 500 for anyone who sends one), and reports failures
as free text where the receiver needs to say which check failed. The spec's own test vectors
(tests/webhooks/test_signature.py) pin this to the reference implementation.

What is signed is the body's bytes as received, never re-serialized JSON. The problems are fixed
words: no key, token or signature ever goes into an answer, the journal or the log from here.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from pac_tui.core.config.signing import signing_key
from pac_tui.webhooks.summary import MAX_LINE
from pac_tui.webhooks.summary.fields import clean

TOLERANCE_SECONDS = 5 * 60
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SYMMETRIC = "v1"  # HMAC-SHA256; "v1a" (ed25519) is the asymmetric scheme, not GitLab's
_SECONDS = re.compile(r"[0-9]{1,15}", re.ASCII)


class SignatureProblem(enum.StrEnum):
    """Why a delivery fails the check: fixed words, safe in an answer, the journal and a log."""

    MISSING = "missing signature"  # a webhook-id, -timestamp or -signature header is absent
    MALFORMED_TIMESTAMP = "malformed timestamp"  # webhook-timestamp is not whole Unix seconds
    BAD = "bad signature"  # no v1 entry matches: wrong key, tampered body, id or timestamp
    STALE = "stale timestamp"  # signed more than 5 minutes ago: a replay
    FUTURE = "future timestamp"  # more than 5 minutes ahead of this clock


def _raw(value: str) -> bytes:
    # aiohttp decodes header bytes that are not UTF-8 with surrogateescape: sign what was sent.
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from JSON (a smee message): it matches nothing
        return value.encode("utf-8", "surrogatepass")


def signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    """The HMAC-SHA256 of `{msg_id}.{timestamp}.{body}` under `key` (raw bytes)."""
    mac = hmac.new(key, _raw(msg_id) + b"." + _raw(timestamp) + b".", hashlib.sha256)
    mac.update(body)  # fed apart: a 25 MB body is not copied to be signed
    return mac.digest()


def sign(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """A `webhook-signature` entry as GitLab sends it: `v1,<base64>`."""
    digest = signature(key, msg_id, str(timestamp), body)
    return f"{SYMMETRIC},{base64.b64encode(digest).decode('ascii')}"


def missing_headers(headers: Mapping[str, str]) -> list[str]:
    """The signature headers absent (or empty) from `headers` (names in any case)."""
    present = {name.lower() for name, value in headers.items() if value.strip()}
    return [name for name in SIGNATURE_HEADERS if name not in present]


def verify(
    key: bytes, headers: Mapping[str, str], body: bytes, now: datetime
) -> SignatureProblem | None:
    """None when `body` with these headers carries a valid, fresh signature under `key`.

    The signature is checked before the time: a stale timestamp is reported only for a delivery
    that was really signed with this key (a forged one is a bad signature, whatever its time).
    """
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    msg_id, stamp, sent = (lowered.get(name, "") for name in SIGNATURE_HEADERS)
    if not (msg_id and stamp and sent):
        return SignatureProblem.MISSING
    if not _SECONDS.fullmatch(stamp):
        return SignatureProblem.MALFORMED_TIMESTAMP
    expected = signature(key, msg_id, stamp, body)
    if not any(hmac.compare_digest(expected, given) for given in _v1_signatures(sent)):
        return SignatureProblem.BAD
    age = now.timestamp() - int(stamp)
    if age > TOLERANCE_SECONDS:
        return SignatureProblem.STALE
    if age < -TOLERANCE_SECONDS:
        return SignatureProblem.FUTURE
    return None


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded `v1` entries of a `webhook-signature` value; other versions and entries that
    are not `version,base64` are skipped."""
    found = []
    for entry in header.split(" "):
        version, comma, encoded = entry.partition(",")
        if version != SYMMETRIC or not comma:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def check(
    token: str | None, headers: Mapping[str, str], body: bytes, now: datetime
) -> SignatureProblem | None:
    """`verify` under a repository's `webhook_signing_token`; None when it has none (unsigned)."""
    return None if token is None else verify(signing_key(token), headers, body, now)


def rejected_line(line: str, problem: SignatureProblem, headers: Mapping[str, str]) -> str:
    """A delivery's summary line that says why its signature was refused (fixed words only)."""
    why = str(problem)
    if problem is SignatureProblem.MISSING:
        why += f" (no {', '.join(missing_headers(headers))})"
    suffix = f" · rejected: {why}"
    return clean(line, MAX_LINE - len(suffix)) + suffix
