"""Connects the dashboard to webhooks: runs the receiver in the app's loop, or, when another
process already receives (say `pac-tui webhook serve`), follows the shared journal instead."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from pac_tui.core.errors import PacTuiError
from pac_tui.ui.widgets.event_log import LogEntry
from pac_tui.ui.widgets.webhook_pane import WebhookPane
from pac_tui.webhooks.journal import JournalReader
from pac_tui.webhooks.models import Delivery
from pac_tui.webhooks.service import WebhookService, journal_path

if TYPE_CHECKING:
    from pac_tui.ui.screens.dashboard import DashboardScreen

FLUSH_SECONDS = 0.1
TAIL_SECONDS = 0.25
HISTORY = 500  # deliveries shown from the journal at start


class WebhookFeed:
    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.ctx = screen.ctx
        self.service: WebhookService | None = None
        self.last_per_repo: dict[str, LogEntry] = {}
        self._changed = False
        self._tail: asyncio.Task[None] | None = None
        self.reader = JournalReader(journal_path(self.ctx.store.data_dir))

    @property
    def pane(self) -> WebhookPane:
        return self.screen.query_one("#webhooks", WebhookPane)

    def start(self) -> None:
        self.screen.run_worker(self._start(), group="webhooks", exit_on_error=False)

    async def _start(self) -> None:
        last_id = await asyncio.to_thread(self._load_history)
        self.screen.flush_events()
        if not self.ctx.receive_webhooks:
            self.pane.set_status("receiver off")
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
            on_smee_state=lambda state: self.pane.set_status(f"smee {state}"),
        )
        try:
            url = await service.start(settings.host, port)
        except PacTuiError as exc:
            self.pane.set_status(f"not receiving ({exc}); following the journal")
            self._tail = asyncio.create_task(self._follow_journal(last_id))
            return
        self.service = service
        relay = f" → relay {settings.relay}" if settings.relay else ""
        self.pane.set_status(f"receiving at {url}{relay}")

    def _load_history(self) -> int:
        """Recent deliveries into the log and the table; returns the newest id (0 if none)."""
        if not self.reader.path.exists():
            return 0
        try:
            recent = self.reader.recent(HISTORY)
            last = self.reader.last_per_repo()
        except PacTuiError as exc:
            self.screen.notify(str(exc), title="Webhook journal", severity="error")
            return 0
        for delivery in reversed(recent):
            self.pane.log_view.push(delivery)
        self.last_per_repo.update({name: LogEntry.of(d) for name, d in last.items()})
        self._changed = True
        return recent[0].id or 0 if recent else 0

    def deliver(self, delivery: Delivery) -> None:
        self.pane.log_view.push(delivery)
        if delivery.repo:
            self.last_per_repo[delivery.repo] = LogEntry.of(delivery)
            self._changed = True

    def take_changed_repos(self) -> bool:
        changed, self._changed = self._changed, False
        return changed

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

    async def open(self, delivery_id: int) -> None:
        from pac_tui.ui.screens.event_detail import EventDetailScreen

        delivery = await asyncio.to_thread(self.reader.get, delivery_id)
        if delivery is None:
            self.screen.notify(f"Delivery {delivery_id} is no longer in the journal.")
            return
        self.screen.app.push_screen(EventDetailScreen(delivery, self.ctx.config))

    async def stop(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
        if self.service is not None:
            await self.service.stop()
            self.service = None
