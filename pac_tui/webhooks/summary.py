"""One readable line per GitLab delivery, and what Pipelines-as-Code would make of it.

`summarize(event, payload)` takes the X-Gitlab-Event header ("" when absent) and any parsed JSON
value, and never raises. The line is built from the payload's own kind (`object_kind`, else
`event_name`), falling back to the header; a header that disagrees is shown as `[header: …]`.

`Summary.pac_event` follows PAC's GitLab provider (openshift-pipelines/pipelines-as-code:
pkg/provider/gitlab/detect.go and parse_payload.go, pkg/opscomments/comments.go,
pkg/params/triggertype/types.go). PAC dispatches on the header alone, so with no header, with
`System Hook`, or with a header the payload contradicts, PAC ignores the delivery: None.

- Push Hook: "push"; None when it carries no commits (branch deleted, new branch without new
  commits): PAC rejects those.
- Tag Push Hook: "push" (PAC's trigger target for tags); None for a deletion or without commits.
- Merge Request Hook: open, reopen and update with new commits (`oldrev`) → "pull_request";
  update changing labels only → "pull_request_labeled" (PAC also uses that type whenever
  `changes.labels.current` is present); close → "pull_request_closed"; merge, approvals,
  draft/ready and other edits → None.
- Note Hook on an open MR, or on a commit (action "create"; /test, /retest, /cancel only): the
  ops-comment type of its command: "retest-all-comment", "retest-comment", "test-all-comment",
  "test-comment", "ok-to-test-comment", "cancel-all-comment", "cancel-comment". Notes without a
  command, on issues or on snippets → None (PAC matches `on-comment` annotations against plain MR
  notes: not modelled). Commands use PAC's default "/" prefix.
- Anything else (pipelines, jobs, issues, system hooks…) → None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from pac_tui.webhooks.models import Summary

__all__ = ["MAX_LINE", "header_kind", "note_command", "pac_event_of", "project_of", "summarize"]

MAX_LINE = 120
ZERO_SHA = "0" * 40
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
# PAC's ops-comment regexes (default "/" prefix) in PAC's order, matched on each stripped line.
_COMMANDS = [(kind, re.compile(pattern, re.ASCII)) for kind, pattern in (
    ("retest-all-comment", r"/retest\s*$"), ("retest-comment", r"/retest[ \t]+\S+"),
    ("test-all-comment", r"/test\s*$"), ("test-comment", r"/test[ \t]+\S+"),
    ("ok-to-test-comment", r"/ok-to-test(?:\s+[0-9a-fA-F]{7,40})?\s*$"),
    ("cancel-all-comment", r"/cancel\s*$"), ("cancel-comment", r"/cancel[ \t]+\S+"),
)]  # fmt: skip
_VERBS = {  # GitLab action → words for the line
    "open": "opened", "close": "closed", "reopen": "reopened", "merge": "merged",
    "update": "updated", "create": "created", "delete": "deleted", "award": "awarded",
    "revoke": "revoked", "approval": "approval added", "unapproval": "approval removed",
    "add_to": "added to", "remove_from": "removed from", "update_for": "updated in",
    "access_request_to": "asked to join", "access_request_denied_for": "refused by",
    "subgroup_create": "created", "subgroup_destroy": "removed",
}  # fmt: skip
# An MR update without new commits reaches PAC only when nothing but its labels changed.
_MR_OTHER_CHANGES = (
    "assignees", "reviewers", "description", "merge_status", "milestone_id", "source_branch",
    "source_project_id", "state_id", "target_branch", "target_project_id", "title",
)  # fmt: skip


def _text(value: object, limit: int = 60) -> str:
    """A scalar as one clean line of at most `limit` characters; "" for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    try:
        raw = value if isinstance(value, str) else str(value)
    except ValueError:  # an int too long to print
        return "…"
    cut = limit * 4 + 16
    text = _UNSAFE.sub(" ", raw[:cut])
    if not text.isprintable():  # rare: unassigned, private-use, lone surrogates, odd spaces
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if len(text) > limit or len(raw) > cut:
        return text[: limit - 1].rstrip() + "…"
    return text


def _get(obj: object, *path: str) -> object:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _first(*values: object, limit: int = 60) -> str:
    return next((t for t in (_text(v, limit) for v in values) if t), "")


def _verb(action: str) -> str:
    return _VERBS.get(action, action)


def _by(p: dict) -> str:
    who = _first(_get(p, "user", "username"), p.get("user_username"), _get(p, "user", "name"),
                 p.get("user_name"), limit=30)  # fmt: skip
    return f" by {who}" if who else ""


def _num(prefix: str, value: object) -> str:
    return f"{prefix}{text}" if (text := _text(value, 20)) else ""


