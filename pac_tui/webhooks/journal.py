"""The durable journal of webhook deliveries: one SQLite file in the data dir, mode 0600.

Writes use group commit. `append` puts the delivery on a queue and waits; one writer coroutine
takes everything queued (up to `MAX_BATCH`), runs one multi-row INSERT and a single COMMIT in one
dedicated writer thread that owns the write connection, then resolves every waiter of the batch.
While one batch commits, the next one gathers, so the cost of the commit (and of its fsync: WAL
mode with `synchronous=FULL`) is shared by every delivery that arrived meanwhile. `append` returns
only once its row is committed; a batch that fails fails all of its waiters, so nothing is
acknowledged that was not stored.

Reads are synchronous and may be called from any thread: each thread gets its own read connection,
and WAL mode lets readers run beside the writer (and beside other processes, e.g. `pac-tui events
--follow` next to `pac-tui webhook serve`).

Deliveries with an `Idempotency-Key` already in the journal (or earlier in the same batch) are
stored once: the row holding the key has its `redeliveries` incremented. The journal keeps at
most `retention` rows; each batch deletes the rows that fell out of the window, in the same
transaction (one index seek when there is nothing to delete). Bodies are stored zlib-compressed
when that pays (schema version 2; version 1 journals are read as they are and migrated when a
writer opens them). `webhook serve --workers N` writes through the same batch code from its
writer process (`open_writer` / `write`; see workers.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import sqlite3
import stat
import threading
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pac_tui.errors import StoreError
from pac_tui.webhooks import journal_schema as schema
from pac_tui.webhooks.models import Delivery

JOURNAL_NAME = "events.sqlite3"
SCHEMA_VERSION = schema.VERSION  # 2: compressed bodies
MAX_BATCH = 1000  # deliveries per transaction
# SQLite binds at most 32,766 parameters per statement: 14 per row, one per key.
MAX_ROWS_PER_INSERT = 500
MAX_KEYS_PER_QUERY = 1000
BUSY_TIMEOUT_S = 5.0  # another process holding the write lock
# Checkpoint the WAL into the DB every ~64 MiB instead of SQLite's 4 MiB: the random index pages
# (Idempotency-Keys are UUIDs) that many batches dirty are then copied once, not once per batch.
# The writer's page cache holds the indexes of a full journal, so inserts seldom read the disk.
WAL_AUTOCHECKPOINT_PAGES = 16384
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is truncated to after a checkpoint
WRITER_CACHE_KIB = 32 * 1024
RELAY_STATUS_TIMEOUT_S = 30.0

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


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


class Journal:
    """The webhook journal at `path`. `start()` it in the loop that will `append`; reads need not.

    `batches` counts the write transactions committed so far (group commit makes it much smaller
    than the number of appends under load).
    """

    def __init__(self, path: Path, *, retention: int = 1_000_000) -> None:
        if retention < 1:
            raise ValueError("retention must be at least 1 delivery")
        self.path = Path(path)
        self.retention = retention
        self.batches = 0
        self._state = "new"  # new → running → closing → closed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._pending: deque[_Op] = deque()
        self._wakeup: asyncio.Event | None = None
        self._conn: sqlite3.Connection | None = None  # the writer thread's own connection
        self._pruned_upto = 0  # writer thread only
        self._local = threading.local()  # per-thread read connections
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._generation = 0  # bumped when read connections are closed

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open (or create) the journal and start the writer; StoreError if it is unusable."""
        if self._state != "new":
            raise StoreError(f"the webhook journal {self.path} was already started")
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pac-tui-journal"
        )
        try:
            await loop.run_in_executor(executor, self._open_writer)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._loop = loop
        self._executor = executor
        self._wakeup = asyncio.Event()
        self._state = "running"
        self._writer_task = loop.create_task(self._write_loop(), name="pac-tui-journal-writer")

    async def close(self) -> None:
        """Refuse new appends, commit everything already queued, then close every connection."""
        if self._state == "running":
            self._state = "closing"
            assert self._wakeup is not None
            self._wakeup.set()
        if self._writer_task is not None:
            await asyncio.wait([self._writer_task])  # returns, never raises, once it is done
        executor, self._executor = self._executor, None
        if executor is not None:
            assert self._loop is not None
            try:
                await self._loop.run_in_executor(executor, self._close_writer)
            finally:
                executor.shutdown(wait=False)
        self._state = "closed"
        self._close_readers()

    async def __aenter__(self) -> Journal:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- writes -------------------------------------------------------------------------------

    async def append(self, delivery: Delivery) -> Appended:
        """Store `delivery`; returns once its row is durable. Raises StoreError if it was not.

        The token header is redacted again here, whatever the caller did.
        """
        self._check_running()
        if asyncio.get_running_loop() is not self._loop:
            raise StoreError("append to the webhook journal from the loop that started it")
        future: asyncio.Future[Appended] = self._loop.create_future()
        self._enqueue(_Op(True, schema.encode(delivery), future))
        return await future

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        """Record what the relay made of a delivery (through the writer); False: no such row."""
        self._check_running()
        assert self._loop is not None
        future: asyncio.Future[bool] = self._loop.create_future()
        self._enqueue(_Op(False, (status, delivery_id), future))
        return await future

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        """Like `aset_relay_status`, callable from any thread (e.g. via `asyncio.to_thread`).

        From another thread while the journal runs, the update joins the writer's next batch;
        otherwise (journal not started, or called on the loop itself) it is written directly.
        """
        loop = self._loop
        if self._state == "running" and loop is not None and not _on_loop(loop):
            done: concurrent.futures.Future[bool] = concurrent.futures.Future()
            try:
                loop.call_soon_threadsafe(
                    self._enqueue_from_thread, _Op(False, (status, delivery_id), done)
                )
            except RuntimeError:  # the loop is closed: write directly
                pass
            else:
                try:
                    return done.result(timeout=RELAY_STATUS_TIMEOUT_S)
                except _NotRunning:  # the journal stopped meanwhile: write directly
                    pass
                except concurrent.futures.TimeoutError:
                    raise StoreError(
                        f"the webhook journal {self.path} did not record a relay status within "
                        f"{RELAY_STATUS_TIMEOUT_S:.0f} s"
                    ) from None
        return self._set_relay_status_directly(delivery_id, status)

    def _check_running(self) -> None:
        if self._state == "new":
            raise StoreError(f"the webhook journal {self.path} is not started")
        if self._state != "running":
            raise StoreError(
                f"the webhook journal {self.path} is closed; the delivery was not stored"
            )

    def _enqueue(self, op: _Op) -> None:
        self._pending.append(op)
        assert self._wakeup is not None
        if not self._wakeup.is_set():
            self._wakeup.set()

    def _enqueue_from_thread(self, op: _Op) -> None:
        if self._state == "running":
            self._enqueue(op)
        else:
            op.future.set_exception(_NotRunning())

    async def _write_loop(self) -> None:
        assert self._loop is not None and self._wakeup is not None
        loop, wakeup, pending = self._loop, self._wakeup, self._pending
        in_flight: list[_Op] = []
        try:
            while True:
                if not pending:
                    if self._state != "running":
                        return
                    wakeup.clear()
                    await wakeup.wait()
                    continue
                batch = [pending.popleft() for _ in range(min(len(pending), MAX_BATCH))]
                in_flight = batch
                try:
                    results = await loop.run_in_executor(self._executor, self._write_batch, batch)
                except Exception as exc:
                    for op in batch:
                        _fail(op.future, self._write_error(exc, len(batch)))
                    continue
                in_flight = []
                self.batches += 1
                for op, result in zip(batch, results, strict=True):
                    _resolve(op.future, result)
        except BaseException as exc:
            # Cancelled (the loop is going away) or a bug: never leave a waiter hanging. The batch
            # in flight may still commit in the writer thread, but it is not acknowledged.
            self._state = "closed"
            for ops in (in_flight, pending):
                for op in ops:
                    _fail(op.future, self._write_error(exc, len(ops)))
            pending.clear()
            raise

    def _write_error(self, exc: BaseException, size: int) -> StoreError:
        if isinstance(exc, asyncio.CancelledError):
            problem = "the writer was stopped"
        elif isinstance(exc, sqlite3.Error):
            problem = str(exc)
        else:
            problem = f"{type(exc).__name__}: {exc}"
        error = StoreError(
            f"cannot write to the webhook journal {self.path}: {problem}; the {size} "
            "deliveries of this batch were not stored"
        )
        error.__cause__ = exc
        return error

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

    # -- the writer thread --------------------------------------------------------------------

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

    def _configure_writer(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"the webhook journal {self.path} cannot use WAL mode (got {mode!r}); put the "
                "data dir on a local file system"
            )
        conn.execute("PRAGMA synchronous = FULL")  # an acknowledged delivery survives a crash
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # decide under the write lock: other processes may race
        try:
            version = self._check_version(conn)
            if version == 0:
                for statement in schema.SCHEMA_V1:
                    conn.execute(statement)
                version = 1
            while version < SCHEMA_VERSION:
                for statement in schema.MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

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

    # -- reads --------------------------------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery | None:
        rows = self._query(schema.SELECT + " WHERE id = ?", (delivery_id,))
        return rows[0] if rows else None

    def recent(
        self,
        limit: int = 100,
        *,
        repo: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
    ) -> list[Delivery]:
        """The newest deliveries first; `before_id` pages further back."""
        where, params = schema.filters(repo, kind)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = f"{schema.SELECT}{schema.where(where)} ORDER BY id DESC LIMIT ?"
        return self._query(sql, (*params, limit))

    def after(
        self,
        after_id: int,
        limit: int = 1000,
        *,
        repo: str | None = None,
        kind: str | None = None,
    ) -> list[Delivery]:
        """Deliveries with an id above `after_id`, oldest first (to follow or catch up)."""
        where, params = schema.filters(repo, kind)
        where.append("id > ?")
        params.append(after_id)
        sql = f"{schema.SELECT}{schema.where(where)} ORDER BY id ASC LIMIT ?"
        return self._query(sql, (*params, limit))

    def count(self) -> int:
        rows = self._query("SELECT count(*) FROM deliveries", (), decode=False)
        return int(rows[0][0]) if rows else 0

    def last_per_repo(self, repos: Iterable[str] | None = None) -> dict[str, Delivery]:
        """The newest delivery of each repository name (only of `repos`, when given)."""
        if repos is None:
            found = self._query(schema.LAST_PER_REPO, ())
        else:
            found = self._query(schema.LAST_OF_REPOS, (json.dumps(list(repos)),))
        return {d.repo: d for d in found if d.repo is not None}

    def _query(self, sql: str, params: tuple[Any, ...], *, decode: bool = True) -> list[Any]:
        conn = self._reader()
        if conn is None:
            return []
        try:
            try:
                rows = conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "body_encoding" not in str(exc) or schema.SELECT not in sql:
                    raise
                # A version 1 journal not migrated yet (no writer has opened it since): its
                # bodies are all stored as received.
                rows = conn.execute(sql.replace(schema.SELECT, schema.SELECT_V1), params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from None
        if not decode:
            return rows
        try:
            return [schema.decode(row) for row in rows]
        except (ValueError, TypeError, zlib.error) as exc:
            raise StoreError(
                f"the webhook journal {self.path} holds a damaged row ({exc}); it was left "
                "untouched"
            ) from None

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection; None while there is no journal file (nothing to read)."""
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.generation == self._generation:
            return conn
        conn = self._open_existing()
        if conn is None:
            return None
        try:
            if self._check_version(conn) == 0:  # being created right now: nothing to read yet
                conn.close()
                return None
            conn.execute("PRAGMA query_only = ON")
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error("read", exc) from None
            raise
        with self._readers_lock:
            self._readers.append(conn)
            local.conn, local.generation = conn, self._generation
        return conn

    def _close_readers(self) -> None:
        with self._readers_lock:
            self._generation += 1
            readers, self._readers = self._readers, []
        for conn in readers:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    # -- files and connections ----------------------------------------------------------------

    def _ensure_file(self) -> None:
        """Create the data dir (0700) and an empty journal file (0600) unless they exist."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                mode = self.path.stat().st_mode
                if not stat.S_ISREG(mode):
                    raise StoreError(f"the webhook journal {self.path} is not a file") from None
                if stat.S_IMODE(mode) & 0o077:
                    os.chmod(self.path, 0o600)
            else:
                os.close(fd)
        except OSError as exc:
            raise StoreError(
                f"cannot create the webhook journal {self.path}: {exc.strerror}"
            ) from None

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        uri = f"{self.path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        try:
            return sqlite3.connect(
                uri,
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error("open", exc) from None

    def _open_existing(self) -> sqlite3.Connection | None:
        if not self.path.exists():
            return None
        return self._connect(create=False)

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the webhook journal {self.path} has schema version {version}, newer than this "
                f"pac-tui knows ({SCHEMA_VERSION}); upgrade pac-tui or move the file away"
            )
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(
                f"{self.path} is an SQLite database but not a pac-tui webhook journal; it was "
                "left untouched: move it away"
            )
        return version

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StoreError(
                f"the webhook journal {self.path} is damaged or not a database ({exc}); it was "
                "left untouched: move it away to start a new one"
            )
        return StoreError(f"cannot {action} the webhook journal {self.path}: {exc}")


class _NotRunning(Exception):
    """A relay status sent from a thread reached the loop after the journal stopped."""


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _resolve(future: asyncio.Future[Any] | concurrent.futures.Future[Any], result: Any) -> None:
    if not future.done():  # a waiter that was cancelled no longer wants its result
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_result(result)


def _fail(future: asyncio.Future[Any] | concurrent.futures.Future[Any], exc: Exception) -> None:
    if not future.done():
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_exception(exc)
