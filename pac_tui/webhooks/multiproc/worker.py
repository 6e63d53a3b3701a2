"""A receiver process of `webhook serve --workers N`: the aiohttp receiver on its own loop.

It runs everything `webhook serve` runs in one process (HTTP, token check, summaries, relay,
printing), with a `ProcessWriter` (journal/process_writer.py) as its journal, until SIGTERM /
SIGINT or until the writer process (writer.py) goes away. It never returns: it exits with its
own status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TextIO

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config
from pac_tui.webhooks.journal.process_writer import ProcessWriter
from pac_tui.webhooks.models import Delivery


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


def worker_main(
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

    journal = ProcessWriter(spec.journal_path, sock)
    service = WebhookService(
        spec.config,
        spec.data_dir,
        spec.clock,
        relay_url=spec.relay_url,
        smee_url=spec.smee_url if index == 0 else None,
        on_delivery=spec.on_delivery,
        on_smee_state=spec.on_smee_state,
        journal=journal,
    )
    await service.start("", 0, listener)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    journal.ready()
    assert journal.writer_gone is not None
    gone = journal.writer_gone
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
