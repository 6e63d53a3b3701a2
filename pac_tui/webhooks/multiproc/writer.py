"""The journal writer of `webhook serve --workers N`: the parent process, once it has forked.

It owns the journal's only write connection, a `BatchWriter` (journal/batch.py). It reads whatever
the workers sent, writes it all in one transaction (the same batch writer as in one process: one
multi-row INSERT, COMMIT with synchronous=FULL) and only then answers each worker with the row ids
(the messages are in frames.py). It announces the server once every worker listens, and stops
the workers on SIGTERM or SIGINT.

A worker that dies is reaped at once (no zombie) and started again through `spawn` after a
backoff (respawn.py), with a line on stderr each time. `run` returns 1, saying why, when the
group stops without being asked: a worker that keeps dying, or a journal write that raised.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from pac_tui.webhooks.journal.batch import MAX_BATCH, Appended, BatchWriter, RowError
from pac_tui.webhooks.multiproc.frames import Frames, frame
from pac_tui.webhooks.multiproc.respawn import Deaths, RespawnPolicy, describe_status

_READ_SIZE = 1 << 16  # under malloc's mmap threshold: no mmap/munmap per read
READY_TIMEOUT_S = 60.0


@dataclass
class Worker:
    """The writer's view of one receiver process: its pid, its socket, what it said so far."""

    index: int
    pid: int
    sock: socket.socket
    frames: Frames = field(default_factory=Frames)
    ready: bool = False
    gone: bool = False
    signalled: bool = False


# What a new worker closes first of what it inherits from the writer.
Closable = socket.socket | selectors.BaseSelector
# Starts the worker of slot `index` again: a new process (closing those in it) and its socket.
Spawn = Callable[[int, list[Closable]], Worker]


