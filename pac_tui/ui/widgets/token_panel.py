"""The token panel: everything about the selected repository's grant, never a token value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pac_tui.actions.hook_health import HookHealth
from pac_tui.actions.status import RepoStatus, State
from pac_tui.core.humanize import ago, countdown
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.schedule import refresh_due_at
from pac_tui.ui.widgets.badges import badge, countdown_text
from pac_tui.ui.widgets.cluster_info import render_cluster, render_unmanaged

if TYPE_CHECKING:
    from pac_tui.kube.repositories import PacRepository


@dataclass(frozen=True)
class PanelState:
    status: RepoStatus
    record: TokenRecord | None
    auto_refresh: bool
    next_retry: datetime | None
    refreshing: bool
    pac: PacRepository | None = None  # the bound Repository resource, as last discovered
    cluster_error: str | None = None  # why the bound cluster could not be read
    hook: HookHealth | None = None  # the PAC hook's health, as last asked


def _when(value: datetime | None, now: datetime, tz: tzinfo | None) -> Text:
    if value is None:
        return Text("never", style="dim")
    return Text.assemble(_stamp(value, tz), (f"  {ago(value, now)}", "dim"))


def _stamp(value: datetime, tz: tzinfo | None) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def lifetime_bar(fraction: float, width: int = 40) -> Text:
    """A bar of the remaining lifetime, coloured like the countdown."""
    fraction = max(0.0, min(1.0, fraction))
    filled = round(fraction * width)
    style = "green" if fraction > 0.25 else "yellow" if fraction > 0.05 else "red"
    return Text.assemble(("━" * filled, style), ("━" * (width - filled), "grey30"))


def render_panel(state: PanelState, now: datetime, tz: tzinfo | None) -> RenderableType:
    status, record = state.status, state.record
    tokens = record.tokens if record else None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()

    title = Text.assemble((status.name, "bold"), "  ", (status.project, "cyan"))
    grid.add_row("State", badge(status))
    if status.message and status.state is not State.AUTHORIZED:
        # An authorized grant's only message is a failed refresh, shown under "Last refresh".
        grid.add_row("", Text(status.message, style="italic"))
    grid.add_row("Instance", status.gitlab)
    if status.username:
        grid.add_row("Account", status.username)

    if tokens and tokens.expires_at:
        expires = tokens.expires_at
        grid.add_row("Expires", Text.assemble("in ", countdown_text(status)))
        grid.add_row("", _stamp(expires, tz))
        if expires.astimezone(tz).utcoffset():
            grid.add_row("", expires.strftime("%Y-%m-%d %H:%M:%S UTC"))
        lifetime = max(1.0, (expires - tokens.issued_at).total_seconds())
        grid.add_row("", lifetime_bar((expires - now).total_seconds() / lifetime, width=30))
    elif tokens:
        grid.add_row("Expires", "never")
    grid.add_row("Scopes", " ".join(status.scopes) if status.scopes else Text("—", style="dim"))
    grid.add_row("Obtained", _when(record.obtained_at if record else None, now, tz))
    grid.add_row("Refreshed", _when(record.refreshed_at if record else None, now, tz))

    last = record.last_refresh if record else None
    if state.refreshing:
        outcome = Text("refreshing…", style="yellow")
    elif last is None:
        outcome = Text("—", style="dim")
    elif last.ok:
        outcome = Text.assemble(("✔ ", "green"), f"{last.message} {ago(last.at, now)}")
    else:
        outcome = Text.assemble(("✖ ", "red"), last.message)
        if state.next_retry:
            outcome.append(f"  (retry in {countdown((state.next_retry - now).total_seconds())})")
    grid.add_row("Last refresh", outcome)

    if not state.auto_refresh:
        auto = Text("off", style="yellow")
    elif tokens and (due := refresh_due_at(tokens)):
        when = "now" if due <= now else f"at {due.astimezone(tz):%H:%M:%S}"
        auto = Text.assemble(("on", "green"), f" · next {when}")
    else:
        auto = Text("on", style="green")
    grid.add_row("Auto-refresh", auto)
    if status.cluster is not None and status.cluster.rotator == "pac":  # only then: one rotator
        grid.add_row("Rotated by", Text("PAC itself; pac-tui adopts what PAC writes", "cyan"))
    add_hook_rows(grid, state.hook, tz)
    cluster = render_cluster(status, record, state.pac, state.cluster_error, now, tz)
    if cluster is None:
        return Group(title, Text(""), grid)
    return Group(title, Text(""), grid, Text(""), cluster)


def add_hook_rows(grid: Table, hook: HookHealth | None, tz: tzinfo | None) -> None:
    """A PAC hook GitLab disabled, and the fix; nothing while it works or is not known."""
    if hook is None or not hook.disabled:
        return
    until = hook.disabled_until
    when = f" until {until.astimezone(tz):%Y-%m-%d %H:%M %Z}" if until else ""
    grid.add_row("Webhook", Text(f"⚠ disabled by GitLab{when}", style="bold yellow"))
    grid.add_row("", Text(f"Fix: {hook.fix}", style="italic"))


class TokenPanel(ScrollView, can_focus=True):
    """The panel, drawn with the line API so that its size never follows its content.

    Its height is the column's (app.tcss), so a new selection repaints the panel and nothing
    else: no layout of the screen, which a Static whose height follows its content costs on every
    cursor move. The content is rendered once per change, into the lines `render_line` returns;
    a layout happens only when the number of lines scrolled over changes (content taller than
    the panel). Re-rendered when the dashboard says what it shows may have changed; holds no
    state of its own.

    It takes the focus (tab) so that a panel taller than its space (the narrow layout gives it
    10 lines) can be scrolled from the keyboard, not only with the mouse.
    """

    DEFAULT_CSS = """
    TokenPanel {
        overflow-x: hidden;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._content: RenderableType = Text("")
        self._lines: list[Strip] = []

    @property
    def content(self) -> RenderableType:
        """What the panel shows, as a Rich renderable."""
        return self._content

    def show(self, state: PanelState | None, now: datetime, tz: tzinfo | None) -> None:
        if state is None:
            self._set(Text("No repository selected.", style="dim"))
            return
        self._set(render_panel(state, now, tz))

    def show_unmanaged(self, pac: PacRepository, now: datetime) -> None:
        """A PAC Repository of the cluster that no configured repository binds."""
        self.border_title = "PAC Repository"
        self._set(render_unmanaged(pac, now))

    def _set(self, content: RenderableType) -> None:
        self._content = content
        self._render_lines(only_changed=True)

    def _render_lines(self, only_changed: bool = False) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or not self.is_mounted:
            return  # not laid out yet: on_resize renders
        style = self.visual_style.rich_style
        options = self.app.console_options.update(highlight=False, width=width, height=None)
        rendered = self.app.console.render_lines(self._content, options, style=style, pad=True)
        before, self._lines = self._lines, [Strip(line, width) for line in rendered]
        # At least the panel's own height, so content that fits never changes the virtual size
        # (which would lay the screen out again); only content taller than the panel scrolls.
        size = Size(width, max(len(self._lines), self.scrollable_content_region.height))
        if size != self.virtual_size:
            self.virtual_size = size  # a layout, which repaints everything
        elif only_changed:
            # Two repositories' panels share most lines (labels, blanks): repaint the others.
            top, after = int(self.scroll_y), self._lines
            changed = [
                Region(0, y - top, width, 1)
                for y in range(max(len(before), len(after)))
                if y >= len(before) or y >= len(after) or before[y] != after[y]
            ]
            if changed:  # (refresh() with no region would repaint all)
                self.refresh(*changed)
            return
        self.refresh()

    def on_resize(self) -> None:
        self._render_lines()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        if index < len(self._lines):
            return self._lines[index]
        return Strip.blank(self.scrollable_content_region.width, self.visual_style.rich_style)
