"""The repositories table, drawn with Textual's line API (as the webhook log is).

Only the lines on screen are drawn, and a line is re-rendered only when its texts changed: each
row's Strip is cached under the row's displayed texts. The table asks the screen for a row's texts
(`RowSource`) only when the row is on screen and what it showed may have changed
(`Row.valid_until`), so a 1 Hz tick costs the rows on screen, not the rows configured.

Columns never scroll sideways: when the terminal is narrow, the wide columns shrink (cells end
with an ellipsis) and then the least useful columns are dropped; Name, State and Expires in stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pac_tui.ui.widgets.repo_rows import COLUMNS, KEY_COLUMNS, Row

__all__ = ["COLUMNS", "RepoTable", "RowInfo", "RowSource", "column_widths"]

RowSource = Callable[[str, datetime], Row]

# Widest a cell whose text changes over time may ask for (its text is clipped with "…").
_DYNAMIC_WIDTH = {"state": 13, "expires": 9, "webhook": 28, "cluster": 28, "refreshed": 12}
_SHRINKABLE = ("name", "webhook", "cluster", "project", "host")
_SHRINKABLE_AT = [i for i, (_, key) in enumerate(COLUMNS) if key in _SHRINKABLE]
_MIN_WIDTH = 12  # an optional column narrower than this is dropped instead
_MIN_NAME = 8
_PAD = 1  # spaces on each side of a cell
# Rows (and their drawn lines) kept for rows no longer on screen: a few pages, so paging back is
# free, and never all 1,000: what stays alive is what every full garbage collection walks.
_KEEP_ROWS = 256


@dataclass(frozen=True)
class RowInfo:
    """What the table knows of a row without asking: its key and its texts that never change."""

    name: str
    project: str
    host: str


def column_widths(rows: Sequence[RowInfo], available: int) -> list[tuple[int, int]]:
    """(column index, width) of the columns shown in `available` cells, in COLUMNS order."""
    wanted = []
    for label, key in COLUMNS:
        if key in _DYNAMIC_WIDTH:
            width = _DYNAMIC_WIDTH[key]
        else:
            width = max((len(getattr(row, key)) for row in rows), default=0)
        wanted.append(max(width, len(label)))
    shown = list(range(len(COLUMNS)))
    widths = dict(enumerate(wanted))

    def total() -> int:
        return sum(widths[i] + 2 * _PAD for i in shown)

    def shave(columns: list[int], floor: int) -> None:
        # The widest of `columns` loses one cell at a time, down to `floor`.
        while total() > available:
            candidates = [i for i in columns if i in shown and widths[i] > floor]
            if not candidates:
                return
            widths[max(candidates, key=lambda i: widths[i])] -= 1

    # The wide optional columns shrink; if that is not enough, the least useful column goes and
    # the others get their width back; Name shrinks last.
    optional = [i for i in _SHRINKABLE_AT if i >= KEY_COLUMNS]
    shave(optional, _MIN_WIDTH)
    while total() > available and len(shown) > KEY_COLUMNS:
        shown.pop()
        widths = dict(enumerate(wanted))
        shave(optional, _MIN_WIDTH)
    shave([i for i in _SHRINKABLE_AT if i < KEY_COLUMNS], _MIN_NAME)
    return [(i, widths[i]) for i in shown]


class RepoTable(ScrollView, can_focus=True):
    """Rows are keyed by repository name; the cursor is a row index."""

    DEFAULT_CSS = """
    RepoTable {
        overflow-x: hidden;
        background: $surface;
    }
    RepoTable > .repo-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    RepoTable > .repo-table--odd-row {
        background: $surface-lighten-1 20%;
    }
    RepoTable > .repo-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    RepoTable:focus > .repo-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RepoTable > .repo-table--hint {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {
        "repo-table--header",
        "repo-table--odd-row",
        "repo-table--cursor",
        "repo-table--hint",
    }
    BINDINGS = [
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "move_to(0)", show=False),
        Binding("end", "move_to(-1)", show=False),
    ]

    class Highlighted(Message):
        """The cursor moved to another row (or the rows changed under it)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    def __init__(
        self,
        source: RowSource,
        on_cursor: Callable[[str | None], None] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.source = source
        # Called at once when a key or click moves the cursor, so that what the screen redraws
        # for the new row (the token panel) goes out in the same frame as the table's own lines;
        # a posted `Highlighted` is handled a frame later. Without it, the message is posted.
        self.on_cursor = on_cursor
        self.rows: list[RowInfo] = []
        self.cursor_row = 0
        self.empty_hint: list[str] = ["No repositories."]
        self._now: datetime | None = None
        self._generation = 0  # bumped when anything a row shows may have changed
        self._rows: LRUCache[str, tuple[int, Row]] = LRUCache(_KEEP_ROWS)  # (generation, row)
        self._strips: LRUCache[str, tuple[tuple[object, ...], Strip]] = LRUCache(_KEEP_ROWS)
        self._widths: list[tuple[int, int]] = []
        self._widths_for = -1

    # ---- what the screen calls ---------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def selected_name(self) -> str | None:
        return self.rows[self.cursor_row].name if self.rows else None

    def set_rows(self, rows: list[RowInfo], now: datetime) -> None:
        """Show exactly these rows, in this order; the cursor stays on its repository."""
        self._now = now
        if rows == self.rows:
            return
        selected = self.selected_name
        self.rows = rows
        self._widths_for = -1
        index = next((i for i, row in enumerate(rows) if row.name == selected), None)
        self.cursor_row = min(self.cursor_row if index is None else index, max(0, len(rows) - 1))
        self._resize()
        self.refresh()
        if self.selected_name != selected:
            self.post_message(self.Highlighted(self.selected_name))

    def invalidate(self, now: datetime) -> None:
        """Something every row may show changed (the store, deliveries, the cluster)."""
        self._generation += 1
        self.tick(now)

    def invalidate_rows(self, names: list[str], now: datetime) -> None:
        """Something only these rows show changed (a hook's health): forget them, redraw."""
        for name in names:
            self._rows.discard(name)
        self.tick(now)

    def cached_rows(self) -> int:
        """How many rows' texts are kept (at most a few pages, whatever the rows configured)."""
        return max(len(self._rows), len(self._strips))

    def on_screen(self) -> list[str]:
        """The names of the rows on screen, top to bottom."""
        top = int(self.scroll_y)
        return [info.name for info in self.rows[top : top + self.visible_rows]]

    def tick(self, now: datetime) -> None:
        """Bring the rows on screen up to date; redraw only the lines whose texts changed."""
        self._now = now
        top = int(self.scroll_y)
        width = self.size.width
        changed = []
        for index in range(top, min(len(self.rows), top + self.visible_rows)):
            name = self.rows[index].name
            cached = self._rows.get(name)
            if cached is not None and not self._stale(*cached, now):
                continue
            row = self.row(name, now)
            if cached is None or cached[1].key != row.key:
                changed.append(Region(0, index - top + 1, width, 1))
        if changed:
            self.refresh(*changed)

    def row(self, name: str, now: datetime | None = None) -> Row:
        """The row's texts as of `now` (the last tick by default), computed at most once."""
        now = now or self._now
        assert now is not None
        cached = self._rows.get(name)
        if cached is not None and not self._stale(*cached, now):
            return cached[1]
        row = self.source(name, now)
        self._rows.set(name, (self._generation, row))
        return row

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        target = max(0, min(len(self.rows) - 1, row))
        if target == self.cursor_row:
            return
        old, self.cursor_row = self.cursor_row, target
        self._refresh_index(old)
        self._refresh_index(target)
        self._scroll_to_cursor()
        if self.on_cursor is not None:
            self.on_cursor(self.selected_name)
        else:
            self.post_message(self.Highlighted(self.selected_name))

    # ---- keys and mouse ----------------------------------------------------------------------

    @property
    def visible_rows(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    def action_move(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.visible_rows - 1))

    def action_move_to(self, index: int) -> None:
        self.move_cursor(index if index >= 0 else len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(int(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self._resize()
        keep = max(_KEEP_ROWS, 4 * self.visible_rows)  # a tall terminal: still a few pages
        self._rows.grow(keep)
        self._strips.grow(keep)

    def on_focus(self) -> None:
        self._refresh_index(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_index(self.cursor_row)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._now is not None:
            self.tick(self._now)

    # ---- drawing -----------------------------------------------------------------------------

    def _stale(self, generation: int, row: Row, now: datetime) -> bool:
        return generation != self._generation or (
            row.valid_until is not None and now >= row.valid_until
        )

    def _resize(self) -> None:
        # One line more than the rows: the header, drawn on the first line whatever the scroll.
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.rows) + 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + self.visible_rows:
            self.scroll_to(y=self.cursor_row - self.visible_rows + 1, animate=False, immediate=True)

    def _refresh_index(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y <= self.visible_rows:
            self.refresh(Region(0, y, self.size.width, 1))

    def _columns(self, width: int) -> list[tuple[int, int]]:
        if width != self._widths_for:
            self._widths = column_widths(self.rows, width)
            self._widths_for = width
            self._strips.clear()
        return self._widths

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = self._columns(width)
        if y == 0:
            labels = [Text(COLUMNS[i][0]) for i, _ in columns]
            style = self.get_component_rich_style("repo-table--header")
            return self._line(labels, columns, width, style)
        index = int(self.scroll_y) + y - 1
        if not self.rows:
            hint = self.empty_hint[y - 1] if y - 1 < len(self.empty_hint) else ""
            style = self.get_component_rich_style("repo-table--hint")
            return Strip([Segment(f" {hint}", style)]).crop(0, width).extend_cell_length(width)
        if index >= len(self.rows) or self._now is None:
            return Strip.blank(width, self.rich_style)
        row = self.row(self.rows[index].name)
        chosen = index == self.cursor_row
        key = (row.key, chosen and self.has_focus, chosen, index % 2, width)
        cached = self._strips.get(row.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        style = self.rich_style
        if index % 2:
            style += self.get_component_rich_style("repo-table--odd-row")
        top = self.get_component_rich_style("repo-table--cursor") if chosen else None
        strip = self._line([row.cells[i] for i, _ in columns], columns, width, style, top)
        self._strips.set(row.name, (key, strip))
        return strip

    def _line(
        self,
        cells: list[Text],
        columns: list[tuple[int, int]],
        width: int,
        base: Style,
        top: Style | None = None,
    ) -> Strip:
        line = Text(no_wrap=True, end="")
        for cell, (_, cell_width) in zip(cells, columns, strict=True):
            cell = cell.copy()
            cell.truncate(cell_width, overflow="ellipsis", pad=True)
            line.append(" " * _PAD)
            line.append_text(cell)
            line.append(" " * _PAD)
        line.truncate(width, overflow="ellipsis", pad=True)
        line.stylize_before(base)  # under the cells' own styles (a Text's base style is lost
        # when it has no spans)
        if top is not None:
            line.stylize(top)
        return Strip(list(line.render(self.app.console, end="")), width)
