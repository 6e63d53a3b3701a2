"""`pac-tui webhook serve --workers N`: N receiver processes in front of one journal writer.

One CPython process tops out near 5,000 deliveries/s on a small machine: HTTP and judging keep
its one core busy (bench/RESULTS.md). With N > 1:

- The parent binds N listening sockets to the same address with SO_REUSEPORT (the kernel spreads
  the connections over them), forks N workers, and then becomes the **journal writer**: it owns
  the journal's only write connection.
- Each worker runs the aiohttp receiver (HTTP, token check, summaries, relay, printing) on its
  own event loop. Its journal is a `JournalClient`: `append` sends the encoded row to the writer
  over a socketpair and waits for the writer's answer.
- The writer reads whatever the workers sent, writes it all in one transaction (the same group
  commit as in one process: one multi-row INSERT, COMMIT with synchronous=FULL) and only then
  answers each worker with the row ids. A worker answers 2xx only once it has that answer, so a
  2xx still means the row is committed.

If the writer dies, the workers fail the deliveries they wait for (503: GitLab retries) and exit.
If a worker dies, the others go on (its listening socket closes with it). SIGTERM or SIGINT to
the parent stops the workers (each finishes what it has in flight), then the writer.

Messages are length-prefixed `marshal` frames (both ends are this module, same interpreter):
worker → writer `("ready",)` once listening, `(request_id, insert?, params)` per write;
writer → worker `(True, [(request_id, result), ...])` per committed batch, or `(False, message,
[request_id, ...])` for a batch that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import marshal
import os
import selectors
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pac_tui.clock import Clock
from pac_tui.config import Config
from pac_tui.errors import PacTuiError, StoreError
from pac_tui.webhooks import journal_schema as schema
from pac_tui.webhooks.journal import MAX_BATCH, RELAY_STATUS_TIMEOUT_S, Appended, Journal
from pac_tui.webhooks.models import Delivery

_LENGTH = struct.Struct("!I")
_READ_SIZE = 1 << 16  # under malloc's mmap threshold: no mmap/munmap per read
READY_TIMEOUT_S = 60.0


def default_workers() -> int:
    """One receiver per CPU where the kernel balances SO_REUSEPORT sockets (Linux), else 1."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _frame(message: object) -> bytes:
    data = marshal.dumps(message)
    return _LENGTH.pack(len(data)) + data


