"""The journal writer of `webhook serve --workers N`: the parent process, once it has forked.

It owns the journal's only write connection, a `BatchWriter` (journal/batch.py). It reads whatever
the workers sent, writes it all in one transaction (the same batch writer as in one process: one
multi-row INSERT, COMMIT with synchronous=FULL) and only then answers each worker with the row ids
(the messages are in frames.py). It announces the server once every worker listens, and stops
the workers on SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from pac_tui.webhooks.journal.batch import MAX_BATCH, Appended, BatchWriter, RowError
from pac_tui.webhooks.multiproc.frames import Frames, frame

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


class Writer:
    """Writes what the workers send, in batches, and answers them; `run` until they are gone."""

    def __init__(self, batch: BatchWriter, workers: list[Worker]) -> None:
        self.batch = batch
        self.workers = workers
        self.stopping = False

    def run(self, announce: Callable[[], None], err: TextIO) -> int:
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        old_handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        selector = selectors.DefaultSelector()
        selector.register(wake_r, selectors.EVENT_READ, None)
        for worker in self.workers:
            selector.register(worker.sock, selectors.EVENT_READ, worker)
        code = 0
        try:
            self.batch.open()
            announced = False
            while any(not w.gone for w in self.workers):
                pending: list[tuple[Worker, int, bool, tuple[Any, ...]]] = []
                for key, _ in selector.select(timeout=READY_TIMEOUT_S if not announced else 1.0):
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
                        self._gone(worker, err)
                        continue
                    for message in worker.frames.feed(data):
                        if message[0] == "ready":
                            worker.ready = True
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
                if self.stopping:
                    self._stop_workers()
        finally:
            self._stop_workers()
            for worker in self.workers:
                worker.sock.close()
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

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_workers(self) -> None:
        for worker in self.workers:
            if not worker.gone and not worker.signalled:
                worker.signalled = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def _gone(self, worker: Worker, err: TextIO) -> None:
        worker.gone = True
        if not self.stopping and worker.ready:
            print(
                f"receiver process {worker.pid} stopped; the others go on",
                file=err,
                flush=True,
            )

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
