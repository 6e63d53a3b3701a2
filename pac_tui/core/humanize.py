"""Short human forms of durations and times, shared by the CLI and the dashboard."""

from __future__ import annotations

from datetime import datetime


def countdown(seconds: float | None) -> str:
    """'2d 3h', '1h 58m' far off; minutes and seconds under an hour; 'expired' at or below zero."""
    if seconds is None:
        return "never"
    total = int(seconds)
    if total <= 0:
        return "expired"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"  # minutes are enough for the past; it changes less often
    return f"{countdown(seconds)} ago"
