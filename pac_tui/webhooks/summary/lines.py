"""One readable line per kind of GitLab payload: `LINES` maps a payload kind to its describer.

Each describer takes the payload (a dict) and returns its line, unbounded in length (the caller
cuts it); it reads fields through `fields`, so a payload of odd shape gives "?" and never raises.
"""

from __future__ import annotations

from collections.abc import Callable

from pac_tui.webhooks.summary.fields import ZERO_SHA, clean, commit_count, field, first_clean
from pac_tui.webhooks.summary.pac import is_relabel, note_command

_VERBS = {  # GitLab action → words for the line
    "open": "opened", "close": "closed", "reopen": "reopened", "merge": "merged",
    "update": "updated", "create": "created", "delete": "deleted", "award": "awarded",
    "revoke": "revoked", "approval": "approval added", "unapproval": "approval removed",
    "add_to": "added to", "remove_from": "removed from", "update_for": "updated in",
    "access_request_to": "asked to join", "access_request_denied_for": "refused by",
    "subgroup_create": "created", "subgroup_destroy": "removed",
}  # fmt: skip


def _verb(action: str) -> str:
    return _VERBS.get(action, action)


def _by(p: dict) -> str:
    who = first_clean(field(p, "user", "username"), p.get("user_username"),
                      field(p, "user", "name"), p.get("user_name"), limit=30)  # fmt: skip
    return f" by {who}" if who else ""


def _num(prefix: str, value: object) -> str:
    return f"{prefix}{text}" if (text := clean(value, 20)) else ""


def _sha(value: object) -> str:
    return clean(value, 40)[:8] or "?"


def _push(p: dict) -> str:
    branch = clean(clean(p.get("ref"), 300).removeprefix("refs/heads/")) or "?"
    if p.get("after") == ZERO_SHA:
        return f"branch {branch} deleted{_by(p)}"
    if p.get("before") == ZERO_SHA:
        return f"branch {branch} created{_by(p)}"
    total = p.get("total_commits_count")
    count = total if isinstance(total, int) and not isinstance(total, bool) else commit_count(p)
    commits = f"{clean(count, 12)} commit{'' if count == 1 else 's'}"
    head = _sha(p.get("checkout_sha") or p.get("after"))
    return f"push {branch}: {commits}, head {head}{_by(p)}"


def _tag_push(p: dict) -> str:
    tag = clean(clean(p.get("ref"), 300).removeprefix("refs/tags/")) or "?"
    if p.get("after") == ZERO_SHA:
        return f"tag {tag} deleted{_by(p)}"
    verb = "created at" if p.get("before") == ZERO_SHA else "moved to"
    return f"tag {tag} {verb} {_sha(p.get('checkout_sha') or p.get('after'))}{_by(p)}"


def _merge_request(p: dict) -> str:
    attrs, changes = field(p, "object_attributes"), field(p, "changes")
    action = clean(field(attrs, "action"), 20)
    verb = _verb(action) or clean(field(attrs, "state"), 20) or "event"
    if action == "update":
        draft = field(changes, "draft", "current")
        if clean(field(attrs, "oldrev")):
            verb = "updated (new commits)"
        elif is_relabel(p):
            verb = "relabeled"
        elif isinstance(draft, bool):
            verb = "marked draft" if draft else "marked ready"
    line = " ".join(x for x in ("MR", _num("!", field(attrs, "iid")), verb) if x)
    if title := clean(field(attrs, "title"), 50):
        line += f": {title}"
    source = clean(field(attrs, "source_branch"), 30)
    target = clean(field(attrs, "target_branch"), 30)
    if source or target:
        line += f" ({source or '?'} → {target or '?'})"
    return line + _by(p)


def _note(p: dict) -> str:
    attrs = field(p, "object_attributes")
    noteable = clean(field(attrs, "noteable_type"), 30)
    where = {
        "MergeRequest": f"MR {_num('!', field(p, 'merge_request', 'iid'))}",
        "Commit": f"commit {_sha(field(p, 'commit', 'id') or field(attrs, 'commit_id'))}",
        "Issue": f"issue {_num('#', field(p, 'issue', 'iid'))}",
        "Snippet": f"snippet {_num('$', field(p, 'snippet', 'id'))}",
    }.get(noteable, noteable or "?").rstrip()
    note = field(attrs, "note")
    lines = note[:4000].splitlines() if isinstance(note, str) else []
    first = clean(next((line for line in lines if line.strip()), ""), 60)
    line = f"note on {where}{_by(p)}" + (f": {first}" if first else "")
    command = note_command(note)[1]
    return line + (f" [{command}]" if command and command not in first else "")


def _pipeline(p: dict) -> str:
    attrs = field(p, "object_attributes")
    line = f"pipeline {_num('#', field(attrs, 'id'))} {clean(field(attrs, 'status'), 20) or '?'}"
    ref, source = clean(field(attrs, "ref")), clean(field(attrs, "source"), 30)
    return line + (f" on {ref}" if ref else "") + (f" ({source})" if source else "")