def _sha(value: object) -> str:
    return _text(value, 40)[:8] or "?"


def _commits(p: dict) -> int:
    commits = p.get("commits")
    return len(commits) if isinstance(commits, list) else 0


def _url_path(url: object) -> str:
    text = _text(url, 300)
    try:
        path = urlsplit(text).path if "://" in text else ""
    except ValueError:
        return ""
    return path.strip("/").removesuffix(".git")


def project_of(payload: object) -> str | None:
    """The project's path_with_namespace, wherever this kind of payload keeps it."""
    if not isinstance(payload, dict):
        return None
    p = payload
    project = _first(_get(p, "project", "path_with_namespace"), p.get("path_with_namespace"),
                     p.get("project_path_with_namespace"), limit=200)  # fmt: skip
    project = project or _url_path(_get(p, "project", "web_url"))
    project = project or _url_path(_get(p, "repository", "homepage"))
    return project if project and "…" not in project else None


def note_command(note: object) -> tuple[str | None, str | None]:
    """PAC's ops-comment type and the command (e.g. "/test my-run") a note carries."""
    if not isinstance(note, str):
        return None, None
    lines = [line.lstrip(" \t\r\f") for line in note[:1_000_000].split("\n")]
    for kind, pattern in _COMMANDS:
        for line in lines:
            if line.startswith("/") and pattern.match(line):
                return kind, _text(" ".join(line.split()[:2]), 80)
    return None, None


def pac_event_of(kind: str | None, p: dict) -> str | None:
    """What PAC's GitLab provider does with a payload of this header kind (module docstring)."""
    attrs, changes = _get(p, "object_attributes"), _get(p, "changes")
    if kind == "push":
        return "push" if _commits(p) else None
    if kind == "tag_push":
        deleted = p.get("after") == ZERO_SHA and not p.get("checkout_sha")
        return "push" if _commits(p) and not deleted else None
    if kind == "merge_request":
        action = _get(attrs, "action")
        if action == "close":
            return "pull_request_closed"
        new_commits = bool(_text(_get(attrs, "oldrev")))
        if action in ("open", "reopen") or (action == "update" and (new_commits or _relabel(p))):
            relabel = isinstance(_get(changes, "labels", "current"), list)
            return "pull_request_labeled" if relabel else "pull_request"
        return None
    if kind == "note" and p.get("object_kind") == "note":
        command = note_command(_get(attrs, "note"))[0]
        noteable = _get(attrs, "noteable_type")
        if noteable == "MergeRequest" and _get(p, "merge_request", "state") == "opened":
            return command
        if noteable == "Commit" and _get(attrs, "action") == "create":
            return command if command != "ok-to-test-comment" else None
    return None


def _changed(changes: object, key: str) -> bool:
    change = _get(changes, key)
    return isinstance(change, dict) and bool(change.get("previous") or change.get("current"))


def _relabel(p: dict) -> bool:
    """An MR update that changed its labels and none of the fields PAC checks."""
    changes = _get(p, "changes")
    others = (_changed(changes, key) for key in _MR_OTHER_CHANGES)
    return _changed(changes, "labels") and not any(others)


def _push(p: dict) -> str:
    branch = _text(_text(p.get("ref"), 300).removeprefix("refs/heads/")) or "?"
    if p.get("after") == ZERO_SHA:
        return f"branch {branch} deleted{_by(p)}"
    if p.get("before") == ZERO_SHA:
        return f"branch {branch} created{_by(p)}"
    total = p.get("total_commits_count")
    count = total if isinstance(total, int) and not isinstance(total, bool) else _commits(p)
    commits = f"{_text(count, 12)} commit{'' if count == 1 else 's'}"
    head = _sha(p.get("checkout_sha") or p.get("after"))
    return f"push {branch}: {commits}, head {head}{_by(p)}"


def _tag_push(p: dict) -> str:
    tag = _text(_text(p.get("ref"), 300).removeprefix("refs/tags/")) or "?"
    if p.get("after") == ZERO_SHA:
        return f"tag {tag} deleted{_by(p)}"
    verb = "created at" if p.get("before") == ZERO_SHA else "moved to"
    return f"tag {tag} {verb} {_sha(p.get('checkout_sha') or p.get('after'))}{_by(p)}"


