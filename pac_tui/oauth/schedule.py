"""When the dashboard refreshes a grant by itself, and how it backs off after failures.

A grant is due when less than max(10 min, a sixth of its lifetime) remains. After a failure the
next attempt waits 30 s, then 1, 2, 5, 10 and at most 15 minutes. `invalid_grant` is never retried:
the repository turns to needs-login and waits for the user.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pac_tui.core.config import Repository
from pac_tui.core.models import TokenRecord, TokenSet
from pac_tui.oauth.grant import application_mismatch

MIN_MARGIN_SECONDS = 600.0
BACKOFF_SECONDS = (30, 60, 120, 300, 600, 900)


def spread(key: str, seconds: float) -> timedelta:
    """A fixed share of `seconds` for `key` (crc32): spreads many grants over a window, the same
    way on every run, without a random source to inject."""
    return timedelta(seconds=seconds * zlib.crc32(key.encode()) / 2**32)


def refresh_margin(tokens: TokenSet) -> float | None:
    """Seconds before expiry at which the grant is refreshed; None for tokens that never expire."""
    if tokens.expires_at is None:
        return None
    lifetime = (tokens.expires_at - tokens.issued_at).total_seconds()
    return max(MIN_MARGIN_SECONDS, lifetime / 6)


def refresh_due_at(tokens: TokenSet) -> datetime | None:
    margin = refresh_margin(tokens)
    if margin is None or tokens.expires_at is None:
        return None
    return tokens.expires_at - timedelta(seconds=margin)


@dataclass
class _Retry:
    failures: int
    not_before: datetime


class AutoRefreshPlan:
    """Which repositories to refresh now. Keeps the in-flight set and the backoff per repository.

    The instants at which grants fall due are kept in a heap, so asking every second what is due
    costs O(1) when nothing is, and O(log n) per grant that is: `schedule` rebuilds the heap when
    the grants change (the store was re-read), a failure pushes its retry.

    With `jitter` (seconds), grants that fall due together are spread: each is due up to `jitter`
    earlier (never later, so never closer to expiry), so a thousand grants issued at once are not
    all refreshed at once. Retries keep the plain backoff; the dashboard's concurrency cap spreads
    a round that failed together.
    """

    def __init__(self, jitter: float = 0.0) -> None:
        self.jitter = jitter
        self._retry: dict[str, _Retry] = {}
        self.in_flight: set[str] = set()
        self._heap: list[tuple[datetime, str]] = []
        self._when: dict[str, datetime] = {}  # the live heap entry of each name
        self._scheduled = False  # only a plan that was scheduled keeps a heap (not backoff-only)

    def schedule(self, repos: Iterable[Repository], records: dict[str, TokenRecord]) -> None:
        """When each refreshable grant falls due (its backoff included); O(n), on change only."""
        self._when = {}
        for repo in repos:
            record = records.get(repo.name)
            if (
                record is None
                or record.tokens is None
                or not record.tokens.refresh_token
                or application_mismatch(repo, record)
            ):
                continue
            due_at = refresh_due_at(record.tokens)
            if due_at is None:
                continue
            due_at -= spread(repo.name, self.jitter)
            retry = self._retry.get(repo.name)
            self._when[repo.name] = max(due_at, retry.not_before) if retry else due_at
        self._heap = [(when, name) for name, when in self._when.items()]
        heapq.heapify(self._heap)
        self._scheduled = True

    def _push(self, name: str, when: datetime) -> None:
        self._when[name] = when
        heapq.heappush(self._heap, (when, name))

    def due(self, now: datetime) -> list[str]:
        """The names due at `now`, each once (until `schedule` or a failure puts it back)."""
        chosen = []
        while self._heap and self._heap[0][0] <= now:
            when, name = heapq.heappop(self._heap)
            if self._when.get(name) != when:
                continue  # superseded by a later push or a rebuild
            del self._when[name]
            if name not in self.in_flight:
                chosen.append(name)
        return chosen

    def started(self, name: str) -> None:
        self.in_flight.add(name)

    def succeeded(self, name: str) -> None:
        self.in_flight.discard(name)
        self._retry.pop(name, None)

    def failed(self, name: str, now: datetime) -> datetime:
        """Record a failure; returns when the next attempt may happen."""
        self.in_flight.discard(name)
        failures = self._retry[name].failures + 1 if name in self._retry else 1
        delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
        retry = _Retry(failures, now + timedelta(seconds=delay))
        self._retry[name] = retry
        if self._scheduled:
            self._push(name, retry.not_before)
        return retry.not_before

    def failures(self, name: str) -> int:
        """How many refreshes of `name` failed in a row (0 after a success)."""
        retry = self._retry.get(name)
        return retry.failures if retry else 0

    def failing(self) -> int:
        """How many repositories' last refresh failed."""
        return len(self._retry)

    def next_retry(self, name: str) -> datetime | None:
        retry = self._retry.get(name)
        return retry.not_before if retry else None
