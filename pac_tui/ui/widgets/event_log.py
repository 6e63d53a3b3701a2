"""The live webhook log: a ring buffer drawn with Textual's line API.

Deliveries arrive into a pending list; one timer (about every 100 ms) moves them into the ring and
refreshes the widget once, so a flood costs one repaint per flush, never one per event. Only the
visible lines are rendered. The view follows the tail until the user moves up; then new lines
are counted ("N new") instead of scrolling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pac_tui.webhooks.models import Delivery, Verdict

_VERDICT_STYLE = {
    Verdict.ACCEPTED: ("accepted", "green"),
    Verdict.UNVERIFIED: ("unverified", "yellow"),
    Verdict.UNKNOWN_REPO: ("unknown-repo", "magenta"),
    Verdict.REJECTED: ("REJECTED", "bold reverse red"),
    Verdict.MALFORMED: ("MALFORMED", "bold reverse red"),
}


@dataclass(frozen=True)
class LogEntry:
    """What the log keeps of a delivery: enough to draw and filter; the rest is in the journal."""

    id: int
    received_at: datetime
    repo: str
    kind: str
    verdict: Verdict
    summary: str
    pac_event: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> LogEntry:
        return cls(
            id=delivery.id or 0,
            received_at=delivery.received_at,
            repo=delivery.repo or delivery.project or "-",
            kind=delivery.kind or "-",
            verdict=delivery.verdict,
            summary=delivery.summary,
            pac_event=delivery.pac_event,
        )

    def matches(self, needle: str) -> bool:
        haystack = f"{self.repo} {self.kind} {self.verdict.value} {self.summary} {self.pac_event}"
        return needle in haystack.casefold()


class EventLog(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "move(-20)", show=False),
        Binding("pagedown", "move(20)", show=False),
        Binding("home", "first", show=False),
        Binding("end", "follow", "Follow"),
        Binding("enter", "open", "Detail"),
        Binding("p", "pause", "Pause"),
    ]

    class Opened(Message):
        def __init__(self, entry: LogEntry) -> None:
            super().__init__()
            self.entry = entry

    class Changed(Message):
        """The title line (count, new, paused, filter) changed."""

    def __init__(self, capacity: int = 10_000, tz: tzinfo | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.capacity = capacity
        self.tz = tz
        self.entries: list[LogEntry] = []
        self.view: list[LogEntry] = []
        self.pending: list[LogEntry] = []
        self.needle = ""
        self.cursor = -1  # index in view; -1: following the tail
        self.paused = False
        self.unseen = 0
        self.total = 0
        self._strips: dict[tuple[int, bool, int], Strip] = {}

    # ---- feeding ----------------------------------------------------------------------------

    def push(self, delivery: Delivery) -> None:
        """Queue a delivery; it appears at the next flush. Cheap: called once per delivery."""
        self.pending.append(LogEntry.of(delivery))

    def flush(self) -> None:
        """Move pending deliveries into the ring and redraw once (the pane's timer calls this)."""
        if self.paused or not self.pending:
            if self.paused and self.pending:
                self.unseen = len(self.pending)
                self.post_message(self.Changed())
            return
        new, self.pending = self.pending, []
        self.total += len(new)
        self.entries.extend(new)
        overflow = len(self.entries) - self.capacity
        if overflow > 0:
            del self.entries[:overflow]
        matching = [e for e in new if e.matches(self.needle)] if self.needle else new
        self.view.extend(matching)
        trimmed = len(self.view) - self.capacity
        if trimmed > 0:
            del self.view[:trimmed]
            if self.cursor >= 0:
                self.cursor = max(0, self.cursor - trimmed)
        if self.cursor >= 0:
            self.unseen += len(matching)
        self._resize()
        if self.following:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed())

    # ---- state --------------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self.cursor < 0

    @property
    def selected(self) -> LogEntry | None:
        if not self.view:
            return None
        return self.view[self.cursor if self.cursor >= 0 else len(self.view) - 1]

    def set_filter(self, needle: str) -> None:
        self.needle = needle.casefold().strip()
        self.view = (
            [e for e in self.entries if e.matches(self.needle)]
            if self.needle
            else list(self.entries)
        )
        self.cursor = -1
        self.unseen = 0
        self._resize()
        self.scroll_end(animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed())

    def title(self) -> str:
        parts = [f"{len(self.view)} shown" if self.needle else f"{self.total} received"]
        if self.needle:
            parts.append(f"filter: {self.needle}")
        if self.paused:
            parts.append(f"PAUSED, {len(self.pending)} waiting")
        elif self.unseen:
            parts.append(f"{self.unseen} new ↓ (end follows)")
        return " · ".join(parts)

    # ---- actions ------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        if not self.view:
            return
        current = self.cursor if self.cursor >= 0 else len(self.view) - 1
        target = max(0, min(len(self.view) - 1, current + delta))
        if target == len(self.view) - 1 and delta > 0:
            self.action_follow()
            return
        self.cursor = target
        self.scroll_to_region_of(target)
        self.refresh()
        self.post_message(self.Changed())

    def action_first(self) -> None:
        if self.view:
            self.cursor = 0
            self.scroll_home(animate=False)
            self.refresh()
            self.post_message(self.Changed())

    def action_follow(self) -> None:
        self.cursor = -1
        self.unseen = 0
        self.scroll_end(animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed())

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.unseen = 0
            self.flush()
        self.post_message(self.Changed())

    def action_open(self) -> None:
        entry = self.selected
        if entry is not None:
            self.post_message(self.Opened(entry))

    def scroll_to_region_of(self, index: int) -> None:
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)

    # ---- drawing ------------------------------------------------------------------------------

    def _resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.view))
        if len(self._strips) > 4096:
            self._strips.clear()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if index >= len(self.view):
            if not self.view and y == 0:
                return Strip([Segment("No webhook deliveries yet.", Style(dim=True))]).crop(
                    0, width
                )
            return Strip.blank(width)
        entry = self.view[index]
        chosen = index == (self.cursor if self.cursor >= 0 else -1)
        key = (entry.id, chosen, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_entry(entry, chosen, width)
            self._strips[key] = strip
        return strip

    def _render_entry(self, entry: LogEntry, chosen: bool, width: int) -> Strip:
        label, style = _VERDICT_STYLE[entry.verdict]
        when = entry.received_at.astimezone(self.tz).strftime("%H:%M:%S")
        text = Text.assemble(
            (when, "dim"),
            " ",
            (f"{label:<12}", style),
            " ",
            (f"{entry.repo[:18]:<18}", "bold"),
            " ",
            (f"{entry.kind[:20]:<20}", "cyan"),
            " ",
            entry.summary,
        )
        if entry.pac_event:
            text.append(f"  → PAC {entry.pac_event}", "dim green")
        if chosen:
            text.stylize("reverse")
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = list(text.render(self.app.console, end=""))
        return Strip(segments, width)
