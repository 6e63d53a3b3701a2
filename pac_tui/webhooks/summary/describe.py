"""`summarize`: one delivery's line, project and PAC event (see the package docstring)."""

from __future__ import annotations

from pac_tui.webhooks.models import Summary
from pac_tui.webhooks.summary.fields import clean, field, first_clean, url_path
from pac_tui.webhooks.summary.lines import LINES
from pac_tui.webhooks.summary.pac import note_command, pac_event_of

MAX_LINE = 120


def project_of(payload: object) -> str | None:
    """The project's path_with_namespace, wherever this kind of payload keeps it."""
    if not isinstance(payload, dict):
        return None
    p = payload
    project = first_clean(
        field(p, "project", "path_with_namespace"),
        p.get("path_with_namespace"),
        p.get("project_path_with_namespace"),
        limit=200,
    )
    project = project or url_path(field(p, "project", "web_url"))
    project = project or url_path(field(p, "repository", "homepage"))
    return project if project and "…" not in project else None


def header_kind(event: object) -> str | None:
    """The payload kind an X-Gitlab-Event header announces ("Job Hook" → "build"), or None."""
    name = clean(event, 60).lower()
    if not name.endswith(" hook"):
        return None
    kind = name.removesuffix(" hook").removeprefix("confidential ").replace(" ", "_")
    kind = {"job": "build", "resource_access_token": "access_token"}.get(kind, kind)
    return kind if kind in LINES else None


def _payload_kind(p: dict) -> str | None:
    if kind := clean(p.get("object_kind"), 40):
        return {"work_item": "issue", "job": "build"}.get(kind, kind)
    name = clean(p.get("event_name"), 60)
    if name in ("push", "tag_push") or not name:
        return name or None
    if name.startswith(("subgroup_", "project_")):
        return name.partition("_")[0]
    return "member" if name.startswith("user_") and name.endswith("_group") else "system"


def _summarize(event: object, payload: object) -> Summary:
    header = clean(event, 60)
    announced = header_kind(header)
    if not isinstance(payload, dict):
        what = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        kind = what.get(type(payload), "a number")
        return Summary(line=f"{header or 'delivery'}: payload is {kind}, not a JSON object")
    own = _payload_kind(payload)
    kind = "system" if announced == "system" else own or announced
    project = project_of(payload)
    handler = LINES.get(kind or "")
    if handler is None:
        what = first_clean(payload.get("object_kind"), payload.get("event_name")) or "unknown event"
        line = f"{header or 'delivery'}: {what}" + (f" {project}" if project else "")
        return Summary(line=clean(line, MAX_LINE), project=project)
    marker = f" [header: {header}]" if header and announced not in (kind, "system") else ""
    # PAC dispatches on the header; a payload of another kind fails PAC's parsing.
    pac_kind = announced if own in (announced, None) else None
    command = (
        note_command(field(payload, "object_attributes", "note"))[1] if kind == "note" else None
    )
    return Summary(
        line=clean(handler(payload), MAX_LINE - len(marker)) + marker,
        project=project,
        pac_event=pac_event_of(pac_kind, payload),
        pac_command=command,
    )


def summarize(event: str, payload: object) -> Summary:
    """One line for the log, the project, and what PAC would do; never raises."""
    try:
        return _summarize(event, payload)
    except Exception:  # a summary must never take a delivery down with it
        return Summary(line="delivery (could not be summarized)")