def _merge_request(p: dict) -> str:
    attrs, changes = _get(p, "object_attributes"), _get(p, "changes")
    action = _text(_get(attrs, "action"), 20)
    verb = _verb(action) or _text(_get(attrs, "state"), 20) or "event"
    if action == "update":
        draft = _get(changes, "draft", "current")
        if _text(_get(attrs, "oldrev")):
            verb = "updated (new commits)"
        elif _relabel(p):
            verb = "relabeled"
        elif isinstance(draft, bool):
            verb = "marked draft" if draft else "marked ready"
    line = " ".join(x for x in ("MR", _num("!", _get(attrs, "iid")), verb) if x)
    if title := _text(_get(attrs, "title"), 50):
        line += f": {title}"
    source = _text(_get(attrs, "source_branch"), 30)
    target = _text(_get(attrs, "target_branch"), 30)
    if source or target:
        line += f" ({source or '?'} → {target or '?'})"
    return line + _by(p)


def _note(p: dict) -> str:
    attrs = _get(p, "object_attributes")
    noteable = _text(_get(attrs, "noteable_type"), 30)
    where = {
        "MergeRequest": f"MR {_num('!', _get(p, 'merge_request', 'iid'))}",
        "Commit": f"commit {_sha(_get(p, 'commit', 'id') or _get(attrs, 'commit_id'))}",
        "Issue": f"issue {_num('#', _get(p, 'issue', 'iid'))}",
        "Snippet": f"snippet {_num('$', _get(p, 'snippet', 'id'))}",
    }.get(noteable, noteable or "?").rstrip()
    note = _get(attrs, "note")
    lines = note[:4000].splitlines() if isinstance(note, str) else []
    first = _text(next((line for line in lines if line.strip()), ""), 60)
    line = f"note on {where}{_by(p)}" + (f": {first}" if first else "")
    command = note_command(note)[1]
    return line + (f" [{command}]" if command and command not in first else "")


def _pipeline(p: dict) -> str:
    attrs = _get(p, "object_attributes")
    line = f"pipeline {_num('#', _get(attrs, 'id'))} {_text(_get(attrs, 'status'), 20) or '?'}"
    ref, source = _text(_get(attrs, "ref")), _text(_get(attrs, "source"), 30)
    return line + (f" on {ref}" if ref else "") + (f" ({source})" if source else "")


def _build(p: dict) -> str:
    name = _first(p.get("build_name"), _get(p, "object_attributes", "name"), limit=50) or "?"
    status = _first(p.get("build_status"), _get(p, "object_attributes", "status"), limit=20)
    return f"job {name} {status or '?'}" + (f" on {ref}" if (ref := _text(p.get("ref"))) else "")


def _titled(label: str, number: str = "") -> Callable[[dict], str]:
    """Issues, wiki pages, milestones, vulnerabilities: `label #iid action: title by user`."""

    def line(p: dict) -> str:
        attrs = _get(p, "object_attributes")
        iid = _num(number, _get(attrs, "iid")) if number else ""
        head = " ".join(x for x in (label, iid, _verb(_text(_get(attrs, "action"), 20))) if x)
        title = _first(_get(attrs, "title"), _get(attrs, "name"))
        severity = _text(_get(attrs, "severity"), 20) if label == "vulnerability" else ""
        extra = f" ({severity})" if severity else ""
        return head + (f": {title}" if title else "") + extra + _by(p)

    return line


def _release(p: dict) -> str:
    tag = _text(p.get("tag"), 40)
    line = f"release {_first(p.get('name'), tag, limit=50) or '?'} {_verb(_text(p.get('action')))}"
    return line.rstrip() + (f" (tag {tag})" if tag else "")


def _deployment(p: dict) -> str:
    line = f"deployment to {_text(p.get('environment'), 40) or '?'} {_text(p.get('status')) or '?'}"
    where = " @ ".join(x for x in (_text(p.get("ref"), 40), _text(p.get("short_sha"), 12)) if x)
    return line + (f" ({where})" if where else "") + _by(p)


def _feature_flag(p: dict) -> str:
    active = _get(p, "object_attributes", "active")
    state = " turned on" if active is True else " turned off" if active is False else ""
    return f"feature flag {_text(_get(p, 'object_attributes', 'name')) or '?'}{state}{_by(p)}"


def _emoji(p: dict) -> str:
    attrs = _get(p, "object_attributes")
    action = _verb(_first(p.get("event_type"), _get(attrs, "action"), limit=20))
    on = _text(_get(attrs, "awardable_type"), 30)
    line = f"emoji :{_text(_get(attrs, 'name'), 30)}: {action}".rstrip()
    return line + (f" on {on}" if on else "") + _by(p)


def _access_token(p: dict) -> str:
    attrs = _get(p, "object_attributes")
    line = f"access token {_text(_get(attrs, 'name'), 40) or '?'}"
    expires = _text(_get(attrs, "expires_at"), 30)
    group = _first(_get(p, "group", "group_path"), _get(p, "group", "group_name"))
    return (
        line + (f" expires {expires}" if expires else "") + (f" (group {group})" if group else "")
    )


