"""The webhook pane: a status line, a filter box and the live event log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from pac_tui.ui.widgets.event_log import EventLog
from pac_tui.webhooks.models import Delivery


class WebhookPane(Vertical):
    DEFAULT_CLASSES = "pane"
    BINDINGS = [
        Binding("slash", "filter", "Filter log"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, capacity: int, tz: tzinfo | None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.capacity = capacity
        self.tz = tz
        self.status = "not receiving"

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter by repository, event kind or text", id="log-filter")
        yield EventLog(self.capacity, self.tz, id="log")

    @property
    def log_view(self) -> EventLog:
        return self.query_one("#log", EventLog)

    def on_mount(self) -> None:
        self.border_title = "Webhooks"
        self._retitle()

    def add(self, deliveries: Iterable[Delivery]) -> None:
        """Show a batch of deliveries (oldest first): one repaint for the whole batch."""
        log = self.log_view
        for delivery in deliveries:
            log.push(delivery)
        log.flush()

    def set_status(self, status: str) -> None:
        self.status = status
        self._retitle()

    @on(EventLog.Changed)
    def _retitle(self) -> None:
        self.border_title = f"Webhooks · {self.status}"
        self.border_subtitle = self.log_view.title()

    def action_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.add_class("visible")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.value = ""
        box.remove_class("visible")
        self.log_view.set_filter("")
        self.log_view.focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.log_view.set_filter(event.value)

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.log_view.focus()
