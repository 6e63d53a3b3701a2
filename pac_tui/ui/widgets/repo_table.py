"""The repositories table. One 1 Hz tick updates only the cells whose text changed."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from pac_tui.actions.status import RepoStatus
from pac_tui.core.humanize import ago
from pac_tui.ui.widgets.badges import badge, countdown_text
from pac_tui.ui.widgets.event_log import LogEntry
from pac_tui.webhooks.models import Verdict

# What matters most comes first, so a narrow terminal cuts the least useful columns.
COLUMNS = (
    ("Name", "name"),
    ("State", "state"),
    ("Expires in", "expires"),
    ("Last webhook", "webhook"),
    ("Cluster", "cluster"),
    ("GitLab project", "project"),
    ("Instance", "host"),
    ("Last refresh", "refreshed"),
)


def _webhook_cell(entry: LogEntry | None, now: datetime) -> Text:
    if entry is None:
        return Text("—", style="dim")
    style = "bold red" if entry.verdict in (Verdict.REJECTED, Verdict.MALFORMED) else ""
    return Text(f"{ago(entry.received_at, now)} · {entry.kind}", style=style)


def _cells(
    status: RepoStatus,
    now: datetime,
    webhook: LogEntry | None = None,
    cluster: Text | None = None,
) -> dict[str, Text | str]:
    return {
        "name": Text(status.name, style="bold"),
        "state": badge(status),
        "expires": countdown_text(status),
        "webhook": _webhook_cell(webhook, now),
        "cluster": cluster if cluster is not None else Text("—", style="dim"),
        "project": status.project,
        "host": status.gitlab.split("://", 1)[-1],
        "refreshed": Text(ago(status.refreshed_at, now), style="dim")
        if status.refreshed_at
        else Text("—", style="dim"),
    }


def _key(value: Text | str) -> tuple[str, str]:
    return (value.plain, str(value.style)) if isinstance(value, Text) else (value, "")


class RepoTable(DataTable[Text | str]):
    """Rows are keyed by repository name.

    A tick rewrites only the cells of rows on screen whose text or style changed; rows off screen
    are brought up to date when they scroll into view. With 1,000 repositories this keeps a tick
    to the few dozen visible rows (bench/RESULTS.md).
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._shown: dict[str, dict[str, tuple[str, str]]] = {}
        self._order: list[str] = []
        self._latest: dict[str, RepoStatus] = {}
        self._now: datetime | None = None
        self._webhooks: dict[str, LogEntry] = {}
        self._clusters: dict[str, Text] = {}

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_name(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(
        self,
        statuses: list[RepoStatus],
        now: datetime,
        webhooks: dict[str, LogEntry] | None = None,
        clusters: dict[str, Text] | None = None,
    ) -> None:
        """Show exactly these rows, in this order; cheap when only countdowns moved."""
        self._latest = {s.name: s for s in statuses}
        self._now = now
        self._webhooks = webhooks or {}
        self._clusters = clusters or {}
        if [s.name for s in statuses] != self._order:
            self._rebuild(statuses, now)
            return
        self._update_visible()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._update_visible()

    def _update_visible(self) -> None:
        if self._now is None or not self._order:
            return
        first = max(0, int(self.scroll_y))
        last = min(len(self._order), first + max(self.size.height, 1) + 1)
        for name in self._order[first:last]:
            status = self._latest.get(name)
            if status is None:
                continue
            shown = self._shown[name]
            cells = _cells(status, self._now, self._webhooks.get(name), self._clusters.get(name))
            for key, value in cells.items():
                fingerprint = _key(value)
                if shown.get(key) != fingerprint:
                    shown[key] = fingerprint
                    self.update_cell(name, key, value, update_width=True)

    def _rebuild(self, statuses: list[RepoStatus], now: datetime) -> None:
        selected = self.selected_name
        self.clear()
        self._shown.clear()
        for status in statuses:
            name = status.name
            cells = _cells(status, now, self._webhooks.get(name), self._clusters.get(name))
            self.add_row(*cells.values(), key=status.name)
            self._shown[status.name] = {k: _key(v) for k, v in cells.items()}
        self._order = [s.name for s in statuses]
        if selected in self._order:
            self.move_cursor(row=self._order.index(selected))
