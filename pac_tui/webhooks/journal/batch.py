"""Writing the webhook journal one batch at a time: each batch is one transaction.

`BatchWriter` owns the journal's only write connection. `write` runs a batch of writes
(deliveries and relay statuses) in one transaction: one multi-row INSERT, the relay-status
updates, the retention prune, a single COMMIT (WAL mode, `synchronous=FULL`). Deliveries with an
`Idempotency-Key` already in the journal (or earlier in the same batch) are stored once: the row
holding the key has its `redeliveries` incremented. Only an accepted delivery (its token checked)
holds a key: any other is stored on its own, whatever key it carries (schema.CLAIMS_KEY), so a
sender without the secret can never turn the genuine delivery into a "redelivery". The journal
keeps at most `retention` rows; each batch deletes the rows that fell out of the window, in the
same transaction (one index seek when there is nothing to delete). It also keeps within a byte
budget (`max_bytes`, 1 GiB by default): when its rows use more pages than that, the oldest rows
go, in the same transaction.

The journal at the path must stay the file it opened: a journal deleted (or replaced) while the
writer runs would take every later row to a file nobody can read, and acknowledge it. So each
batch first compares the path's inode with the one it opened (one `stat`, a microsecond), and
again after its COMMIT: once they differ the writer fails every batch with `JournalGone`, and the
receiver answers 503, until it is restarted (which opens, or creates, the journal at the path).
It does not reopen by itself: the old file's WAL and shared-memory files are still open, by it
and by any reader, under the names a new journal would use.

It is synchronous and has no loop or thread of its own: the group-commit writer (group_commit.py)
calls it from its writer thread, the writer process of `webhook serve --workers N`
(multiproc/writer.py) calls it directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.file import JournalFile

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # deliveries per transaction
# The journal's byte budget: the pages its rows use (not the WAL, not free pages SQLite reuses).
# Over it, the oldest rows go, down to BUDGET_LOW_WATER of it, so pruning is not every batch.
DEFAULT_MAX_BYTES = 1 << 30
BUDGET_LOW_WATER = 0.9
# SQLite binds at most 32,766 parameters per statement: 14 per row, one per key.
MAX_ROWS_PER_INSERT = 500
MAX_KEYS_PER_QUERY = 1000

# One write: (True, the params `schema.encode` made) inserts a delivery; (False, (status, id))
# records a relay status.
Write = tuple[bool, tuple[Any, ...]]


# Errors that come from one row's values (binding them, a constraint), not from the journal: the
# batch is retried without that row. Any other error (I/O, disk full, a closed journal) fails
# the whole batch, as retrying it row by row would fail each row again.
ROW_ERRORS = (
    ValueError,  # UnicodeEncodeError among them
    TypeError,
    OverflowError,
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)


class RowError(StoreError):
    """One write of a batch that could not be stored; the rest of its batch was."""


class JournalGone(StoreError):
    """The journal file the writer opened is no longer the one at its path."""


@dataclass(frozen=True)
class Appended:
    """Where `append` put a delivery: its row id, and whether that row already held it."""

    id: int
    duplicate: bool


class BatchWriter:
    """The journal at `path`, written synchronously one batch (transaction) at a time.

    `batches` counts the write transactions committed so far. `connection` is the write
    connection while the writer is open (None otherwise); use it only from the thread that
    writes.
    """

    def __init__(
        self, path: Path, *, retention: int = 1_000_000, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if retention < 1:
            raise ValueError("retention must be at least 1 delivery")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.file = JournalFile(path)
        self.retention = retention
        self.max_bytes = max_bytes
        self.batches = 0
        self.connection: sqlite3.Connection | None = None
        self._opened = False  # a writer opens once (a failed open may be retried)
        self._pruned_upto = 0
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self._gone: JournalGone | None = None

    @property
    def path(self) -> Path:
        return self.file.path

    def open(self) -> None:
        """Open (or create, or migrate) the journal for `write`; StoreError if it is unusable."""
        if self._opened:
            raise StoreError(f"the webhook journal {self.path} was already started")
        self.connection = self.file.open_for_writing()
        self._opened = True
        try:
            self._identity = _identity(self.path)
        except OSError as exc:
            self.close()
            raise StoreError(
                f"cannot open the webhook journal {self.path}: {exc.strerror}"
            ) from None

    def write(self, writes: Sequence[Write]) -> list[Any]:
        """Write `writes` in one transaction; returns once it is committed.

        The result of each is an `Appended` (insert), a bool (relay status: False when there is
        no such row), or a `RowError` for a write whose own values could not be stored: the
        batch is then split in halves and retried, so one bad row fails alone and costs about
        2·log2(batch) transactions. Raises sqlite3.Error or StoreError for a failure of the
        journal itself: then nothing of the batch was stored.
        """
        try:
            return self._transaction(writes)
        except ROW_ERRORS as exc:
            if len(writes) == 1:
                return [RowError(f"the delivery could not be stored: {type(exc).__name__}")]
        middle = len(writes) // 2
        return self.write(writes[:middle]) + self.write(writes[middle:])

    def _transaction(self, writes: Sequence[Write]) -> list[Any]:
        conn = self.connection
        if conn is None:
            raise StoreError(f"the webhook journal {self.path} is not open")
        self._check_still_there()
        results: list[Any] = [None] * len(writes)
        bound = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserts = [i for i, (insert, _) in enumerate(writes) if insert]
            if inserts:
                bound = self._insert_batch(conn, writes, inserts, results) - self.retention
            for i, (insert, params) in enumerate(writes):
                if not insert:
                    results[i] = conn.execute(schema.SET_RELAY_STATUS, params).rowcount > 0
            if bound > self._pruned_upto:
                conn.execute(schema.PRUNE, (bound,))
            new_ids = [r.id for r in results if isinstance(r, Appended) and not r.duplicate]
            if new_ids:
                bound = max(bound, self._keep_within_budget(conn, min(new_ids)))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._check_still_there()  # committed, but to the file `events` reads?
        self._pruned_upto = max(self._pruned_upto, bound)
        self.batches += 1
        return results

    def _check_still_there(self) -> None:
        """Raise `JournalGone` once the file at the path is not the one this writer opened."""
        if self._gone is not None:
            raise self._gone
        try:
            same = _identity(self.path) == self._identity
        except FileNotFoundError:
            same = False
        except OSError:  # cannot tell (a permission change on the dir): SQLite will say
            return
        if same:
            return
        self._gone = JournalGone(
            f"the webhook journal {self.path} was deleted or replaced while pac-tui was writing "
            "it; deliveries are refused (503, GitLab retries) until pac-tui is restarted, which "
            "opens the journal at that path again"
        )
        log.error("%s", self._gone)
        raise self._gone

    def _keep_within_budget(self, conn: sqlite3.Connection, first_new: int) -> int:
        """Delete the oldest rows while the journal's rows use more than `max_bytes` (inside the
        open transaction), never one of this batch (from `first_new` on: they are about to be
        acknowledged); returns the newest id deleted (0: none)."""
        pruned = 0
        for _ in range(8):  # each round deletes about what the excess needs
            used = _used_bytes(conn)
            if used <= self.max_bytes:
                break
            oldest, newest = conn.execute("SELECT min(id), max(id) FROM deliveries").fetchone()
            if oldest is None or oldest >= first_new:
                break  # only this batch is left: it stays, whatever it weighs
            per_row = used / (newest - oldest + 1)
            excess = used - self.max_bytes * BUDGET_LOW_WATER
            upto = min(first_new - 1, oldest + max(0, int(excess / per_row)))
            conn.execute(schema.PRUNE, (upto,))
            pruned = upto
        return pruned

    def close(self) -> None:
        """Close the write connection (harmless when it is not open); the writer cannot reopen."""
        self._opened = True
        conn, self.connection = self.connection, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

    def _insert_batch(
        self,
        conn: sqlite3.Connection,
        writes: Sequence[Write],
        inserts: list[int],
        results: list[Any],
    ) -> int:
        """Insert the batch's deliveries (inside the open transaction); returns the newest id.

        A delivery whose Idempotency-Key is already stored, or new earlier in this batch, is not
        inserted: the row holding the key has its `redeliveries` raised instead.
        """
        keys = {k for i in inserts if (k := writes[i][1][schema.KEY_INDEX]) is not None}
        stored: dict[str, int] = {}
        for chunk in _chunks(list(keys), MAX_KEYS_PER_QUERY):
            found = conn.execute(schema.find_keys(len(chunk)), chunk).fetchall()  # read all
            for key, row_id, verdict in found:  # before RELEASE_KEY writes the column it reads
                if verdict in schema.CLAIMS_KEY:
                    stored[key] = row_id
                else:  # a refused row from before the rule: it gives the key back
                    conn.execute(schema.RELEASE_KEY, (row_id,))
        bumps: dict[int, int] = {}  # stored row id → redeliveries to add
        new_rows: list[list[Any]] = []  # params of each new row (redeliveries last)
        new_of: list[int] = []  # batch index of each new row
        first_new: dict[str, int] = {}  # key → index in new_rows
        duplicate_of: list[tuple[int, int]] = []  # (batch index, index in new_rows)
        for i in inserts:
            params = writes[i][1]
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


def write_relay_status(file: JournalFile, delivery_id: int, status: str) -> bool:
    """Record a relay status on a connection of its own, outside any writer (none is running,
    or the caller is the writer's own loop); False when there is no such row or no journal."""
    conn = file.open_existing()
    if conn is None:
        return False
    try:
        conn.execute("PRAGMA synchronous = FULL")
        return conn.execute(schema.SET_RELAY_STATUS, (status, delivery_id)).rowcount > 0
    except sqlite3.Error as exc:
        raise file.error("write", exc) from None
    finally:
        conn.close()


def _identity(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database pages in use (as this transaction sees them), free pages not."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))
