"""The durable journal of webhook deliveries: one SQLite file in the data dir, mode 0600.

Writes use group commit. `append` puts the delivery on a queue and waits; one writer coroutine
takes everything queued (up to `MAX_BATCH`), runs one multi-row INSERT and a single COMMIT in one
dedicated writer thread that owns the write connection, then resolves every waiter of the batch.
While one batch commits, the next one gathers, so the cost of the commit (and of its fsync: WAL
mode with `synchronous=FULL`) is shared by every delivery that arrived meanwhile. `append` returns
only once its row is committed; a batch that fails fails all of its waiters, so nothing is
acknowledged that was not stored.

`Journal` is this loop-side part; what it builds on is in its own modules:
- journal_batch.py: `BatchJournal`, the write connection and one batch's transaction (duplicate
  Idempotency-Keys, retention), also used directly by the writer process of `webhook serve
  --workers N` (`open_writer` / `write`; see workers.py);
- journal_reader.py: `JournalReader`, the reads, synchronous and from any thread (one read
  connection per thread; WAL mode lets readers run beside the writer and other processes);
- journal_file.py: `JournalFile`, the file, its connections, schema version checks and migration
  (bodies are stored zlib-compressed when that pays: schema version 2; version 1 journals are
  read as they are and migrated when a writer opens them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections import deque
from pathlib import Path
from typing import Any

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.batch import MAX_BATCH, Appended, BatchJournal, _Op
from pac_tui.webhooks.journal.file import SCHEMA_VERSION
from pac_tui.webhooks.models import Delivery

__all__ = [
    "JOURNAL_NAME",
    "MAX_BATCH",
    "RELAY_STATUS_TIMEOUT_S",
    "SCHEMA_VERSION",
    "Appended",
    "Journal",
]

JOURNAL_NAME = "events.sqlite3"
RELAY_STATUS_TIMEOUT_S = 30.0


class Journal(BatchJournal):
    """The webhook journal at `path`. `start()` it in the loop that will `append`; reads need not.

    `batches` counts the write transactions committed so far (group commit makes it much smaller
    than the number of appends under load).
    """

    def __init__(self, path: Path, *, retention: int = 1_000_000) -> None:
        super().__init__(path, retention=retention)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._pending: deque[_Op] = deque()
        self._wakeup: asyncio.Event | None = None

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


class _NotRunning(Exception):
    """A relay status sent from a thread reached the loop after the journal stopped."""


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