def _member(p: dict) -> str:
    name = _text(p.get("event_name"), 50)
    action = name.removeprefix("user_").removesuffix("_group")
    user = _first(p.get("user_username"), p.get("user_name"), limit=30) or "?"
    group = _first(p.get("group_path"), p.get("group_name")) or "?"
    access = _text(p.get("group_access"), 20)
    return f"member {user} {_verb(action)} group {group}" + (f" ({access})" if access else "")


def _subgroup(p: dict) -> str:
    path = _first(p.get("full_path"), p.get("path"), p.get("name"), limit=80) or "?"
    return f"subgroup {path} {_verb(_text(p.get('event_name'), 40))}".rstrip()


def _admin(p: dict) -> str:
    """Project, group, user and key events (system and project hooks): `name subject`."""
    name = _first(p.get("event_name"), p.get("object_kind"), limit=40) or "event"
    where = _first(p.get("path_with_namespace"), p.get("project_path_with_namespace"),
                   _get(p, "project", "path_with_namespace"), p.get("full_path"),
                   p.get("group_path"), p.get("path"), limit=80)  # fmt: skip
    who = _first(p.get("user_username"), p.get("username"), limit=40)
    old = _first(p.get("old_path_with_namespace"), p.get("old_full_path"), p.get("old_username"))
    access = _first(p.get("access_level"), p.get("group_access"), p.get("project_access"))
    if name.startswith(("user_", "key_")):
        subject = f"{who} in {where}" if who and where else who or where
    else:
        subject = where or who
    subject = f"{old} → {subject}" if old else subject
    return f"{name} {subject}".rstrip() + (f" ({access})" if access else "")


def _system(p: dict) -> str:
    name = _first(p.get("event_name"), p.get("object_kind"), limit=40)
    inner = _HANDLERS.get(name) if name in ("push", "tag_push", "merge_request") else None
    return f"system: {(inner or _admin)(p)}"


_HANDLERS: dict[str, Callable[[dict], str]] = {  # payload kind → its line
    "push": _push, "tag_push": _tag_push, "merge_request": _merge_request, "note": _note,
    "pipeline": _pipeline, "build": _build, "issue": _titled("issue", "#"),
    "wiki_page": _titled("wiki page"), "milestone": _titled("milestone"),
    "vulnerability": _titled("vulnerability"), "release": _release, "deployment": _deployment,
    "feature_flag": _feature_flag, "emoji": _emoji, "access_token": _access_token,
    "member": _member, "subgroup": _subgroup, "project": _admin, "system": _system,
}  # fmt: skip


def header_kind(event: object) -> str | None:
    """The payload kind an X-Gitlab-Event header announces ("Job Hook" → "build"), or None."""
    name = _text(event, 60).lower()
    if not name.endswith(" hook"):
        return None
    kind = name.removesuffix(" hook").removeprefix("confidential ").replace(" ", "_")
    kind = {"job": "build", "resource_access_token": "access_token"}.get(kind, kind)
    return kind if kind in _HANDLERS else None


def _payload_kind(p: dict) -> str | None:
    if kind := _text(p.get("object_kind"), 40):
        return {"work_item": "issue", "job": "build"}.get(kind, kind)
    name = _text(p.get("event_name"), 60)
    if name in ("push", "tag_push") or not name:
        return name or None
    if name.startswith(("subgroup_", "project_")):
        return name.partition("_")[0]
    return "member" if name.startswith("user_") and name.endswith("_group") else "system"


def _summarize(event: object, payload: object) -> Summary:
    header = _text(event, 60)
    announced = header_kind(header)
    if not isinstance(payload, dict):
        what = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        kind = what.get(type(payload), "a number")
        return Summary(line=f"{header or 'delivery'}: payload is {kind}, not a JSON object")
    own = _payload_kind(payload)
    kind = "system" if announced == "system" else own or announced
    project = project_of(payload)
    handler = _HANDLERS.get(kind or "")
    if handler is None:
        what = _first(payload.get("object_kind"), payload.get("event_name")) or "unknown event"
        line = f"{header or 'delivery'}: {what}" + (f" {project}" if project else "")
        return Summary(line=_text(line, MAX_LINE), project=project)
    marker = f" [header: {header}]" if header and announced not in (kind, "system") else ""
    # PAC dispatches on the header; a payload of another kind fails PAC's parsing.
    pac_kind = announced if own in (announced, None) else None
    command = (
        note_command(_get(payload, "object_attributes", "note"))[1] if kind == "note" else None
    )
    return Summary(
        line=_text(handler(payload), MAX_LINE - len(marker)) + marker,
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
