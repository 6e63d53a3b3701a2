"""Writing the webhook journal one batch at a time: each batch is one transaction.

`BatchJournal` owns the journal's only write connection. `_write_batch` runs a batch of queued
writes (deliveries and relay statuses) in one transaction: one multi-row INSERT, the relay-status
updates, the retention prune, a single COMMIT (WAL mode, `synchronous=FULL`). Deliveries with an
`Idempotency-Key` already in the journal (or earlier in the same batch) are stored once: the row
holding the key has its `redeliveries` incremented. The journal keeps at most `retention` rows;
each batch deletes the rows that fell out of the window, in the same transaction (one index seek
when there is nothing to delete).

`Journal` (journal.py) calls `_write_batch` from its writer thread (group commit); the writer
process of `webhook serve --workers N` (writer_process.py) calls it through `open_writer` /
`write` / `close_writer`, without a loop or a thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.reader import JournalReader

MAX_BATCH = 1000  # deliveries per transaction
# SQLite binds at most 32,766 parameters per statement: 14 per row, one per key.
MAX_ROWS_PER_INSERT = 500
MAX_KEYS_PER_QUERY = 1000


@dataclass(frozen=True)
class Appended:
    """Where `append` put a delivery: its row id, and whether that row already held it."""

    id: int
    duplicate: bool


class _Op:
    """One queued write: an insert (params of `schema.encode`) or a relay-status update."""

    __slots__ = ("future", "insert", "params")

    def __init__(
        self,
        insert: bool,
        params: tuple[Any, ...],
        future: asyncio.Future[Any] | concurrent.futures.Future[Any] | None,
    ) -> None:
        self.insert = insert
        self.params = params
        self.future = future


class BatchJournal(JournalReader):
    """The journal at `path`, written synchronously one batch (transaction) at a time.

    `batches` counts the write transactions committed so far.
    """

    def __init__(self, path: Path, *, retention: int = 1_000_000) -> None:
        if retention < 1:
            raise ValueError("retention must be at least 1 delivery")
        super().__init__(path)
        self.retention = retention
        self.batches = 0
        self._state = "new"  # new → running → closing → closed (journal.py), or new → writing
        self._conn: sqlite3.Connection | None = None  # the writer's own connection
        self._pruned_upto = 0  # writer only

    # -- synchronous writing (the writer process of `webhook serve --workers N`) ---------------

    def open_writer(self) -> None:
        """Open (or create) the journal for `write`, without a loop or a writer thread."""
        if self._state != "new":
            raise StoreError(f"the webhook journal {self.path} was already started")
        self._open_writer()
        self._state = "writing"

    def write(self, ops: list[tuple[bool, tuple[Any, ...]]]) -> list[Any]:
        """Write (insert?, params) operations in one transaction; returns once it is committed.

        Params as `schema.encode` makes them (insert) or (status, id) (relay status); the result
        of each is an `Appended` or a bool, as `append` and `aset_relay_status` return them.
        Raises sqlite3.Error or StoreError: then nothing of the batch was stored.
        """
        results = self._write_batch([_Op(insert, params, None) for insert, params in ops])
        self.batches += 1
        return results

    def close_writer(self) -> None:
        self._close_writer()
        self._state = "closed"
        self._close_readers()

    # -- the write connection and one batch's transaction (the writer thread or process) -------

    def _open_writer(self) -> None:
        self._ensure_file()
        conn = self._connect(create=True)
        try:
            self._configure_writer(conn)
            self._prepare_schema(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open", exc) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _write_batch(self, batch: list[_Op]) -> list[Any]:
        conn = self._conn
        if conn is None:
            raise StoreError(f"the webhook journal {self.path} is not open")
        results: list[Any] = [None] * len(batch)
        bound = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserts = [i for i, op in enumerate(batch) if op.insert]
            if inserts:
                bound = self._insert_batch(conn, batch, inserts, results) - self.retention
            for i, op in enumerate(batch):
                if not op.insert:
                    results[i] = conn.execute(schema.SET_RELAY_STATUS, op.params).rowcount > 0
            if bound > self._pruned_upto:
                conn.execute(schema.PRUNE, (bound,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._pruned_upto = max(self._pruned_upto, bound)
        return results

    def _insert_batch(
        self, conn: sqlite3.Connection, batch: list[_Op], inserts: list[int], results: list[Any]
    ) -> int:
        """Insert the batch's deliveries (inside the open transaction); returns the newest id.

        A delivery whose Idempotency-Key is already stored, or new earlier in this batch, is not
        inserted: the row holding the key has its `redeliveries` raised instead.
        """
        keys = {k for i in inserts if (k := batch[i].params[schema.KEY_INDEX]) is not None}
        stored: dict[str, int] = {}
        for chunk in _chunks(list(keys), MAX_KEYS_PER_QUERY):
            stored.update(conn.execute(schema.find_keys(len(chunk)), chunk).fetchall())
        bumps: dict[int, int] = {}  # stored row id → redeliveries to add
        new_rows: list[list[Any]] = []  # params of each new row (redeliveries last)
        new_of: list[int] = []  # batch index of each new row
        first_new: dict[str, int] = {}  # key → index in new_rows
        duplicate_of: list[tuple[int, int]] = []  # (batch index, index in new_rows)
        for i in inserts:
            params = batch[i].params
            key = params[schema.KEY_INDEX]
            if key is not None and key in stored:
                row_id = stored[key]
                bumps[row_id] = bumps.get(row_id, 0) + 1
                results[i] = Appended(row_id, True)
            elif key is not None and key in first_new:
                n = first_new[key]
                new_rows[n][-1] += 1
                duplicate_of.append((i, n))
            else:
                if key is not None:
                    first_new[key] = len(new_rows)
                new_rows.append([*params, 0])
                new_of.append(i)
        newest = 0
        if new_rows:
            for start in range(0, len(new_rows), MAX_ROWS_PER_INSERT):
                chunk = new_rows[start : start + MAX_ROWS_PER_INSERT]
                flat = [value for row in chunk for value in row]
                newest = conn.execute(schema.insert_rows(len(chunk)), flat).lastrowid or 0
            first_id = newest - len(new_rows) + 1
            for n, i in enumerate(new_of):
                results[i] = Appended(first_id + n, False)
            for i, n in duplicate_of:
                results[i] = Appended(first_id + n, True)
        if bumps:
            conn.executemany(schema.BUMP_REDELIVERIES, [(k, v) for v, k in bumps.items()])
        return newest

    def _close_writer(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    def _set_relay_status_directly(self, delivery_id: int, status: str) -> bool:
        conn = self._open_existing()
        if conn is None:
            return False
        try:
            conn.execute("PRAGMA synchronous = FULL")
            return conn.execute(schema.SET_RELAY_STATUS, (status, delivery_id)).rowcount > 0
        except sqlite3.Error as exc:
            raise self._error("write", exc) from None
        finally:
            conn.close()


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))