class _Frames:
    """Splits a byte stream into the messages `_frame` made."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        buffer = self._buffer
        buffer += data
        messages = []
        pos = 0
        while len(buffer) - pos >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, pos)
            end = pos + _LENGTH.size + size
            if end > len(buffer):
                break
            # only ever from this module's other end of a socketpair
            messages.append(marshal.loads(buffer[pos + _LENGTH.size : end]))  # noqa: S302
            pos = end
        del buffer[:pos]
        return messages


# -- the worker side --------------------------------------------------------------------------


class JournalClient(Journal):
    """A Journal whose writes go to the writer process; reads open the file directly."""

    def __init__(self, path: Path, sock: socket.socket, *, retention: int = 1_000_000) -> None:
        super().__init__(path, retention=retention)
        self._sock = sock
        self._transport: asyncio.Transport | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._next_request = 0
        self._outbox: list[bytes] = []
        self.writer_gone: asyncio.Event | None = None

    async def start(self) -> None:
        if self._state != "new":
            raise StoreError(f"the webhook journal {self.path} was already started")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.writer_gone = asyncio.Event()
        self._transport, _ = await loop.create_unix_connection(
            lambda: _ClientProtocol(self), sock=self._sock
        )
        self._state = "running"

    def ready(self) -> None:
        """Tell the writer this worker listens."""
        assert self._transport is not None
        self._transport.write(_frame(("ready",)))

    async def close(self) -> None:
        if self._state == "running":
            self._state = "closing"
        if self._waiting:  # the writer answers them (or goes away, which fails them)
            await asyncio.wait(list(self._waiting.values()))
        if self._transport is not None:
            self._transport.close()
        self._state = "closed"
        self._close_readers()

    async def append(self, delivery: Delivery) -> Appended:
        self._check_running()
        result = await self._request(True, schema.encode(delivery))
        return Appended(*result)

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        self._check_running()
        return bool(await self._request(False, (status, delivery_id)))

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        loop = self._loop
        if self._state == "running" and loop is not None and not _on_loop(loop):
            done = asyncio.run_coroutine_threadsafe(
                self.aset_relay_status(delivery_id, status), loop
            )
            return done.result(timeout=RELAY_STATUS_TIMEOUT_S)
        return self._set_relay_status_directly(delivery_id, status)

    def _request(self, insert: bool, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        assert self._loop is not None and self._transport is not None
        self._next_request += 1
        request = self._next_request
        future = self._loop.create_future()
        self._waiting[request] = future
        # The requests of one loop iteration (several connections' deliveries) go in one write.
        if not self._outbox:
            self._loop.call_soon(self._flush)
        self._outbox.append(_frame((request, insert, params)))
        return future

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(outbox))

    def _answered(self, message: Any) -> None:
        waiting = self._waiting
        if message[0]:
            for request, result in message[1]:
                future = waiting.pop(request, None)
                if future is not None and not future.done():
                    future.set_result(result)
        else:
            _, problem, requests = message
            for request in requests:
                future = waiting.pop(request, None)
                if future is not None and not future.done():
                    future.set_exception(
                        StoreError(
                            f"cannot write to the webhook journal {self.path}: {problem}; the "
                            f"{len(requests)} deliveries of this batch were not stored"
                        )
                    )

    def _writer_lost(self) -> None:
        self._state = "closed"
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(
                    StoreError(
                        f"the webhook journal writer process stopped; the delivery was not "
                        f"stored in {self.path}"
                    )
                )
        if self.writer_gone is not None:
            self.writer_gone.set()


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, client: JournalClient) -> None:
        self._client = client
        self._frames = _Frames()

    def data_received(self, data: bytes) -> None:
        for message in self._frames.feed(data):
            self._client._answered(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._writer_lost()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


# -- the parent: sockets, workers, the writer -------------------------------------------------


@dataclass
class WorkerSpec:
    """What each worker runs: everything `webhook serve` would run in one process."""

    config: Config
    data_dir: Path
    clock: Clock
    journal_path: Path
    relay_url: str | None
    smee_url: str | None  # only the first worker subscribes
    on_delivery: Callable[[Delivery], None]
    on_smee_state: Callable[[str], None]
    out: TextIO
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None


@dataclass
class _Worker:
    index: int
    pid: int
    sock: socket.socket
    frames: _Frames = field(default_factory=_Frames)
    ready: bool = False
    gone: bool = False
    signalled: bool = False


def listen_reuseport(host: str, port: int, count: int) -> tuple[list[socket.socket], str]:
    """`count` listening sockets on host:port (0: any free port) sharing it with SO_REUSEPORT;
    returns them and the URL. Refuses a port that anything else already listens on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise _listen_error(host, port, exc) from None
    sockets: list[socket.socket] = []
    try:
        if port:
            # SO_REUSEPORT alone would let this join another server on the port (even another
            # pac-tui): a plain bind first fails if anything holds it.
            with socket.socket(family, kind, proto) as probe:
                probe.bind(address)
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            address = (address[0], sock.getsockname()[1], *address[2:])
            sock.listen(1024)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise _listen_error(host, port, exc) from None
    shown = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
    return sockets, f"http://{shown}:{address[1]}/"


def _listen_error(host: str, port: int, exc: OSError) -> PacTuiError:
    return PacTuiError(
        f"cannot listen for webhooks on {host}:{port}: {exc.strerror or exc}; "
        "choose another --port (or [webhook] port) or stop what uses it"
    )


