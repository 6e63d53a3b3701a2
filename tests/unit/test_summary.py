"""summarize(): one readable line per GitLab delivery, and what PAC would make of it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pac_tui.webhooks.models import UNSAFE_CHARS, Summary, without_controls
from pac_tui.webhooks.summary import (
    MAX_LINE,
    header_kind,
    note_command,
    project_of,
    summarize,
)
from pac_tui.webhooks.summary.fields import clean

# Real GitLab payloads, copied from ../shared/fixtures (see its SOURCES.txt).
FIXTURES = Path(__file__).parents[1] / "fixtures" / "gitlab-webhooks"
HEADERS_EXAMPLE = "headers_example_gitlab_docs.json"
PAYLOAD_FILES = sorted(
    p.relative_to(FIXTURES).as_posix()
    for p in FIXTURES.rglob("*.json")
    if p.name != HEADERS_EXAMPLE
)
KIND_HEADERS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "issue": "Issue Hook",
    "pipeline": "Pipeline Hook",
    "build": "Job Hook",
    "wiki_page": "Wiki Page Hook",
    "deployment": "Deployment Hook",
    "release": "Release Hook",
    "feature_flag": "Feature Flag Hook",
    "access_token": "Resource Access Token Hook",
}
PAC_EVENTS = {
    "push",
    "pull_request",
    "pull_request_labeled",
    "pull_request_closed",
    "retest-all-comment",
    "retest-comment",
    "test-all-comment",
    "test-comment",
    "ok-to-test-comment",
    "cancel-all-comment",
    "cancel-comment",
}


def load(relative: str) -> dict[str, Any]:
    return json.loads((FIXTURES / relative).read_text())


def header_for(relative: str, payload: dict[str, Any]) -> str:
    """The X-Gitlab-Event GitLab sends with this fixture."""
    name = Path(relative).name
    if relative.startswith("go-gitlab/systemhooks/") or name.startswith("system-"):
        return "System Hook"
    if payload.get("object_kind") in KIND_HEADERS:
        header = KIND_HEADERS[payload["object_kind"]]
        return f"Confidential {header}" if name.startswith("confidential-") else header
    event_name = payload.get("event_name", "")
    if event_name.startswith("user_"):
        return "Member Hook"
    if event_name.startswith("subgroup_"):
        return "Subgroup Hook"
    raise AssertionError(f"no header known for {relative}")


def assert_one_line(summary: Summary) -> None:
    assert isinstance(summary, Summary)
    line = summary.line
    assert isinstance(line, str) and line.strip() == line and line
    assert line.splitlines() == [line], repr(line)
    assert len(line) <= MAX_LINE, line
    assert all(ch.isprintable() for ch in line), repr(line)
    if summary.project is not None:
        assert summary.project and summary.project.splitlines() == [summary.project]
    assert summary.pac_event is None or summary.pac_event in PAC_EVENTS
    assert summary.pac_command is None or summary.pac_command.startswith("/")


def test_fixture_set_is_complete() -> None:
    assert len(PAYLOAD_FILES) >= 90


@pytest.mark.parametrize("relative", PAYLOAD_FILES)
def test_every_fixture_summarizes_with_and_without_its_header(relative: str) -> None:
    payload = load(relative)
    header = header_for(relative, payload)
    with_header = summarize(header, payload)
    without = summarize("", payload)
    for summary in (with_header, without):
        assert_one_line(summary)
        assert "[header:" not in summary.line
    assert without.pac_event is None  # PAC needs the header to act at all
    if header == "System Hook":
        assert with_header.line.startswith("system: ")
        assert with_header.pac_event is None  # PAC does not parse system hooks
    else:
        assert without.line == with_header.line
    expected = (payload.get("project") or {}).get("path_with_namespace") or payload.get(
        "path_with_namespace"
    )
    if expected:
        assert with_header.project == expected == project_of(payload)


def test_headers_example_is_summarized_as_an_unknown_delivery() -> None:
    summary = summarize("", load(HEADERS_EXAMPLE))
    assert_one_line(summary)
    assert summary.line == "delivery: unknown event" and summary.pac_event is None


# file, header, line, project, PAC event
CASES = [
    ("go-scm/push.json", "Push Hook", "push master: 1 commit, head 2adc9465 by sytses",
     "gitlab-org/hello-world", "push"),
    ("go-gitlab/webhooks/push.json", "Push Hook", "push master: 4 commits, head da156088 by jsmith",
     "mike/diaspora", "push"),
    ("go-scm/push_subgroup.json", "Push Hook", "push master: 1 commit, head 2adc9465 by sytses",
     "group1/group2/group3/grp2repo", "push"),
    ("go-scm/branch_create.json", "Push Hook", "branch feature created by sytses",
     "gitlab-org/hello-world", "push"),
    ("go-scm/branch_delete.json", "Push Hook", "branch feature deleted by sytses",
     "gitlab-org/hello-world", None),  # no commits: PAC rejects it
    ("go-scm/tag_create.json", "Tag Push Hook", "tag v1.0.0 created at 2adc9465 by sytses",
     "gitlab-org/hello-world", "push"),
    ("go-scm/tag_delete.json", "Tag Push Hook", "tag v1.0.0 deleted by sytses",
     "gitlab-org/hello-world", None),
    ("go-playground/tag-event.json", "Tag Push Hook",  # no commits: PAC rejects it
     "tag v1.0.0 created at 82b3d5ae by John Smith", "jsmith/example", None),
    ("go-scm/pull_request_create.json", "Merge Request Hook",
     "MR !1 opened: update readme (feature → master) by sytses", "gitlab-org/hello-world",
     "pull_request"),
    ("go-scm/pull_request_reopen.json", "Merge Request Hook",
     "MR !1 reopened: update readme (feature → master) by sytses", "gitlab-org/hello-world",
     "pull_request"),
    ("go-scm/pull_request_merge.json", "Merge Request Hook",
     "MR !1 merged: update readme (feature → master) by sytses", "gitlab-org/hello-world", None),
    ("go-scm/pull_request_close.json", "Merge Request Hook",
     "MR !1 closed: update readme (feature → master) by sytses", "gitlab-org/hello-world",
     "pull_request_closed"),
    ("pac/merge_request.json", "Merge Request Hook",
     "MR !2 opened: rickrolled (samchmou-main-patch-92252 → main) by samchmou",
     "chmouel/pac-test", "pull_request"),
    ("go-gitlab/webhooks/service_merge_request.json", "Merge Request Hook",
     "MR !2 updated (new commits): Update client.go 🎉 (next-feature → master) by test",
     "test/woodpecker", "pull_request"),
    ("go-scm/pull_request_review_ready.json", "Merge Request Hook",
     "MR !3 marked draft: Draft: Update README.md (main1234 → main) by rathod.meetsatish",
     "rathod.meetsatish/meet", None),  # title edits without new commits: PAC ignores them
    ("go-gitlab/webhooks/merge_request.json", "Merge Request Hook",
     "MR !1 opened: MS-Viewport (ms-viewport → master) by user1", "gitlabhq/gitlab-test",
     "pull_request_labeled"),  # changes.labels present: PAC's label event type
    ("go-gitlab/webhooks/note_merge_request.json", "Note Hook",
     "note on MR !1 by root: This MR needs work.", "gitlab-org/gitlab-test", None),
    ("go-gitlab/webhooks/note_commit.json", "Note Hook",
     "note on commit cfe32cf6 by user1: This is a commit comment. How does this work?",
     "gitlabhq/gitlab-test", None),
    ("go-gitlab/webhooks/note_issue.json", "Note Hook", "note on issue #17 by user1: Hello world",
     "gitlab-org/gitlab-test", None),
    ("go-gitlab/webhooks/note_snippet.json", "Note Hook",
     "note on snippet $53 by user1: Is this snippet doing what it's supposed to be doing?",
     "gitlab-org/gitlab-test", None),
    ("go-gitlab/webhooks/pipeline.json", "Pipeline Hook",
     "pipeline #31 success on master (merge_request_event)", "gitlab-org/gitlab-test", None),
    ("go-gitlab/webhooks/job.json", "Job Hook", "job auto_deploy:start success on main",
     "jsmithy2/release-tools-fake", None),  # project from repository.homepage
    ("go-playground/build-event.json", "Job Hook", "job test created on gitlab-script-trigger",
     "gitlab-org/gitlab-test", None),
    ("go-gitlab/webhooks/issue.json", "Issue Hook",
     "issue #23 opened: New API: create/update/delete file by root", "gitlabhq/gitlab-test", None),
    ("go-gitlab/webhooks/wiki_page.json", "Wiki Page Hook", "wiki page created: Awesome by user1",
     "root/awesome-project", None),
    ("go-gitlab/webhooks/release.json", "Release Hook", "release 1.0.0 created (tag 1.0.0)",
     "exm-namespace/example-project", None),
    ("go-gitlab/webhooks/deployment.json", "Deployment Hook",
     "deployment to staging success (1.0.0 @ 279484c0) by user1",
     "root/test-deployment-webhooks", None),
    ("go-gitlab/webhooks/feature_flag.json", "Feature Flag Hook",
     "feature flag test-feature-flag turned on by root", "gitlabhq/gitlab-test", None),
    ("go-gitlab/webhooks/resource_access_token_project.json", "Resource Access Token Hook",
     "access token acd expires 2024-01-26", "flightjs/Flight", None),
    ("go-gitlab/webhooks/resource_access_token_group.json", "Resource Access Token Hook",
     "access token acd expires 2024-01-26 (group twitter)", None, None),
    ("go-gitlab/webhooks/member.json", "Member Hook",
     "member user1 added to group webhook-test (Guest)", None, None),
    ("go-gitlab/webhooks/subgroup.json", "Subgroup Hook", "subgroup group-1/subgroup-1 created",
     None, None),
    ("go-gitlab/systemhooks/project_create.json", "System Hook",
     "system: project_create jsmith/storecloud", "jsmith/storecloud", None),
    ("go-gitlab/systemhooks/push.json", "System Hook",
     "system: push master: 1 commit, head da156088 by John Smith", "mike/diaspora", None),
    ("go-gitlab/systemhooks/merge_request.json", "System Hook",
     "system: MR !1 opened: MS-Viewport (ms-viewport → master) by root", "jsmith/example", None),
    ("go-playground/system-project-renamed.json", "System Hook",
     "system: project_rename jsmith/overscore → jsmith/underscore", "jsmith/underscore", None),
    ("go-playground/system-team-member-added.json", "System Hook",
     "system: user_add_to_team johnsmith in jsmith/storecloud (Maintainer)", "jsmith/storecloud",
     None),
    ("go-playground/system-user-renamed.json", "System Hook",
     "system: user_rename old-boring-name → new-exciting-name", None, None),
    ("go-playground/system-key-added.json", "System Hook", "system: key_create root", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("relative", "header", "line", "project", "pac_event"), CASES)
def test_representative_lines(
    relative: str, header: str, line: str, project: str | None, pac_event: str | None
) -> None:
    summary = summarize(header, load(relative))
    assert (summary.line, summary.project, summary.pac_event) == (line, project, pac_event)


def note_on_mr(text: str, state: str = "opened") -> dict[str, Any]:
    payload = load("go-gitlab/webhooks/note_merge_request.json")
    payload["object_attributes"]["note"] = text
    payload["merge_request"]["state"] = state
    return payload


# note text, PAC event type, command
NOTES = [
    ("/retest", "retest-all-comment", "/retest"),
    ("/retest my-pipeline", "retest-comment", "/retest my-pipeline"),
    ("/test", "test-all-comment", "/test"),
    ("/test   pipeline-name  and more words", "test-comment", "/test pipeline-name"),
    ("/ok-to-test", "ok-to-test-comment", "/ok-to-test"),
    ("/ok-to-test 1b2c3d4e", "ok-to-test-comment", "/ok-to-test 1b2c3d4e"),
    ("/cancel", "cancel-all-comment", "/cancel"),
    ("/cancel my-run", "cancel-comment", "/cancel my-run"),
    ("Looks good to me.\r\n\r\n   /retest  \r\n", "retest-all-comment", "/retest"),
    ("/test only-this\n/retest", "retest-all-comment", "/retest"),  # PAC's precedence
    ("please /retest this", None, None),  # a command starts a line
    ("/retesting", None, None),
    ("/ok-to-test not-a-sha", None, None),
    ("/lgtm", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("text", "pac_event", "command"), NOTES)
def test_note_commands_on_an_open_mr(text: str, pac_event: str | None, command: str | None) -> None:
    summary = summarize("Note Hook", note_on_mr(text))
    assert_one_line(summary)
    assert (summary.pac_event, summary.pac_command) == (pac_event, command)
    assert note_command(text) == (pac_event, command)
    assert summary.line.startswith("note on MR !1 by root")
    if command:
        assert command in summary.line


def test_a_command_below_the_first_line_is_shown_with_it() -> None:
    summary = summarize("Note Hook", note_on_mr("Flaky again.\n\n/retest unit-tests"))
    assert summary.line == "note on MR !1 by root: Flaky again. [/retest unit-tests]"
    assert summary.pac_event == "retest-comment"


def test_commands_on_closed_mrs_issues_and_without_header_are_ignored_by_pac() -> None:
    merged = summarize("Note Hook", note_on_mr("/retest", state="merged"))
    assert (merged.pac_event, merged.pac_command) == (None, "/retest")
    issue = load("go-gitlab/webhooks/note_issue.json")
    issue["object_attributes"]["note"] = "/retest"
    on_issue = summarize("Note Hook", issue)
    assert (on_issue.pac_event, on_issue.pac_command) == (None, "/retest")
    no_header = summarize("", note_on_mr("/retest"))
    assert (no_header.pac_event, no_header.pac_command) == (None, "/retest")
    internal = summarize("Confidential Note Hook", note_on_mr("/retest"))
    assert internal.pac_event == "retest-all-comment"


def test_commands_on_commits_follow_pac() -> None:
    payload = load("go-gitlab/webhooks/note_commit.json")  # action "create"
    for text, expected in [("/retest", "retest-all-comment"), ("/cancel x", "cancel-comment"),
                           ("/ok-to-test", None)]:  # fmt: skip
        payload["object_attributes"]["note"] = text
        assert summarize("Note Hook", payload).pac_event == expected, text
    older = load("go-playground/comment-commit-event.json")  # no action: PAC ignores it
    older["object_attributes"]["note"] = "/retest"
    assert summarize("Note Hook", older).pac_event is None


def mr_update(changes: dict[str, Any], oldrev: str | None = None) -> dict[str, Any]:
    payload = load("pac/merge_request.json")
    payload["object_attributes"]["action"] = "update"
    payload["object_attributes"].pop("oldrev", None)
    if oldrev:
        payload["object_attributes"]["oldrev"] = oldrev
    payload["changes"] = {"updated_at": {"previous": "a", "current": "b"}, **changes}
    return payload


def test_merge_request_updates_follow_pac() -> None:
    labels = {"labels": {"previous": [], "current": [{"title": "bug"}]}}
    title = {"title": {"previous": "Draft: x", "current": "x"}}
    relabeled = summarize("Merge Request Hook", mr_update(labels))
    assert relabeled.pac_event == "pull_request_labeled"
    assert relabeled.line.startswith("MR !2 relabeled: rickrolled")
    assert summarize("Merge Request Hook", mr_update({**labels, **title})).pac_event is None
    ready = summarize("Merge Request Hook", mr_update({**title, "draft": {"current": False}}))
    assert (ready.pac_event, ready.line.split(":")[0]) == (None, "MR !2 marked ready")
    pushed = summarize("Merge Request Hook", mr_update({}, oldrev="6ef04757" * 5))
    assert pushed.pac_event == "pull_request"
    approved = load("pac/merge_request.json")
    approved["object_attributes"]["action"] = "approved"
    assert summarize("Merge Request Hook", approved).pac_event is None
    assert summarize("Merge Request Hook", approved).line.startswith("MR !2 approved: rickrolled")


def test_a_wrong_header_is_shown_and_pac_ignores_the_delivery() -> None:
    push = load("go-gitlab/webhooks/push.json")
    right = summarize("Push Hook", push)
    for header in ("Merge Request Hook", "Tag Push Hook", "Foo Hook", "push"):
        wrong = summarize(header, push)
        assert wrong.line == f"{right.line} [header: {header}]"
        assert wrong.pac_event is None and wrong.project == right.project
    note = summarize("Push Hook", note_on_mr("/retest"))
    assert note.line.endswith("[header: Push Hook]") and note.pac_event is None


def test_the_header_decides_when_the_payload_does_not_say() -> None:
    push = load("go-gitlab/webhooks/push.json")
    del push["object_kind"], push["event_name"]
    assert summarize("Push Hook", push).pac_event == "push"
    assert summarize("", push).line == "delivery: unknown event mike/diaspora"


def test_header_kinds() -> None:
    assert header_kind("Job Hook") == header_kind("Build Hook") == "build"
    assert header_kind("Confidential Note Hook") == "note"
    assert header_kind("Resource Access Token Hook") == "access_token"
    assert header_kind("push hook") == "push"
    assert header_kind("System Hook") == "system"
    for nonsense in ("", "Nope", "Hook", "Mystery Hook", None, 7):
        assert header_kind(nonsense) is None


def test_unknown_kinds_and_non_objects_get_a_generic_line() -> None:
    mystery = {"object_kind": "mystery", "project": {"web_url": "https://gl.example/acme/app"}}
    summary = summarize("Mystery Hook", mystery)
    assert (summary.line, summary.project) == ("Mystery Hook: mystery acme/app", "acme/app")
    assert summarize("", {}).line == "delivery: unknown event"
    for payload, what in [([], "an array"), ("x", "a string"), (None, "null"), (3, "a number"),
                          (2.5, "a number"), (True, "a boolean")]:  # fmt: skip
        summary = summarize("Push Hook", payload)
        assert summary.line == f"Push Hook: payload is {what}, not a JSON object"
        assert summary.project is summary.pac_event is None


def test_project_of_falls_back_to_web_url_and_homepage() -> None:
    push = load("go-gitlab/webhooks/push.json")
    del push["project"]["path_with_namespace"]
    push["project"]["web_url"] = "https://gitlab.example.com/group/sub/app/"
    assert project_of(push) == "group/sub/app"
    push["project"]["web_url"] = "http://[::1"  # urlsplit raises on this
    assert project_of(push) == "mike/diaspora"  # from repository.homepage
    del push["repository"]
    assert project_of(push) is None
    assert project_of(load("go-playground/system-team-member-added.json")) == "jsmith/storecloud"
    assert project_of(load("go-gitlab/webhooks/member.json")) is None
    assert project_of([]) is None and project_of("acme/app") is None


def test_long_and_hostile_text_stays_one_clean_line() -> None:
    payload = load("pac/merge_request.json")
    payload["object_attributes"]["title"] = "\x1b[31mred\u2028line\x00" + "word\n" * 50_000
    payload["object_attributes"]["source_branch"] = "b" * 10_000
    payload["user"]["username"] = "\u202eevil\r\nname"
    summary = summarize("Merge Request Hook", payload)
    assert_one_line(summary)
    assert "\x1b" not in summary.line and "…" in summary.line
    assert summary.line.startswith("MR !2 opened: [31mred line word word")


def test_huge_notes_take_linear_time() -> None:
    """A megabyte of blank lines or spaces must not be scanned quadratically (which would take
    hours); the bound is loose on purpose, the speed itself is a benchmark's business."""
    started = time.perf_counter()
    for text in ("\n" * 1_000_000, " " * 1_000_000 + "x", "/retest" + " " * 1_000_000 + "x"):
        summary = summarize("Note Hook", note_on_mr(text))
        assert_one_line(summary)
    payload = load("go-gitlab/webhooks/push.json")
    payload["total_commits_count"] = 10**5000  # too long for str(): still a line
    assert_one_line(summarize("Push Hook", payload))
    assert time.perf_counter() - started < 60


