"""What Pipelines-as-Code would make of a GitLab delivery: `Summary.pac_event`.

It follows PAC's GitLab provider (openshift-pipelines/pipelines-as-code:
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

Before any of that PAC validates the delivery (`Validate` in pkg/provider/gitlab/gitlab.go): it
refuses one without an `X-Gitlab-Token` header, one for a Repository without a webhook secret, and
one whose token does not match (constant-time compare). `pac_refusal` says which; a refused
delivery has no PAC event.
"""

from __future__ import annotations

import re
import secrets

from pac_tui.webhooks.summary.fields import ZERO_SHA, clean, commit_count, field

# PAC's ops-comment regexes (default "/" prefix) in PAC's order, matched on each stripped line.
_COMMANDS = [(kind, re.compile(pattern, re.ASCII)) for kind, pattern in (
    ("retest-all-comment", r"/retest\s*$"), ("retest-comment", r"/retest[ \t]+\S+"),
    ("test-all-comment", r"/test\s*$"), ("test-comment", r"/test[ \t]+\S+"),
    ("ok-to-test-comment", r"/ok-to-test(?:\s+[0-9a-fA-F]{7,40})?\s*$"),
    ("cancel-all-comment", r"/cancel\s*$"), ("cancel-comment", r"/cancel[ \t]+\S+"),
)]  # fmt: skip
# An MR update without new commits reaches PAC only when nothing but its labels changed.
_MR_OTHER_CHANGES = (
    "assignees", "reviewers", "description", "merge_status", "milestone_id", "source_branch",
    "source_project_id", "state_id", "target_branch", "target_project_id", "title",
)  # fmt: skip


def note_command(note: object) -> tuple[str | None, str | None]:
    """PAC's ops-comment type and the command (e.g. "/test my-run") a note carries."""
    if not isinstance(note, str):
        return None, None
    lines = [line.lstrip(" \t\r\f") for line in note[:1_000_000].split("\n")]
    for kind, pattern in _COMMANDS:
        for line in lines:
            if line.startswith("/") and pattern.match(line):
                return kind, clean(" ".join(line.split()[:2]), 80)
    return None, None


def pac_event_of(kind: str | None, p: dict) -> str | None:
    """What PAC's GitLab provider does with a payload of this header kind (module docstring)."""
    attrs, changes = field(p, "object_attributes"), field(p, "changes")
    if kind == "push":
        return "push" if commit_count(p) else None
    if kind == "tag_push":
        deleted = p.get("after") == ZERO_SHA and not p.get("checkout_sha")
        return "push" if commit_count(p) and not deleted else None
    if kind == "merge_request":
        action = field(attrs, "action")
        if action == "close":
            return "pull_request_closed"
        new_commits = bool(clean(field(attrs, "oldrev")))
        if action in ("open", "reopen") or (action == "update" and (new_commits or is_relabel(p))):
            relabel = isinstance(field(changes, "labels", "current"), list)
            return "pull_request_labeled" if relabel else "pull_request"
        return None
    if kind == "note" and p.get("object_kind") == "note":
        command = note_command(field(attrs, "note"))[0]
        noteable = field(attrs, "noteable_type")
        if noteable == "MergeRequest" and field(p, "merge_request", "state") == "opened":
            return command
        if noteable == "Commit" and field(attrs, "action") == "create":
            return command if command != "ok-to-test-comment" else None
    return None


def _changed(changes: object, key: str) -> bool:
    change = field(changes, key)
    return isinstance(change, dict) and bool(change.get("previous") or change.get("current"))


def is_relabel(p: dict) -> bool:
    """An MR update that changed its labels and none of the fields PAC checks."""
    changes = field(p, "changes")
    others = (_changed(changes, key) for key in _MR_OTHER_CHANGES)
    return _changed(changes, "labels") and not any(others)


def pac_refusal(webhook_secret: str | None, sent_token: str) -> str | None:
    """Why PAC's GitLab `Validate` would refuse a delivery for a repository with this webhook
    secret (None: none configured) carrying this `X-Gitlab-Token` ("" when absent); None if it
    would accept it. The reasons are PAC's own; no token value is ever part of them."""
    if not sent_token:
        return "no X-Gitlab-Token header"
    if not webhook_secret:
        return "no webhook secret configured"
    if not secrets.compare_digest(
        sent_token.encode("utf-8", "surrogateescape"), webhook_secret.encode()
    ):
        return "the token does not match the webhook secret"
    return None


def with_refusal(line: str, reason: str, limit: int) -> str:
    """A delivery's summary line that says PAC would refuse it, within `limit` characters."""
    suffix = f" · PAC would refuse it: {reason}"
    return clean(line, limit - len(suffix)) + suffix