def serve(spec: WorkerSpec, host: str, port: int, workers: int, err: TextIO) -> int:
    """Run `workers` receiver processes and the journal writer until SIGTERM / SIGINT."""
    journal = Journal(spec.journal_path, retention=spec.config.webhook.retention)
    journal.open_writer()  # creates or migrates the file; errors surface before any fork
    journal.close_writer()
    listeners, url = listen_reuseport(host, port, workers)
    procs: list[_Worker] = []
    try:
        for index in range(workers):
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            pid = os.fork()
            if pid == 0:  # the worker
                mine.close()
                for other in procs:
                    other.sock.close()
                for i, listener in enumerate(listeners):
                    if i != index:
                        listener.close()
                _worker_main(spec, index, listeners[index], theirs)
            theirs.close()
            procs.append(_Worker(index, pid, mine))
    finally:
        for listener in listeners:
            listener.close()
    return _Writer(Journal(spec.journal_path, retention=spec.config.webhook.retention), procs).run(
        lambda: print(
            f"Receiving GitLab webhooks at {url} (journal: {spec.journal_path}; {workers} "
            "receiver processes). Ctrl+C stops.",
            file=err,
            flush=True,
        ),
        err,
    )


class _Writer:
    def __init__(self, journal: Journal, workers: list[_Worker]) -> None:
        self.journal = journal
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
            self.journal.open_writer()
            announced = False
            while any(not w.gone for w in self.workers):
                pending: list[tuple[_Worker, int, bool, tuple[Any, ...]]] = []
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
            self.journal.close_writer()
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

    def _gone(self, worker: _Worker, err: TextIO) -> None:
        worker.gone = True
        if not self.stopping and worker.ready:
            print(
                f"receiver process {worker.pid} stopped; the others go on",
                file=err,
                flush=True,
            )

    def _write(self, pending: list[tuple[_Worker, int, bool, tuple[Any, ...]]]) -> None:
        for start in range(0, len(pending), MAX_BATCH):
            batch = pending[start : start + MAX_BATCH]
            answers: dict[int, list[Any]] = {}
            try:
                results = self.journal.write([(insert, params) for _, _, insert, params in batch])
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
                answers.setdefault(worker.index, []).append((request, result))
            for worker in self.workers:
                if worker.index in answers:
                    self._send(worker, (True, answers[worker.index]))

    def _send(self, worker: _Worker, message: object) -> None:
        if worker.gone:
            return
        with contextlib.suppress(OSError):  # it died meanwhile: its EOF comes next
            worker.sock.sendall(_frame(message))


def _worker_main(
    spec: WorkerSpec, index: int, listener: socket.socket, sock: socket.socket
) -> NoReturn:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with asyncio.Runner(loop_factory=spec.loop_factory) as runner:
            code = runner.run(_worker(spec, index, listener, sock))
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            spec.out.flush()
            sys.stderr.flush()
        os._exit(code)


async def _worker(
    spec: WorkerSpec, index: int, listener: socket.socket, sock: socket.socket
) -> int:
    from pac_tui.webhooks.service import WebhookService

    client = JournalClient(spec.journal_path, sock, retention=spec.config.webhook.retention)
    service = WebhookService(
        spec.config,
        spec.data_dir,
        spec.clock,
        relay_url=spec.relay_url,
        smee_url=spec.smee_url if index == 0 else None,
        on_delivery=spec.on_delivery,
        on_smee_state=spec.on_smee_state,
        journal=client,
    )
    await service.start("", 0, listener)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client.ready()
    assert client.writer_gone is not None
    gone = client.writer_gone
    try:
        while not stop.is_set() and not gone.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, gone), timeout=0.5)
            spec.out.flush()
    finally:
        await service.stop()
        spec.out.flush()
    return 1 if gone.is_set() and not stop.is_set() else 0


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
