"""When a receiver process of `webhook serve --workers N` that died is started again, and when not.

A worker that dies (kill -9, the OOM killer, a crash) is reaped at once and started again after a
backoff that doubles with each death in a row (0.5 s, 1 s, 2 s, ...). A worker that stayed up for
`stable_s` resets its count. After `max_in_a_row` deaths in a row the group gives up: something
is wrong that starting again will not fix, and `webhook serve` exits non-zero saying so.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class RespawnPolicy:
    first_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    stable_s: float = 60.0
    max_in_a_row: int = 5

    def backoff(self, in_a_row: int) -> float:
        """Seconds to wait before the start that follows the `in_a_row`-th death in a row."""
        return min(self.max_backoff_s, self.first_backoff_s * 2 ** max(0, in_a_row - 1))


@dataclass
class Deaths:
    """The deaths in a row of one worker slot, and when its process started."""

    in_a_row: int = 0
    started_at: float = 0.0
    respawn_at: float | None = None

    def died(self, now: float, policy: RespawnPolicy) -> bool:
        """Count a death at `now`; False when the slot must not be started again."""
        if now - self.started_at >= policy.stable_s:
            self.in_a_row = 0
        self.in_a_row += 1
        if self.in_a_row >= policy.max_in_a_row:
            self.respawn_at = None
            return False
        self.respawn_at = now + policy.backoff(self.in_a_row)
        return True


def describe_status(status: int) -> str:
    """A `waitpid` status in words: "exited with status 1", "was killed by SIGKILL"."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"was killed by {name}"
    if os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    return f"stopped (status {status})"
