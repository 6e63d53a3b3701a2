"""`Journal`: the webhook journal of one process, as `webhook serve` and the dashboard use it.

It is composed of the parts in this package: a `JournalReader` (reader.py) for the queries, a
`BatchWriter` (batch.py) that owns the write connection, and the `GroupCommitWriter`
(group_commit.py) that feeds it from the event loop. `start()` it in the loop that will `append`;
reads need not start it. The synchronous `open_writer` / `write` / `close_writer` use the batch
writer without a loop or a thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pac_tui.webhooks.journal.batch import DEFAULT_MAX_BYTES, Appended, BatchWriter, Write
from pac_tui.webhooks.journal.group_commit import GroupCommitWriter
from pac_tui.webhooks.journal.reader import JournalReader
from pac_tui.webhooks.models import Delivery

JOURNAL_NAME = "events.sqlite3"


class Journal:
    """The webhook journal at `path`: a `JournalWriter` that can also be read.

    `batches` counts the write transactions committed so far (group commit makes it much smaller
    than the number of appends under load).
    """

    def __init__(
        self, path: Path, *, retention: int = 1_000_000, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.batch = BatchWriter(path, retention=retention, max_bytes=max_bytes)
        self.writer = GroupCommitWriter(self.batch)
        self.reader = JournalReader(path)

    @property
    def path(self) -> Path:
        return self.batch.path

    @property
    def retention(self) -> int:
        return self.batch.retention

    @property
    def batches(self) -> int:
        return self.batch.batches

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open (or create) the journal and start the writer; StoreError if it is unusable."""
        await self.writer.start()

    async def close(self) -> None:
        """Refuse new appends, commit everything already queued, then close every connection."""
        await self.writer.close()
        self.reader.close()

    async def __aenter__(self) -> Journal:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- writes -------------------------------------------------------------------------------

    async def append(self, delivery: Delivery) -> Appended:
        """Store `delivery`; returns once its row is durable. Raises StoreError if it was not."""
        return await self.writer.append(delivery)

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        """Record what the relay made of a delivery (through the writer); False: no such row."""
        return await self.writer.aset_relay_status(delivery_id, status)

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        """Like `aset_relay_status`, callable from any thread (see GroupCommitWriter)."""
        return self.writer.set_relay_status(delivery_id, status)

    def open_writer(self) -> None:
        """Open (or create) the journal for `write`, without a loop or a writer thread."""
        self.batch.open()

    def write(self, writes: Sequence[Write]) -> list[Any]:
        """Write (insert?, params) operations in one transaction (see `BatchWriter.write`)."""
        return self.batch.write(writes)

    def close_writer(self) -> None:
        self.batch.close()
        self.reader.close()

    # -- reads --------------------------------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery | None:
        return self.reader.get(delivery_id)

    def recent(
        self,
        limit: int = 100,
        *,
        repo: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
    ) -> list[Delivery]:
        """The newest deliveries first; `before_id` pages further back."""
        return self.reader.recent(limit, repo=repo, kind=kind, before_id=before_id)

    def after(
        self,
        after_id: int,
        limit: int = 1000,
        *,
        repo: str | None = None,
        kind: str | None = None,
    ) -> list[Delivery]:
        """Deliveries with an id above `after_id`, oldest first (to follow or catch up)."""
        return self.reader.after(after_id, limit, repo=repo, kind=kind)

    def count(self) -> int:
        return self.reader.count()

    def last_per_repo(self, repos: Iterable[str] | None = None) -> dict[str, Delivery]:
        """The newest delivery of each repository name (only of `repos`, when given)."""
        return self.reader.last_per_repo(repos)