def test_importing_the_module_does_not_import_textual() -> None:
    code = "import sys, pac_tui.webhooks.summary; print(any('textual' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- fuzzing --------------------------------------------------------------------------------

HEADERS = [*KIND_HEADERS.values(), "System Hook", "Confidential Note Hook", "Member Hook", ""]
VOCABULARY = [
    "object_kind", "event_name", "object_attributes", "project", "user", "changes", "commits",
    "ref", "before", "after", "checkout_sha", "total_commits_count", "merge_request", "note",
    "noteable_type", "action", "state", "iid", "title", "labels", "current", "previous", "oldrev",
    "path_with_namespace", "web_url", "repository", "homepage", "username", "build_name",
]  # fmt: skip
KINDS = [
    "push", "tag_push", "merge_request", "note", "pipeline", "build", "issue", "work_item",
    "wiki_page", "release", "deployment", "feature_flag", "emoji", "access_token", "milestone",
    "vulnerability", "project_create", "user_add_to_group", "subgroup_create", "MergeRequest",
    "Commit", "opened", "open", "update", "/retest", "/test x", "0" * 40,
]  # fmt: skip
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.sampled_from(KINDS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=10), inner, max_size=6)
    ),
    max_leaves=40,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(event=st.text() | st.sampled_from(HEADERS), payload=json_values)
