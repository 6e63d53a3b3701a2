"""Connects the dashboard to webhooks: runs the receiver in the app's loop, or, when another
process already receives (say `pac-tui webhook serve`), follows the shared journal instead.

The feed holds no screen: it posts `ui.messages` (history loaded, deliveries arrived, status,
a delivery read back) through the `post` it is given, and the screen shows them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from pac_tui.core.errors import PacTuiError
from pac_tui.ui.messages import (
    DeliveriesArrived,
    DeliveryRead,
    HistoryLoaded,
    Post,
    RunWorker,
    WebhookStatus,
    tell,
)
from pac_tui.ui.widgets.event_log import LogEntry
from pac_tui.webhooks.journal import JournalReader
from pac_tui.webhooks.models import Delivery
from pac_tui.webhooks.service import WebhookService, journal_path

if TYPE_CHECKING:
    from pac_tui.ui.context import AppContext

FLUSH_SECONDS = 0.1
TAIL_SECONDS = 0.25
HISTORY = 500  # deliveries shown from the journal at start


class WebhookFeed:
    """Deliveries in, messages out. The receiver (or the journal's tail) queues each delivery;
    `flush`, on the pane's one timer, posts the batch as one `DeliveriesArrived`."""

    def __init__(self, ctx: AppContext, post: Post, run_worker: RunWorker) -> None:
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker
        self.service: WebhookService | None = None
        self.last_per_repo: dict[str, LogEntry] = {}
        self._pending: list[Delivery] = []
        self._changed: set[str] = set()  # rows whose Webhook cell changed since the flush
        self._tail: asyncio.Task[None] | None = None
        self.reader = JournalReader(journal_path(self.ctx.store.data_dir))

    @property
    def receiver_url(self) -> str | None:
        """Where the receiver listens; None while it does not (off, starting, or following)."""
        return self.service.url if self.service is not None else None

    def start(self) -> None:
        self._run_worker(self._start(), group="webhooks", exit_on_error=False)

    def _status(self, status: str) -> None:
        self._post(WebhookStatus(status))

    async def _start(self) -> None:
        last_id = await self._load_history()
        if not self.ctx.receive_webhooks:
            self._status("receiver off")
            return
        settings = self.ctx.config.webhook
        port = settings.port if self.ctx.webhook_port is None else self.ctx.webhook_port
        service = WebhookService(
            self.ctx.config,
            self.ctx.store.data_dir,
            self.ctx.clock,
            relay_url=settings.relay,
            smee_url=settings.smee,
            on_delivery=self.deliver,
            on_smee_state=lambda state: self._status(f"smee {state}"),
        )
        try:
            url = await service.start(settings.host, port)
        except PacTuiError as exc:
            self._status(f"not receiving ({exc}); following the journal")
            self._tail = asyncio.create_task(self._follow_journal(last_id))
            return
        self.service = service
        relay = f" → relay {settings.relay}" if settings.relay else ""
        self._status(f"receiving at {url}{relay}")

    async def _load_history(self) -> int:
        """Post the recent deliveries (`HistoryLoaded`); returns the newest id (0 if none)."""
        if not self.reader.path.exists():
            return 0
        try:
            recent, last = await asyncio.to_thread(self._read_history)
        except PacTuiError as exc:
            tell(self._post, str(exc), title="Webhook journal", severity="error")
            return 0
        self.last_per_repo.update({name: LogEntry.of(d) for name, d in last.items()})
        self._post(HistoryLoaded(list(reversed(recent)), repos=None))
        return recent[0].id or 0 if recent else 0

    def _read_history(self) -> tuple[list[Delivery], dict[str, Delivery]]:
        """In a thread: the newest deliveries (newest first) and the last one per repository."""
        return self.reader.recent(HISTORY), self.reader.last_per_repo()

    def deliver(self, delivery: Delivery) -> None:
        """Queue a delivery for the next flush: called once per delivery, so it stays cheap."""
        self._pending.append(delivery)
        if delivery.repo:
            self.last_per_repo[delivery.repo] = LogEntry.of(delivery)
            self._changed.add(delivery.repo)

    def flush(self) -> None:
        """Post what arrived since the last flush, if anything, as one message."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        changed, self._changed = sorted(self._changed), set()
        self._post(DeliveriesArrived(batch, changed))

    async def _follow_journal(self, last_id: int) -> None:
        while True:
            try:
                batch = await asyncio.to_thread(self.reader.after, last_id, 2000)
            except PacTuiError:
                batch = []
            for delivery in batch:
                self.deliver(delivery)
                last_id = delivery.id or last_id
            if not batch:
                await asyncio.sleep(TAIL_SECONDS)

    def open(self, delivery_id: int) -> None:
        """Read a delivery back from the journal; posts `DeliveryRead` (or says it is gone)."""
        self._run_worker(self._open(delivery_id), exit_on_error=False)

    async def _open(self, delivery_id: int) -> None:
        delivery = await asyncio.to_thread(self.reader.get, delivery_id)
        if delivery is None:
            tell(self._post, f"Delivery {delivery_id} is no longer in the journal.")
            return
        self._post(DeliveryRead(delivery))

    async def stop(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
        if self.service is not None:
            await self.service.stop()
            self.service = None