class Writer:
    """Writes what the workers send, in batches, and answers them; `run` until they are gone."""

    def __init__(
        self,
        batch: BatchWriter,
        workers: list[Worker],
        spawn: Spawn | None = None,
        policy: RespawnPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batch = batch
        self.workers = workers
        self.spawn = spawn
        self.policy = policy or RespawnPolicy()
        self.monotonic = monotonic
        self.deaths = {w.index: Deaths(started_at=monotonic()) for w in workers}
        self.stopping = False
        self.failure: str | None = None  # why the group stopped unasked
        self._selector: selectors.BaseSelector = selectors.DefaultSelector()
        self._wake: list[Closable] = []

    def run(self, announce: Callable[[], None], err: TextIO) -> int:
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        old_handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        selector = self._selector
        selector.register(wake_r, selectors.EVENT_READ, None)
        for worker in self.workers:
            selector.register(worker.sock, selectors.EVENT_READ, worker)
        self._wake = [wake_r, wake_w, selector]
        code = 0
        try:
            self.batch.open()
            announced = False
            while any(not w.gone for w in self.workers) or self._respawn_due() is not None:
                pending: list[tuple[Worker, int, bool, tuple[Any, ...]]] = []
                for key, _ in selector.select(timeout=self._select_timeout(announced)):
                    worker = key.data
                    if worker is None:
                        with contextlib.suppress(OSError):
                            wake_r.recv(4096)
                        continue
                    try:
                        data = worker.sock.recv(_READ_SIZE)
                    except OSError:
                        data = b""
                    if not data:
                        selector.unregister(worker.sock)
                        self._gone(worker, err, respawn=announced)
                        continue
                    for message in worker.frames.feed(data):
                        if message[0] == "ready":
                            worker.ready = True
                            if announced:
                                print(
                                    f"receiver process {worker.pid} started in its place",
                                    file=err,
                                    flush=True,
                                )
                        else:
                            pending.append((worker, *message))
                if pending:
                    self._write(pending)
                if not announced:
                    if any(w.gone for w in self.workers):
                        print("a receiver process failed to start", file=err, flush=True)
                        self.stopping = True
                        code = 1
                    elif all(w.ready for w in self.workers):
                        announce()
                        announced = True
                elif not self.stopping:
                    self._respawn(err)
                if self.failure is not None and not self.stopping:
                    print(f"{self.failure}: stopping webhook serve", file=err, flush=True)
                    self.stopping = True
                    code = 1
                if self.stopping:
                    self._stop_workers()
        except Exception as exc:  # the writer itself failed: the receivers cannot go on
            self.failure = f"the journal writer failed ({exc or type(exc).__name__})"
            print(f"{self.failure}: stopping webhook serve", file=err, flush=True)
            code = 1
        finally:
            self._stop_workers()
            for worker in self.workers:
                worker.sock.close()
                if not worker.gone:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(worker.pid, 0)
            self.batch.close()
            selector.close()
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            wake_r.close()
            wake_w.close()
        return code

    def _select_timeout(self, announced: bool) -> float:
        if not announced:
            return READY_TIMEOUT_S
        due = self._respawn_due()
        if due is None:
            return 1.0
        return min(1.0, max(0.0, due - self.monotonic()))

    def _respawn_due(self) -> float | None:
        """When the next worker is to be started again (None: none is)."""
        if self.stopping or self.spawn is None:
            return None
        times = [d.respawn_at for d in self.deaths.values() if d.respawn_at is not None]
        return min(times) if times else None

    def _respawn(self, err: TextIO) -> None:
        """Start again each worker whose backoff is over."""
        now = self.monotonic()
        for position, worker in enumerate(self.workers):
            deaths = self.deaths[worker.index]
            if not worker.gone or deaths.respawn_at is None or deaths.respawn_at > now:
                continue
            assert self.spawn is not None
            deaths.respawn_at = None
            keep: list[Closable] = [w.sock for w in self.workers if not w.gone]
            try:
                fresh = self.spawn(worker.index, [*keep, *self._wake])
            except Exception as exc:  # no socket, no fork: counts as a death in a row
                self._died(worker, f"could not be started again ({exc})", err)
                continue
            deaths.started_at = self.monotonic()
            self.workers[position] = fresh
            self._selector.register(fresh.sock, selectors.EVENT_READ, fresh)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_workers(self) -> None:
        for worker in self.workers:
            if not worker.gone and not worker.signalled:
                worker.signalled = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def _gone(self, worker: Worker, err: TextIO, *, respawn: bool) -> None:
        """`worker`'s socket closed: it is exiting. Reap it, and start another unless stopping."""
        worker.gone = True
        worker.sock.close()
        status = 0
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(worker.pid, 0)
        if self.stopping or not respawn:
            return
        self._died(worker, f"receiver process {worker.pid} {describe_status(status)}", err)

    def _died(self, worker: Worker, what: str, err: TextIO) -> None:
        deaths = self.deaths[worker.index]
        if self.spawn is None:
            print(f"{what}; the others go on", file=err, flush=True)
            if all(w.gone for w in self.workers):
                self.failure = "every receiver process has stopped"
            return
        if deaths.died(self.monotonic(), self.policy):
            wait = deaths.respawn_at - self.monotonic() if deaths.respawn_at else 0.0
            print(f"{what}; starting another in {max(0.0, wait):.1f} s", file=err, flush=True)
        else:
            self.failure = f"{what}, {deaths.in_a_row} times in a row"

    def _write(self, pending: list[tuple[Worker, int, bool, tuple[Any, ...]]]) -> None:
        for start in range(0, len(pending), MAX_BATCH):
            batch = pending[start : start + MAX_BATCH]
            answers: dict[int, list[Any]] = {}
            try:
                results = self.batch.write([(insert, params) for _, _, insert, params in batch])
            except Exception as exc:  # nothing of the batch is stored: say so to each waiter
                problem = str(exc) or type(exc).__name__
                failed: dict[int, list[int]] = {}
                for worker, request, _, _ in batch:
                    failed.setdefault(worker.index, []).append(request)
                for worker in self.workers:
                    if worker.index in failed:
                        self._send(worker, (False, problem, failed[worker.index]))
                continue
            for (worker, request, _, _), result in zip(batch, results, strict=True):
                if isinstance(result, Appended):
                    result = (result.id, result.duplicate)
                elif isinstance(result, RowError):
                    result = str(result)  # this row alone failed: ProcessWriter raises it
                answers.setdefault(worker.index, []).append((request, result))
            for worker in self.workers:
                if worker.index in answers:
                    self._send(worker, (True, answers[worker.index]))

    def _send(self, worker: Worker, message: object) -> None:
        if worker.gone:
            return
        with contextlib.suppress(OSError):  # it died meanwhile: its EOF comes next
            worker.sock.sendall(frame(message))