def test_fuzz_any_json_never_raises(event: str, payload: object) -> None:
    assert_one_line(summarize(event, payload))


def paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value, as a path of keys and indices."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replace(value: Any, path: tuple[Any, ...], new: object) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


FIXTURE_PAYLOADS = [load(relative) for relative in PAYLOAD_FILES]


@FUZZ
@given(
    base=st.sampled_from(range(len(FIXTURE_PAYLOADS))),
    header=st.sampled_from(HEADERS),
    data=st.data(),
)
def test_fuzz_real_payloads_with_random_parts_replaced(
    base: int, header: str, data: st.DataObject
) -> None:
    payload = copy.deepcopy(FIXTURE_PAYLOADS[base])
    for _ in range(data.draw(st.integers(1, 5))):
        places = paths(payload)
        if not places:
            break
        replace(payload, data.draw(st.sampled_from(places)), data.draw(json_values))
    assert_one_line(summarize(header, payload))
    assert_one_line(summarize("", payload))


@FUZZ
@given(text=st.text(max_size=60) | st.from_regex(r"[ -~]{0,60}", fullmatch=True))
def test_clean_is_the_text_on_one_plain_line(text: str) -> None:
    """The fast path for short printable ASCII gives what the general path gives."""
    assert clean(text) == " ".join(without_controls(text).split())


@FUZZ
@given(text=st.text() | st.from_regex(r"[\x00-\x7f]*", fullmatch=True))
def test_without_controls_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = without_controls(text)
    assert len(shown) == len(text) and shown.isprintable() and not UNSAFE_CHARS.search(shown)
