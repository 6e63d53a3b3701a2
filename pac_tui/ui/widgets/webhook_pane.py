"""The pane where the live webhook log goes; it has its final place in the layout already."""

from __future__ import annotations

from textual.widgets import Static


class WebhookPane(Static):
    DEFAULT_CLASSES = "pane"

    def on_mount(self) -> None:
        self.border_title = "Webhooks"
        self.update("[dim]No webhook receiver is running in this session.[/dim]")
