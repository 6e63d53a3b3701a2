"""The webhook pipeline as one unit: journal, receiver, relay and smee source.

`pac-tui webhook serve` runs it headless; the dashboard runs the same thing inside its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config
from pac_tui.webhooks.callbacks import MaybeAwaitable, run_callback
from pac_tui.webhooks.journal import JOURNAL_NAME, Journal, JournalWriter
from pac_tui.webhooks.limits import ConnectionLimits
from pac_tui.webhooks.models import Delivery, Verdict
from pac_tui.webhooks.receiver import Receiver
from pac_tui.webhooks.relay import Relay
from pac_tui.webhooks.smee import SmeeSource

RELAYED = frozenset({Verdict.ACCEPTED, Verdict.UNVERIFIED, Verdict.UNKNOWN_REPO})

Listener = Callable[[Delivery], MaybeAwaitable]


def journal_path(data_dir: Path) -> Path:
    return data_dir / JOURNAL_NAME


class WebhookService:
    def __init__(
        self,
        config: Config,
        data_dir: Path,
        clock: Clock,
        *,
        relay_url: str | None = None,
        smee_url: str | None = None,
        on_delivery: Listener | None = None,
        on_smee_state: Callable[[str], None] | None = None,
        journal: JournalWriter | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        # `journal`: another JournalWriter (a worker of `webhook serve --workers N` hands its rows
        # to the writer process); by default the journal in data_dir, which can also be read.
        self.journal: JournalWriter = journal or Journal(
            journal_path(data_dir),
            retention=config.webhook.retention,
            max_bytes=config.webhook.journal_max_bytes,
        )
        self.receiver = Receiver(
            config, self.journal, clock, on_delivery=self._delivered, limits=limits
        )
        self.relay = Relay(relay_url, on_status=self._relay_status) if relay_url else None
        self.smee_url = smee_url
        self.on_delivery = on_delivery
        self.on_smee_state = on_smee_state
        self._smee_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str | None:
        """Where the receiver listens, once started."""
        return self.receiver.url

    async def start(self, host: str, port: int, sock: socket.socket | None = None) -> str:
        await self.journal.start()
        try:
            url = await self.receiver.start(host, port, sock)
        except BaseException:
            await self.journal.close()
            raise
        if self.relay is not None:
            await self.relay.start()
        if self.smee_url:
            source = SmeeSource(
                self.smee_url,
                lambda headers, body: self._from_smee(headers, body),
                on_state=self.on_smee_state,
            )
            self._smee_task = asyncio.create_task(source.run(), name="smee")
        return url

    async def stop(self) -> None:
        if self._smee_task is not None:
            self._smee_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._smee_task
        await self.receiver.stop()
        if self.relay is not None:
            await self.relay.close()
        await self.journal.close()

    async def _from_smee(self, headers: Mapping[str, str], body: bytes) -> None:
        await self.receiver.ingest(headers, body, source="smee")

    async def _delivered(self, delivery: Delivery, headers: Mapping[str, str], body: bytes) -> None:
        if self.relay is not None and delivery.verdict in RELAYED:
            self.relay.submit(delivery.id, dict(headers), body)
        if self.on_delivery is not None:
            await run_callback(self.on_delivery, delivery)

    async def _relay_status(self, delivery_id: int | None, status: str) -> None:
        if delivery_id is not None:
            await asyncio.to_thread(self.journal.set_relay_status, delivery_id, status)
