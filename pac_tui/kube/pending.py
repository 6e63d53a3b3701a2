"""Tokens GitLab has issued that are not in their Secret yet.

GitLab revoked the previous pair when it answered, so until one of these is written it is the only
working token for its Secret. The refresher retries each with backoff on every turn of its loop,
whether or not it still leads (`write_tokens` lets a newer generation stored meanwhile win, never
an older one), writes them before it gives its Lease back on SIGTERM, and before `--once` exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pac_tui.kube.report import RefresherAction
from pac_tui.kube.secrets import SecretTokens, StoredSecret


@dataclass
class Pending:
    """One unwritten token, where it goes, and how its writes have gone so far."""

    secret: StoredSecret  # the Secret as last read: namespace, name, token key, Event targets
    tokens: SecretTokens
    action: RefresherAction  # what produced it: refreshed, rotated
    attempts: int = 0
    next_try: float = 0.0  # monotonic
    error: str = ""

    @property
    def key(self) -> str:
        return self.secret.key


class PendingWrites:
    """The unwritten tokens by Secret (namespace/name), with a capped exponential backoff."""

    def __init__(
        self,
        *,
        first_delay: float = 1.0,
        cap: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_delay = first_delay
        self.cap = cap
        self._monotonic = monotonic
        self._by_key: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def add(self, secret: StoredSecret, tokens: SecretTokens, action: RefresherAction) -> Pending:
        """Keep `tokens` (replacing an older unwritten generation for the same Secret)."""
        pending = Pending(secret, tokens, action)
        self._by_key[secret.key] = pending
        return pending

    def get(self, key: str) -> Pending | None:
        return self._by_key.get(key)

    def all(self) -> list[Pending]:
        return list(self._by_key.values())

    def due(self) -> list[Pending]:
        now = self._monotonic()
        return [p for p in self._by_key.values() if p.next_try <= now]

    def next_due(self) -> float | None:
        """Monotonic time of the next retry, None when nothing is pending."""
        return min((p.next_try for p in self._by_key.values()), default=None)

    def failed(self, pending: Pending, error: str) -> None:
        pending.attempts += 1
        pending.error = error
        delay = min(self.cap, self.first_delay * 2 ** (pending.attempts - 1))
        pending.next_try = self._monotonic() + delay

    def done(self, pending: Pending) -> None:
        """Written, or superseded: forget it (unless a newer generation replaced it meanwhile)."""
        if self._by_key.get(pending.key) is pending:
            del self._by_key[pending.key]
