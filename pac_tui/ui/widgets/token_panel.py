"""The token panel: everything about the selected repository's grant, never a token value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

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


class TokenPanel(Static):
    """Re-rendered by the dashboard's tick; holds no state of its own."""

    def show(self, state: PanelState | None, now: datetime, tz: tzinfo | None) -> None:
        if state is None:
            self.update(Text("No repository selected.", style="dim"))
            return
        self.update(render_panel(state, now, tz))

    def show_unmanaged(self, pac: PacRepository, now: datetime) -> None:
        """A PAC Repository of the cluster that no configured repository binds."""
        self.border_title = "PAC Repository"
        self.update(render_unmanaged(pac, now))
