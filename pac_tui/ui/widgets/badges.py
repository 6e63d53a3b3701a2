"""How states and countdowns look (docs/ARCHITECTURE.md, Look and feel): green, yellow under
30 min, red under 5 min, reverse EXPIRED."""

from __future__ import annotations

from rich.text import Text

from pac_tui.actions.status import RepoStatus, State
from pac_tui.core.humanize import countdown

EXPIRING_SECONDS = 30 * 60
URGENT_SECONDS = 5 * 60


def display_state(status: RepoStatus) -> str:
    expiring = status.expires_in is not None and status.expires_in < EXPIRING_SECONDS
    if status.state is State.AUTHORIZED and expiring:
        return "expiring"
    return status.state.value


def matches(status: RepoStatus, needle: str) -> bool:
    """Does the filter box's `needle` (casefolded) find the row? It searches what the row shows."""
    shown = f"{status.name} {status.project} {status.gitlab} {display_state(status)}"
    return not needle or needle in shown.casefold()


_BADGES = {
    "authorized": ("● authorized", "green"),
    "expiring": ("● expiring", "yellow"),
    "expired": (" EXPIRED ", "bold reverse red"),
    "needs-login": ("○ needs login", "magenta"),
    "error": ("✖ error", "bold red"),
    "unmanaged": ("◌ in cluster", "cyan"),
}


def badge(status: RepoStatus) -> Text:
    label, style = _BADGES[display_state(status)]
    return Text(label, style=style)


def countdown_text(status: RepoStatus) -> Text:
    if status.expires_at is None:
        return Text("—", style="dim")
    seconds = status.expires_in or 0
    if seconds <= 0:
        return Text(" EXPIRED ", style="bold reverse red")
    style = "green"
    if seconds < URGENT_SECONDS:
        style = "bold red"
    elif seconds < EXPIRING_SECONDS:
        style = "yellow"
    return Text(countdown(seconds), style=style)
