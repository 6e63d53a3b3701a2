"""Reading a GitLab payload without trusting it: nested fields, and scalars as clean text.

Every value of a payload may be missing, of another type, huge, or full of control characters;
these readers never raise and return at most one clean line.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pac_tui.webhooks.models import without_controls

ZERO_SHA = "0" * 40


def clean(value: object, limit: int = 60) -> str:
    """A scalar as one clean line of at most `limit` characters; "" for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    try:
        raw = value if isinstance(value, str) else str(value)
    except ValueError:  # an int too long to print
        return "…"
    if len(raw) <= limit and raw.isascii() and raw.isprintable() and "  " not in raw:
        return raw.strip()  # the common case: a short, plain value
    cut = limit * 4 + 16
    text = " ".join(without_controls(raw[:cut]).split())
    if len(text) > limit or len(raw) > cut:
        return text[: limit - 1].rstrip() + "…"
    return text


def field(obj: object, *path: str) -> object:
    """The value at `path` in nested dicts; None where a step is missing or not a dict."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def first_clean(*values: object, limit: int = 60) -> str:
    """The first of `values` that is non-empty once `clean`ed; "" if none is."""
    return next((t for t in (clean(v, limit) for v in values) if t), "")


def commit_count(p: dict) -> int:
    commits = p.get("commits")
    return len(commits) if isinstance(commits, list) else 0


def url_path(url: object) -> str:
    text = clean(url, 300)
    try:
        path = urlsplit(text).path if "://" in text else ""
    except ValueError:
        return ""
    return path.strip("/").removesuffix(".git")
