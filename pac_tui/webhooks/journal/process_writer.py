"""The journal of a receiver process of `webhook serve --workers N` (multiproc/group.py).

`ProcessWriter` is a `JournalWriter` whose writes go to the writer process (multiproc/writer.py)
over a socketpair: `append` sends the encoded row and waits for the writer's answer, which comes
only once the row is committed. If the writer goes away, every delivery still waiting fails and
`writer_gone` is set. It has no reads: those open the journal file directly (`JournalReader`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.batch import Appended, write_relay_status
from pac_tui.webhooks.journal.file import JournalFile
from pac_tui.webhooks.journal.writer import RELAY_STATUS_TIMEOUT_S, Lifecycle
from pac_tui.webhooks.models import Delivery
from pac_tui.webhooks.multiproc.frames import Frames, frame


class ProcessWriter:
    """Writes to the journal at `path` through the writer process at the other end of `sock`."""

    def __init__(self, path: Path, sock: socket.socket) -> None:
        self.file = JournalFile(path)
        self._life = Lifecycle(self.file.path)
        self._sock = sock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.Transport | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._next_request = 0
        self._outbox: list[bytes] = []
        self.writer_gone: asyncio.Event | None = None

    @property
    def path(self) -> Path:
        return self.file.path

    async def start(self) -> None:
        self._life.check_new()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.writer_gone = asyncio.Event()
        self._transport, _ = await loop.create_unix_connection(
            lambda: _WriterConnection(self._answered, self._writer_lost), sock=self._sock
        )
        self._life.state = "running"

    def ready(self) -> None:
        """Tell the writer this worker listens."""
        assert self._transport is not None
        self._transport.write(frame(("ready",)))

    async def close(self) -> None:
        if self._life.state == "running":
            self._life.state = "closing"
        if self._waiting:  # the writer answers them (or goes away, which fails them)
            await asyncio.wait(list(self._waiting.values()))
        if self._transport is not None:
            self._transport.close()
        self._life.state = "closed"

    async def append(self, delivery: Delivery) -> Appended:
        self._life.check_running()
        result = await self._request(True, schema.encode(delivery))
        return Appended(*result)

    async def aset_relay_status(self, delivery_id: int, status: str) -> bool:
        self._life.check_running()
        return bool(await self._request(False, (status, delivery_id)))

    def set_relay_status(self, delivery_id: int, status: str) -> bool:
        loop = self._loop
        if self._life.running_elsewhere(loop):
            assert loop is not None
            done = asyncio.run_coroutine_threadsafe(
                self.aset_relay_status(delivery_id, status), loop
            )
            return done.result(timeout=RELAY_STATUS_TIMEOUT_S)
        return write_relay_status(self.file, delivery_id, status)

    def _request(self, insert: bool, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        assert self._loop is not None and self._transport is not None
        self._next_request += 1
        request = self._next_request
        future = self._loop.create_future()
        self._waiting[request] = future
        # The requests of one loop iteration (several connections' deliveries) go in one write.
        if not self._outbox:
            self._loop.call_soon(self._flush)
        self._outbox.append(frame((request, insert, params)))
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
                if future is None or future.done():
                    continue
                if isinstance(result, str):  # this write alone failed (a RowError's message)
                    future.set_exception(StoreError(f"{result} in {self.path}"))
                else:
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
        self._life.state = "closed"
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


class _WriterConnection(asyncio.Protocol):
    """The socketpair to the writer process: hands each answer on, and says when it closes."""

    def __init__(self, on_answer: Callable[[Any], None], on_lost: Callable[[], None]) -> None:
        self._on_answer = on_answer
        self._on_lost = on_lost
        self._frames = Frames()

    def data_received(self, data: bytes) -> None:
        for message in self._frames.feed(data):
            self._on_answer(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()
