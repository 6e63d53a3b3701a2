"""What a sender nobody can vouch for may cost: stored bytes, and how often it may be refused.

A delivery that was rejected (wrong or missing token), is for a project no repository has, or is
not a JSON object could come from anyone. The journal keeps it as evidence, but at most
`UNVOUCHED_LIMIT` bytes of its body and of its headers (what was cut is said in `extra`), and the
receiver answers 429, storing nothing, to a source that keeps sending deliveries it refuses
(`RefusalLimiter`, a token bucket per address).

Slow clients (`ConnectionLimits`): a connection may sit idle, or take to send its request line and
headers, at most `keepalive_s` (aiohttp's keep-alive timer starts when the connection opens and
after each answer, and bytes arriving do not reset it); the body must arrive within `body_s`
(else 408); a receiver keeps at most `max_connections` open (one more gets a 503 and is closed).
GitLab sends a whole delivery at once and gives the answer 10 s, so none of this slows it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from pac_tui.webhooks.models import Delivery, Verdict

UNVOUCHED_LIMIT = 64 * 1024  # bytes of body, and of headers, kept of an unvouched delivery
UNVOUCHED = frozenset({Verdict.REJECTED, Verdict.UNKNOWN_REPO, Verdict.MALFORMED})
REFUSED = frozenset({Verdict.REJECTED, Verdict.MALFORMED})  # the ones answered 4xx

REFUSAL_BURST = 20  # refused deliveries a source may send at once
REFUSAL_RATE = 0.5  # and then per second
MAX_SOURCES = 10_000  # addresses remembered (the least recently refused are forgotten first)

KEEPALIVE_S = 5.0  # idle between requests, and to send a request's head
BODY_S = 60.0  # to send a request's body (25 MB at ~420 kB/s)
MAX_CONNECTIONS = 1024  # open connections per receiver (per process under --workers N)


@dataclass(frozen=True)
class ConnectionLimits:
    """What a slow or idle client may hold of a receiver (injected by tests to be fast)."""

    keepalive_s: float = KEEPALIVE_S
    body_s: float = BODY_S
    max_connections: int = MAX_CONNECTIONS


def cap_unvouched(delivery: Delivery, limit: int = UNVOUCHED_LIMIT) -> Delivery:
    """`delivery` as the journal may keep it: unvouched ones cut to `limit` bytes of body and of
    headers (names and values), whole ones unchanged."""
    if delivery.verdict not in UNVOUCHED:
        return delivery
    cut: dict[str, str] = {}
    body = delivery.body
    if len(body) > limit:
        cut["body_truncated"] = f"{len(body)} bytes, {limit} kept"
        body = body[:limit]
    headers: dict[str, str] = {}
    room = limit
    total = 0
    for name, value in delivery.headers.items():
        size = len(name.encode()) + len(value.encode())
        total += size
        if room <= 0:
            continue
        if size > room:
            value = value.encode()[: max(0, room - len(name.encode()))].decode("utf-8", "ignore")
            size = room
        headers[name] = value
        room -= size
    if total > limit:
        cut["headers_truncated"] = f"{total} bytes, {limit} kept"
    if not cut:
        return delivery
    return replace(delivery, body=body, headers=headers, extra={**delivery.extra, **cut})


class RefusalLimiter:
    """A token bucket per source address for the deliveries the receiver refuses.

    `allow(source, now)` spends one token of `source`'s bucket (`burst` tokens, refilled at
    `rate` a second): False means answer 429 and store nothing. Accepted deliveries never spend
    any, so a sender that gets it right is never slowed by one that does not.
    """

    def __init__(
        self, burst: int = REFUSAL_BURST, rate: float = REFUSAL_RATE, sources: int = MAX_SOURCES
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.sources = sources
        self._buckets: OrderedDict[str, tuple[float, datetime]] = OrderedDict()

    def allow(self, source: str, now: datetime) -> bool:
        tokens, then = self._buckets.pop(source, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, (now - then).total_seconds()) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.sources:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, source: str) -> int:
        """Whole seconds until `source` may be refused (and stored) again."""
        tokens, _ = self._buckets.get(source, (float(self.burst), None))
        return max(1, int((1.0 - tokens) / self.rate + 0.999))