def _build(p: dict) -> str:
    name = first_clean(p.get("build_name"), field(p, "object_attributes", "name"), limit=50) or "?"
    status = first_clean(p.get("build_status"), field(p, "object_attributes", "status"), limit=20)
    return f"job {name} {status or '?'}" + (f" on {ref}" if (ref := clean(p.get("ref"))) else "")


def _titled(label: str, number: str = "") -> Callable[[dict], str]:
    """Issues, wiki pages, milestones, vulnerabilities: `label #iid action: title by user`."""

    def line(p: dict) -> str:
        attrs = field(p, "object_attributes")
        iid = _num(number, field(attrs, "iid")) if number else ""
        head = " ".join(x for x in (label, iid, _verb(clean(field(attrs, "action"), 20))) if x)
        title = first_clean(field(attrs, "title"), field(attrs, "name"))
        severity = clean(field(attrs, "severity"), 20) if label == "vulnerability" else ""
        extra = f" ({severity})" if severity else ""
        return head + (f": {title}" if title else "") + extra + _by(p)

    return line


def _release(p: dict) -> str:
    tag = clean(p.get("tag"), 40)
    name = first_clean(p.get("name"), tag, limit=50) or "?"
    line = f"release {name} {_verb(clean(p.get('action')))}"
    return line.rstrip() + (f" (tag {tag})" if tag else "")


def _deployment(p: dict) -> str:
    line = f"deployment to {clean(p.get('environment'), 40) or '?'} {clean(p.get('status')) or '?'}"
    where = " @ ".join(x for x in (clean(p.get("ref"), 40), clean(p.get("short_sha"), 12)) if x)
    return line + (f" ({where})" if where else "") + _by(p)


def _feature_flag(p: dict) -> str:
    active = field(p, "object_attributes", "active")
    state = " turned on" if active is True else " turned off" if active is False else ""
    return f"feature flag {clean(field(p, 'object_attributes', 'name')) or '?'}{state}{_by(p)}"


def _emoji(p: dict) -> str:
    attrs = field(p, "object_attributes")
    action = _verb(first_clean(p.get("event_type"), field(attrs, "action"), limit=20))
    on = clean(field(attrs, "awardable_type"), 30)
    line = f"emoji :{clean(field(attrs, 'name'), 30)}: {action}".rstrip()
    return line + (f" on {on}" if on else "") + _by(p)


def _access_token(p: dict) -> str:
    attrs = field(p, "object_attributes")
    line = f"access token {clean(field(attrs, 'name'), 40) or '?'}"
    expires = clean(field(attrs, "expires_at"), 30)
    group = first_clean(field(p, "group", "group_path"), field(p, "group", "group_name"))
    return (
        line + (f" expires {expires}" if expires else "") + (f" (group {group})" if group else "")
    )


def _member(p: dict) -> str:
    name = clean(p.get("event_name"), 50)
    action = name.removeprefix("user_").removesuffix("_group")
    user = first_clean(p.get("user_username"), p.get("user_name"), limit=30) or "?"
    group = first_clean(p.get("group_path"), p.get("group_name")) or "?"
    access = clean(p.get("group_access"), 20)
    return f"member {user} {_verb(action)} group {group}" + (f" ({access})" if access else "")


def _subgroup(p: dict) -> str:
    path = first_clean(p.get("full_path"), p.get("path"), p.get("name"), limit=80) or "?"
    return f"subgroup {path} {_verb(clean(p.get('event_name'), 40))}".rstrip()


def _admin(p: dict) -> str:
    """Project, group, user and key events (system and project hooks): `name subject`."""
    name = first_clean(p.get("event_name"), p.get("object_kind"), limit=40) or "event"
    where = first_clean(p.get("path_with_namespace"), p.get("project_path_with_namespace"),
                        field(p, "project", "path_with_namespace"), p.get("full_path"),
                        p.get("group_path"), p.get("path"), limit=80)  # fmt: skip
    who = first_clean(p.get("user_username"), p.get("username"), limit=40)
    old = first_clean(
        p.get("old_path_with_namespace"), p.get("old_full_path"), p.get("old_username")
    )
    access = first_clean(p.get("access_level"), p.get("group_access"), p.get("project_access"))
    if name.startswith(("user_", "key_")):
        subject = f"{who} in {where}" if who and where else who or where
    else:
        subject = where or who
    subject = f"{old} → {subject}" if old else subject
    return f"{name} {subject}".rstrip() + (f" ({access})" if access else "")


def _system(p: dict) -> str:
    name = first_clean(p.get("event_name"), p.get("object_kind"), limit=40)
    inner = LINES.get(name) if name in ("push", "tag_push", "merge_request") else None
    return f"system: {(inner or _admin)(p)}"


LINES: dict[str, Callable[[dict], str]] = {  # payload kind → its line
    "push": _push, "tag_push": _tag_push, "merge_request": _merge_request, "note": _note,
    "pipeline": _pipeline, "build": _build, "issue": _titled("issue", "#"),
    "wiki_page": _titled("wiki page"), "milestone": _titled("milestone"),
    "vulnerability": _titled("vulnerability"), "release": _release, "deployment": _deployment,
    "feature_flag": _feature_flag, "emoji": _emoji, "access_token": _access_token,
    "member": _member, "subgroup": _subgroup, "project": _admin, "system": _system,
}  # fmt: skip
