"""The group-commit writer of one process: a queue on the event loop, a batch writer in a thread.

`append` puts the delivery on a queue and waits; one writer coroutine takes everything queued (up
to `MAX_BATCH`) and hands it to the `BatchWriter` (one multi-row INSERT, a single COMMIT) in one
dedicated thread that owns the write connection, then resolves every waiter of the batch. While
one batch commits, the next one gathers, so the cost of the commit (and of its fsync: WAL mode
with `synchronous=FULL`) is shared by every delivery that arrived meanwhile. `append` returns only
once its row is committed; a batch that fails fails all of its waiters, so nothing is
acknowledged that was not stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.batch import (
    MAX_BATCH,
    Appended,
    BatchWriter,
    RowError,
    Write,
    write_relay_status,
)
from pac_tui.webhooks.journal.writer import RELAY_STATUS_TIMEOUT_S, Lifecycle
from pac_tui.webhooks.models import Delivery

T = TypeVar("T")
Waiter = asyncio.Future[Any] | concurrent.futures.Future[Any]


class GroupCommitWriter:
    """Writes through `batch` from a thread of its own; `start()` it in the loop that appends."""

    def __init__(self, batch: BatchWriter) -> None:
        self.batch = batch
        self._life = Lifecycle(batch.path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._pending: deque[tuple[Write, Waiter]] = deque()
        self._wakeup: asyncio.Event | None = None

    @property
    def path(self) -> Path:
        return self.batch.path

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The writer coroutine's task while it runs (None before `start`)."""
        return self._writer_task

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open (or create) the journal and start the writer; StoreError if it is unusable."""
        self._life.check_new()
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pac-tui-journal"
        )
        try:
            await loop.run_in_executor(executor, self.batch.open)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._loop = loop
        self._executor = executor
        self._wakeup = asyncio.Event()
        self._life.state = "running"
        self._writer_task = loop.create_task(self._write_loop(), name="pac-tui-journal-writer")

    async def close(self) -> None:
        """Refuse new appends, commit everything already queued, then close the connection."""
        if self._life.state == "running":
            self._life.state = "closing"
            assert self._wakeup is not None
            self._wakeup.set()
        if self._writer_task is not None:
            await asyncio.wait([self._writer_task])  # returns, never raises, once it is done
        executor, self._executor = self._executor, None
        if executor is not None:
            assert self._loop is not None
            try:
                await self._loop.run_in_executor(executor, self.batch.close)
            finally:
                executor.shutdown(wait=False)
        self._life.state = "closed"

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the writer thread, the one that uses `batch.connection`."""
        assert self._loop is not None and self._executor is not None, "the writer is not started"
        return await self._loop.run_in_executor(self._executor, fn, *args)

    # -- writes -------------------------------------------------------------------------------

    async def append(self, delivery: Delivery) -> Appended:
        """Store `delivery`; returns once its row is durable. Raises StoreError if it was not.

        The token header is redacted again here, whatever the caller did.
        """
        self._life.check_running()
        if asyncio.get_running_loop() is not self._loop:
            raise StoreError("append to the webhook journal from the loop that started it")
        future: asyncio.Future[Appended] = self._loop.create_future()
        self._enqueue((True, schema.encode(delivery)), future)
        return await future

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        """Record what the relay made of a delivery (through the writer); False: no such row."""
        self._life.check_running()
        assert self._loop is not None
        future: asyncio.Future[bool] = self._loop.create_future()
        self._enqueue((False, (status, delivery_id)), future)
        return await future

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        """Like `aset_relay_status`, callable from any thread (e.g. via `asyncio.to_thread`).

        From another thread while the journal runs, the update joins the writer's next batch;
        otherwise (journal not started, or called on the loop itself) it is written directly.
        """
        loop = self._loop
        if self._life.running_elsewhere(loop):
            assert loop is not None
            done: concurrent.futures.Future[bool] = concurrent.futures.Future()
            try:
                loop.call_soon_threadsafe(
                    self._enqueue_from_thread, (False, (status, delivery_id)), done
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
        return write_relay_status(self.batch.file, delivery_id, status)

    def _enqueue(self, write: Write, waiter: Waiter) -> None:
        self._pending.append((write, waiter))
        assert self._wakeup is not None
        if not self._wakeup.is_set():
            self._wakeup.set()

    def _enqueue_from_thread(self, write: Write, waiter: concurrent.futures.Future[bool]) -> None:
        if self._life.state == "running":
            self._enqueue(write, waiter)
        else:
            waiter.set_exception(_NotRunning())

    async def _write_loop(self) -> None:
        assert self._loop is not None and self._wakeup is not None
        loop, wakeup, pending = self._loop, self._wakeup, self._pending
        in_flight: list[tuple[Write, Waiter]] = []
        try:
            while True:
                if not pending:
                    if self._life.state != "running":
                        return
                    wakeup.clear()
                    await wakeup.wait()
                    continue
                batch = [pending.popleft() for _ in range(min(len(pending), MAX_BATCH))]
                in_flight = batch
                writes = [write for write, _ in batch]
                try:
                    results = await loop.run_in_executor(self._executor, self.batch.write, writes)
                except Exception as exc:
                    for _, waiter in batch:
                        _fail(waiter, self._write_error(exc, len(batch)))
                    continue
                in_flight = []
                for (_, waiter), result in zip(batch, results, strict=True):
                    if isinstance(result, RowError):
                        _fail(waiter, result)
                    else:
                        _resolve(waiter, result)
        except BaseException as exc:
            # Cancelled (the loop is going away) or a bug: never leave a waiter hanging. The batch
            # in flight may still commit in the writer thread, but it is not acknowledged.
            self._life.state = "closed"
            for ops in (in_flight, pending):
                for _, waiter in ops:
                    _fail(waiter, self._write_error(exc, len(ops)))
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


def _resolve(future: Waiter, result: Any) -> None:
    if not future.done():  # a waiter that was cancelled no longer wants its result
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_result(result)


def _fail(future: Waiter, exc: Exception) -> None:
    if not future.done():
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            future.set_exception(exc)
