"""What one row of the repositories table shows, and until when it stays the same.

A row's texts depend on the clock only through a countdown ("1h 40m", "4m 00s") and two "ago"
cells. Each changes at an instant that can be computed: "1h 40m" changes once a minute, "12m ago"
once a minute, "4m 00s" every second. `Row.valid_until` is the earliest of them, so the table
recomputes a row only when something it shows has changed, and never a row that is off screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from rich.text import Text

from pac_tui.actions.hook_health import Health, HookHealth
from pac_tui.actions.status import RepoStatus
from pac_tui.core.humanize import ago
from pac_tui.ui.widgets.badges import EXPIRING_SECONDS, badge, countdown_text
from pac_tui.ui.widgets.event_log import LogEntry
from pac_tui.webhooks.models import Verdict

# What matters most comes first, so a narrow terminal drops the least useful columns.
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
KEY_COLUMNS = 3  # Name, State, Expires in: never dropped
_EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True)
class Row:
    """One row's cells in COLUMNS order, and the instant they may next change (None: never)."""

    name: str
    cells: tuple[Text, ...]
    valid_until: datetime | None
    key: tuple[tuple[str, str], ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # The displayed texts and styles, computed once: equal keys draw the same line.
        key = tuple((cell.plain, str(cell.style)) for cell in self.cells)
        object.__setattr__(self, "key", key)


def _webhook_cell(
    entry: LogEntry | None, now: datetime, hook: HookHealth | None, tz: tzinfo | None
) -> Text:
    if hook is not None and hook.disabled:  # GitLab delivers nothing: that comes first
        until = hook.disabled_until
        if hook.health is Health.TEMPORARILY_DISABLED and until is not None:
            return Text(f"⚠ hook off until {until.astimezone(tz):%H:%M}", style="bold yellow")
        return Text("⚠ hook disabled", style="bold yellow")
    if entry is None:
        return Text("—", style="dim")
    style = "bold red" if entry.verdict in (Verdict.REJECTED, Verdict.MALFORMED) else ""
    return Text(f"{ago(entry.received_at, now)} · {entry.kind}", style=style)


def make_row(
    status: RepoStatus,
    now: datetime,
    webhook: LogEntry | None,
    cluster: Text | None,
    hook: HookHealth | None = None,
    tz: tzinfo | None = None,
) -> Row:
    """`hook`: the PAC hook's health as last asked (`ui.feeds.hooks`); `tz` shows its times."""
    cells = (
        Text(status.name, style="bold"),
        badge(status),
        countdown_text(status),
        _webhook_cell(webhook, now, hook, tz),
        cluster if cluster is not None else Text("—", style="dim"),
        Text(status.project),
        Text(status.gitlab.split("://", 1)[-1]),
        Text(ago(status.refreshed_at, now), style="dim")
        if status.refreshed_at
        else Text("—", style="dim"),
    )
    changes = [
        countdown_change(status.expires_at, now),
        ago_change(status.refreshed_at, now),
        ago_change(webhook.received_at if webhook else None, now),
    ]
    known = [c for c in changes if c is not None]
    return Row(status.name, cells, min(known) if known else None)


def countdown_change(expires_at: datetime | None, now: datetime) -> datetime | None:
    """The next instant `countdown_text` of a grant expiring at `expires_at` shows another text
    (its colour and the state badge change at 30 and 5 minutes, where it shows seconds anyway)."""
    if expires_at is None:
        return None
    total = int((expires_at - now).total_seconds())
    if total <= 0:
        return None  # EXPIRED stays EXPIRED
    if total >= 86400:  # "2d 3h": the hour
        after = total - total % 3600 - 1
    elif total >= 3600:  # "1h 58m": the minute
        after = total - total % 60 - 1
    else:  # "4m 00s", "42s": every second
        after = total - 1
    # int(expires_at - t) == after once expires_at - t < after + 1.
    return expires_at - timedelta(seconds=after + 1) + _EPSILON


def ago_change(then: datetime | None, now: datetime) -> datetime | None:
    """The next instant `ago(then, now)` shows another text."""
    if then is None:
        return None
    seconds = int((now - then).total_seconds())
    if seconds < 5:
        nxt = 5
    elif seconds < 60:
        nxt = seconds + 1
    elif seconds < 86400:
        nxt = seconds - seconds % 60 + 60
    else:
        nxt = seconds - seconds % 3600 + 3600
    return then + timedelta(seconds=nxt)


def state_change(status: RepoStatus, now: datetime) -> datetime | None:
    """The next instant the state word the filter searches ("expiring", "expired") changes."""
    if status.expires_at is None:
        return None
    for at in (status.expires_at - timedelta(seconds=EXPIRING_SECONDS), status.expires_at):
        if at > now:
            return at + _EPSILON
    return None
