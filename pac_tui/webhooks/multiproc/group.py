"""`pac-tui webhook serve --workers N`: N receiver processes in front of one journal writer.

One CPython process tops out near 5,000 deliveries/s on a small machine: HTTP and judging keep
its one core busy (bench/RESULTS.md). With N > 1:

- The parent binds N listening sockets to the same address with SO_REUSEPORT (the kernel spreads
  the connections over them), forks N workers, and then becomes the **journal writer**: it owns
  the journal's only write connection.
- Each worker runs the aiohttp receiver (HTTP, token check, summaries, relay, printing) on its
  own event loop. Its journal is a `ProcessWriter`: `append` sends the encoded row to the writer
  over a socketpair and waits for the writer's answer.
- The writer reads whatever the workers sent, writes it all in one transaction (the same group
  commit as in one process: one multi-row INSERT, COMMIT with synchronous=FULL) and only then
  answers each worker with the row ids. A worker answers 2xx only once it has that answer, so a
  2xx still means the row is committed.

If the writer dies, the workers fail the deliveries they wait for (503: GitLab retries) and exit.
If a worker dies, the others go on (its listening socket closes with it, so the kernel sends new
connections to the others); the writer reaps it and, after a backoff, binds a new socket to the
same address and forks a new worker in its place (respawn.py says when it gives up: then `serve`
returns 1). SIGTERM or SIGINT to the parent stops the workers (each finishes what it has in
flight), then the writer.

The pieces: worker.py (a receiver process), journal/process_writer.py (its journal), writer.py
(the writer, over journal/batch.py's `BatchWriter`), frames.py (the messages between them),
respawn.py (when a worker that died is started again).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import TextIO

from pac_tui.core.errors import PacTuiError
from pac_tui.webhooks.journal.batch import BatchWriter
from pac_tui.webhooks.multiproc.respawn import RespawnPolicy
from pac_tui.webhooks.multiproc.worker import WorkerSpec, worker_main
from pac_tui.webhooks.multiproc.writer import READY_TIMEOUT_S, Closable, Worker, Writer

__all__ = [
    "READY_TIMEOUT_S",
    "WorkerSpec",
    "default_workers",
    "listen_reuseport",
    "serve",
]


def default_workers() -> int:
    """One receiver per CPU where the kernel balances SO_REUSEPORT sockets (Linux), else 1."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def listen_reuseport(
    host: str, port: int, count: int, *, probe: bool = True
) -> tuple[list[socket.socket], str]:
    """`count` listening sockets on host:port (0: any free port) sharing it with SO_REUSEPORT;
    returns them and the URL. Refuses a port that anything else already listens on (unless
    `probe` is False: another socket for a port this group already holds)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise _listen_error(host, port, exc) from None
    sockets: list[socket.socket] = []
    try:
        if port and probe:
            # SO_REUSEPORT alone would let this join another server on the port (even another
            # pac-tui): a plain bind first fails if anything holds it.
            with socket.socket(family, kind, proto) as held:
                held.bind(address)
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


def serve(
    spec: WorkerSpec,
    host: str,
    port: int,
    workers: int,
    err: TextIO,
    policy: RespawnPolicy | None = None,
) -> int:
    """Run `workers` receiver processes and the journal writer until SIGTERM / SIGINT (0), or
    until the group cannot go on (1, with the reason on `err`)."""
    retention = spec.config.webhook.retention
    budget = spec.config.webhook.journal_max_bytes
    journal = BatchWriter(spec.journal_path, retention=retention, max_bytes=budget)
    journal.open()  # creates or migrates the file; errors surface before any fork
    journal.close()
    listeners, url = listen_reuseport(host, port, workers)
    bound_port = listeners[0].getsockname()[1]
    procs: list[Worker] = []
    try:
        for index in range(workers):
            others: list[Closable] = [p.sock for p in procs]
            others += [s for i, s in enumerate(listeners) if i != index]
            procs.append(_fork_worker(spec, index, listeners[index], others))
    finally:
        for listener in listeners:
            listener.close()

    def respawn(index: int, close: list[Closable]) -> Worker:
        (listener,), _ = listen_reuseport(host, bound_port, 1, probe=False)
        try:
            return _fork_worker(spec, index, listener, close)
        finally:
            listener.close()

    return Writer(
        BatchWriter(spec.journal_path, retention=retention, max_bytes=budget),
        procs,
        respawn,
        policy,
    ).run(
        lambda: print(
            f"Receiving GitLab webhooks at {url} (journal: {spec.journal_path}; {workers} "
            "receiver processes). Ctrl+C stops.",
            file=err,
            flush=True,
        ),
        err,
    )


def _fork_worker(
    spec: WorkerSpec, index: int, listener: socket.socket, close: list[Closable]
) -> Worker:
    """Fork the worker of slot `index` on `listener`; in the child, close what is in `close`
    (the other workers' sockets and listeners, the writer's own) first."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec.out.flush()
    pid = os.fork()
    if pid == 0:  # the worker
        with contextlib.suppress(ValueError):  # ValueError: not the main thread
            signal.set_wakeup_fd(-1)  # the writer's, inherited
        mine.close()
        for what in close:
            with contextlib.suppress(OSError):
                what.close()
        worker_main(spec, index, listener, theirs)
    theirs.close()
    return Worker(index, pid, mine)
