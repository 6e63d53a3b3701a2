"""What the webhook pipeline needs of a journal it writes to: the `JournalWriter` protocol.

The receiver appends deliveries, the relay's status callback records what became of them, and the
service starts and closes the journal. Two writers implement it: the group-commit writer of one
process (group_commit.py, inside `Journal`) and the process writer of a receiver process of
`webhook serve --workers N` (process_writer.py). `Lifecycle` is the state both go through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal.batch import Appended
from pac_tui.webhooks.models import Delivery

RELAY_STATUS_TIMEOUT_S = 30.0


class JournalWriter(Protocol):
    """A journal the receiver, the relay and the service write to."""

    @property
    def path(self) -> Path: ...

    async def start(self) -> None:
        """Open the journal for writing, in the loop that will append."""

    async def close(self) -> None:
        """Refuse new writes, finish those already accepted, and close."""

    async def append(self, delivery: Delivery) -> Appended:
        """Store `delivery`; returns once its row is durable. Raises StoreError if it was not."""

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        """Record what the relay made of a delivery; False: no such row."""

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        """Like `aset_relay_status`, callable from any thread."""


class Lifecycle:
    """A writer's state: new → running → closing → closed, and the errors of a call out of turn."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = "new"

    def check_new(self) -> None:
        if self.state != "new":
            raise StoreError(f"the webhook journal {self.path} was already started")

    def check_running(self) -> None:
        if self.state == "new":
            raise StoreError(f"the webhook journal {self.path} is not started")
        if self.state != "running":
            raise StoreError(
                f"the webhook journal {self.path} is closed; the delivery was not stored"
            )

    def running_elsewhere(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        """Whether the writer runs on `loop` and the caller is not on it (so must hand over)."""
        return self.state == "running" and loop is not None and not _on_loop(loop)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs on `loop`."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
