"""When the dashboard refreshes a grant by itself, and how it backs off after failures.

A grant is due when less than max(10 min, a sixth of its lifetime) remains. After a failure the
next attempt waits 30 s, then 1, 2, 5, 10 and at most 15 minutes. `invalid_grant` is never retried:
the repository turns to needs-login and waits for the user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pac_tui.core.config import Repository
from pac_tui.core.models import TokenRecord, TokenSet
from pac_tui.oauth.grant import application_mismatch

MIN_MARGIN_SECONDS = 600.0
BACKOFF_SECONDS = (30, 60, 120, 300, 600, 900)


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
    """Which repositories to refresh now. Keeps the in-flight set and the backoff per repository."""

    def __init__(self) -> None:
        self._retry: dict[str, _Retry] = {}
        self.in_flight: set[str] = set()

    def due(
        self, repos: Iterable[Repository], records: dict[str, TokenRecord], now: datetime
    ) -> list[Repository]:
        chosen = []
        for repo in repos:
            record = records.get(repo.name)
            if (
                repo.name in self.in_flight
                or record is None
                or record.tokens is None
                or not record.tokens.refresh_token
                or application_mismatch(repo, record)
            ):
                continue
            retry = self._retry.get(repo.name)
            if retry and now < retry.not_before:
                continue
            due_at = refresh_due_at(record.tokens)
            if due_at is not None and now >= due_at:
                chosen.append(repo)
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
        return retry.not_before

    def failures(self, name: str) -> int:
        """How many refreshes of `name` failed in a row (0 after a success)."""
        retry = self._retry.get(name)
        return retry.failures if retry else 0

    def next_retry(self, name: str) -> datetime | None:
        retry = self._retry.get(name)
        return retry.not_before if retry else None
