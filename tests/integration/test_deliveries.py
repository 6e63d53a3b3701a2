"""The deliveries timeline end to end: a repository onboarded to the fake cluster, GitLab (the fake)
delivering for real to a PAC stand-in on 127.0.0.1, PipelineRuns carrying PAC's own labels, and
the local journal; through `deliveries_report` and `pac-tui deliveries`."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pac_tui import cli
from pac_tui.actions.deliveries import DeliveriesReport, deliveries_report
from pac_tui.kube.repositories import PAC_GROUP
from pac_tui.onboard import onboard
from pac_tui.webhooks.journal import Journal, JournalReader
from pac_tui.webhooks.models import Delivery, Verdict
from tests.gitlab.test_hook_events import Receiver, receiver  # noqa: F401 (a fixture)
from tests.kube.conftest import apiserver, kubeconfig  # noqa: F401 (fixtures)
from tests.kube.pac_pipelineruns import add_pac_pipelinerun
from tests.onboard.conftest import PROJECT, World, world  # noqa: F401 (a fixture)
from tests.providers.gitlab_hook_events import FIXTURES, log_of, sample_payload

PUSH = sample_payload("push_events")  # go-playground push: ref refs/heads/master, 2 commits
MR = sample_payload("merge_requests_events")  # action "open"
MERGED = json.loads((FIXTURES / "go-scm" / "pull_request_merge.json").read_text())


def _run_time(seconds: int = 5) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Pac:
    """The onboarded repository's PAC side: the hook's id, the stand-in that answers."""

    def __init__(self, setup: World, stand_in: Receiver, hook_id: int) -> None:
        self.world, self.receiver, self.hook_id = setup, stand_in, hook_id

    async def deliver(
        self, kind: str, payload: dict[str, Any], status: int = 202, message: str = "accepted"
    ) -> dict[str, Any]:
        self.receiver.status, self.receiver.message = status, message
        return await log_of(self.world.gitlab).deliver(
            self.world.project, self.hook_id, kind, payload
        )

    async def report(self, repo: Any = None, **kw: Any) -> DeliveriesReport:
        s = self.world.session
        return await deliveries_report(
            repo or self.world.bound(), s.store, s.clock, self.world.clusters, **kw
        )


@pytest.fixture
async def pac(world: World, receiver: Receiver) -> Pac:  # noqa: F811
    world.project.branches.add("master")  # the branch of the push payload
    s = world.session
    await onboard(world.bound(), s.store, s.clock, world.clusters, controller_url=receiver.url)
    [hook_id] = world.project.hooks
    log_of(world.gitlab).redact_token = False  # prove pac-tui redacts it on its own
    return Pac(world, receiver, hook_id)


def _secret(pac: Pac) -> str:
    return pac.world.project.hooks[pac.hook_id]["token"]


async def test_each_delivery_joined_to_its_pipelineruns_and_the_journal(
    pac: Pac, tmp_path: Path
) -> None:
    push = await pac.deliver("Push Hook", PUSH)
    mr = await pac.deliver("Merge Request Hook", MR)
    sha = PUSH["checkout_sha"]
    mr_sha = MR["object_attributes"]["last_commit"]["id"]
    add_pac_pipelinerun(
        pac.world.apiserver, "demo-on-push-x1", "demo", sha=sha, event_type="push",
        created=_run_time(), project=PROJECT,
    )  # fmt: skip
    add_pac_pipelinerun(
        pac.world.apiserver, "demo-on-mr-y2", "demo", sha=mr_sha, event_type="Merge Request",
        created=_run_time(), original="on-mr", reason="Failed", status="False",
    )  # fmt: skip
    add_pac_pipelinerun(  # the same commit, but a push of long before: not this delivery's
        pac.world.apiserver, "demo-old", "demo", sha=sha, event_type="push",
        created=(datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip
    journal = Journal(tmp_path / "events.sqlite3")
    async with journal:
        await journal.append(
            Delivery(
                received_at=datetime.now(UTC),
                kind="Push Hook",
                verdict=Verdict.ACCEPTED,
                summary="push",
                headers={},
                body=b"{}",
                repo="demo",
                event_uuid=push["request_headers"]["X-Gitlab-Event-UUID"],
            )
        )
    reader = JournalReader(journal.path)
    try:
        report = await pac.report(journal=reader)
    finally:
        reader.close()

    assert report.bound and report.notes == []
    newest, first = report.deliveries
    assert (newest.event.id, first.event.id) == (mr["id"], push["id"])
    assert [r.name for r in first.pipelineruns or []] == ["demo-on-push-x1"]
    assert [(r.name, r.outcome.succeeded) for r in newest.pipelineruns or []] == [
        ("demo-on-mr-y2", False)
    ]
    assert first.why is None and newest.why is None
    assert first.journal is not None and first.journal.verdict == "accepted"
    assert newest.journal is None
    data = first.to_json()
    assert data["uuid"] == push["request_headers"]["X-Gitlab-Event-UUID"]
    assert (data["event"], data["kind"], data["status"]) == ("push_hooks", "Push Hook", "202")
    assert data["answer"] == '{"status": 202, "message": "accepted"}'
    assert isinstance(data["duration_ms"], int) and data["hook_url"] == pac.receiver.url
    assert data["pipelineruns"][0]["pipelinerun"] == "on-push"
    assert data["request_headers"]["X-Gitlab-Token"] == "[redacted]"
    assert _secret(pac) not in json.dumps([v.to_json() for v in report.deliveries])


async def test_why_nothing_ran_in_words(pac: Pac) -> None:
    setup = pac.world
    log = log_of(setup.gitlab)
    lost = log.record(setup.project, pac.hook_id, kind="Push Hook", payload=PUSH,
                      status="internal error")  # fmt: skip
    failed = await pac.deliver("Push Hook", PUSH, 500, "internal server error")
    refused = await pac.deliver("Push Hook", PUSH, 400, "invalid event body format")
    merged = await pac.deliver("Merge Request Hook", MERGED, 200, "skipping non supported event")
    skipped = await pac.deliver("Push Hook", PUSH, 200, "got error while processing : boom")
    accepted = await pac.deliver("Push Hook", PUSH)
    why = {v.event.id: v.why or "" for v in (await pac.report()).deliveries}

    assert why[lost["id"]].startswith("the delivery failed: internal error (GitLab got no HTTP")
    assert why[failed["id"]] == (
        "the delivery failed: the receiver answered HTTP 500 (internal server error)"
    )
    assert why[refused["id"]] == ("the receiver refused it: HTTP 400 (invalid event body format)")
    assert why[merged["id"]].startswith(
        'PAC answered "skipping non supported event"; an event PAC does not handle: '
    )
    assert (
        why[skipped["id"]]
        == 'PAC did not act on it: it answered "got error while processing : boom"'
    )
    assert why[accepted["id"]].startswith("PAC accepted it but created no PipelineRun")

    setup.project.files = {"README.md"}  # no .tekton/ any more
    assert (await pac.report(limit=1)).deliveries[0].why == (
        "no .tekton/ directory with PipelineRuns on master"
    )

    repo = setup.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
    assert repo is not None
    del repo["spec"]["git_provider"]["webhook_secret"]
    setup.apiserver.put_object(
        {"apiVersion": f"{PAC_GROUP}/v1alpha1", "kind": "Repository", **repo}
    )
    assert "has no webhook secret, so PAC refuses every delivery" in str(
        (await pac.report(limit=1)).deliveries[0].why
    )

    setup.project.hooks[pac.hook_id].update(
        alert_status="temporarily_disabled", disabled_until="2026-12-03T15:00:00Z"
    )
    report = await pac.report(failed=True)
    assert [v.event.id for v in report.deliveries] == [refused["id"], failed["id"], lost["id"]]
    assert "GitLab has since disabled the hook (temporarily_disabled until 2026-12-03 15:00)" in (
        report.deliveries[0].why or ""
    )

    unbound = await pac.report(repo=setup.session.repo)
    assert not unbound.bound
    by_id = {v.event.id: v for v in unbound.deliveries}
    assert by_id[accepted["id"]].why is None and by_id[accepted["id"]].pipelineruns is None
    assert "pipelineruns" not in by_id[accepted["id"]].to_json()
    assert by_id[failed["id"]].why is not None


# ---- the command ------------------------------------------------------------------------------


def _config(setup: World, path: Path, bound: bool = True) -> None:
    app = setup.session.repo.gitlab
    binding = (
        '\n[repositories.kubernetes]\ncontext = "kind-pac"\nnamespace = "ci"\nrepository = "demo"\n'
    )
    path.write_text(
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n' + (binding if bound else "")
    )


async def _cli(pac: Pac, tmp_path: Path, monkeypatch: Any, *argv: str) -> tuple[int, str, str]:
    config = tmp_path / "config.toml"
    if not config.exists():
        _config(pac.world, config)
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(pac.world.session.store.path.parent))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    args = ["--config", str(config), *argv, "--kubeconfig", str(pac.world.kubeconfig)]
    try:
        status = await asyncio.to_thread(cli.main, args)
    except SystemExit as exc:  # argparse refuses the command line
        status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


async def test_the_command(pac: Pac, tmp_path: Path, monkeypatch: Any) -> None:
    await pac.deliver("Push Hook", PUSH, 500, "internal server error")
    for _ in range(3):
        await pac.deliver("Push Hook", PUSH)
    add_pac_pipelinerun(
        pac.world.apiserver, "demo-on-push-z", "demo", sha=PUSH["checkout_sha"],
        event_type="push", created=_run_time(),
    )  # fmt: skip

    status, out, err = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo", "--json")
    assert status == 0, err
    items = json.loads(out)
    assert len(items) == 4 and [i["id"] for i in items] == sorted(i["id"] for i in items)[::-1]
    assert [r["name"] for r in items[0]["pipelineruns"]] == ["demo-on-push-z"]
    assert items[1]["pipelineruns"] == [] and "no PipelineRun" in items[1]["why"]
    for key in ("id", "at", "hook_url", "event", "status", "answer", "duration_ms", "uuid"):
        assert key in items[0]

    status, out, _ = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo", "--limit", "2",
                                "--json")  # fmt: skip
    assert [i["id"] for i in json.loads(out)] == [i["id"] for i in items[:2]]

    status, out, _ = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo", "--failed",
                                "--json")  # fmt: skip
    [only] = json.loads(out)
    assert only["status"] == "500" and only["why"].startswith("the delivery failed")

    pac.world.project.hooks[pac.hook_id].update(alert_status="disabled")
    status, out, _ = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo")
    assert status == 0
    hook_line, *lines = out.splitlines()
    assert hook_line.startswith(f"hook #{pac.hook_id} → {pac.receiver.url}: disabled for good")
    assert "send a test event" in hook_line
    assert lines[0].split() == ["AT", "(UTC)", "EVENT", "STATUS", "MS", "PIPELINERUNS"]
    assert "demo-on-push-z Succeeded" in lines[1]
    assert "none: the delivery failed: the receiver answered HTTP 500" in lines[-1]
    access_token = pac.world.session.tokens().access_token
    for text in (out, *(json.dumps(i) for i in items)):
        assert _secret(pac) not in text and access_token not in text

    status, _, err = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo", "--limit", "0")
    assert status == 2 and "must be at least 1" in err
    status, _, err = await _cli(pac, tmp_path, monkeypatch, "deliveries", "nope")
    assert status == 2 and "no repository named 'nope'" in err

    pac.world.project.access_level = 30
    status, out, err = await _cli(pac, tmp_path, monkeypatch, "deliveries", "demo")
    assert status == 1 and out == ""
    assert "needs the Maintainer role on the project" in err


# ---- the join's rules, on GitLab-shaped records -----------------------------------------------


def _recorded(n: int, kind: str, payload: dict[str, Any], minute: int) -> Any:
    from pac_tui.gitlab.hook_events import HookEvent

    return HookEvent.from_api(
        1,
        {
            "id": n,
            "url": "https://pac.example.com/",
            "trigger": "note_hooks" if kind == "Note Hook" else "push_hooks",
            "request_headers": {"X-Gitlab-Event": kind},
            "request_data": payload,
            "response_body": '{"status":202,"message":"accepted"}',
            "response_status": "202",
            "created_at": f"2026-12-03T10:{minute:02d}:00Z",
        },
    )


def _labelled(name: str, sha: str, event_type: str, at: str) -> Any:
    from pac_tui.kube.pipelineruns import parse_pipelinerun

    p = "pipelinesascode.tekton.dev"
    return parse_pipelinerun(
        {
            "metadata": {
                "name": name,
                "namespace": "ci",
                "creationTimestamp": f"2026-12-03T{at}:30Z",
                "annotations": {f"{p}/sha": sha, f"{p}/event-type": event_type},
            },
            "status": {"conditions": [{"type": "Succeeded", "status": "True"}]},
        }
    )


def test_runs_go_to_the_newest_delivery_of_their_commit_and_kind() -> None:
    from pac_tui.actions.deliveries import join_runs, view_of

    note = json.loads((FIXTURES / "go-playground" / "comment-merge-request-event.json").read_text())
    note["object_attributes"]["note"] = "/retest"
    note_sha = note["merge_request"]["last_commit"]["id"]
    sha = PUSH["checkout_sha"]
    original = view_of(_recorded(1, "Push Hook", PUSH, 0), None)
    resent = view_of(_recorded(2, "Push Hook", PUSH, 10), None)
    retest = view_of(_recorded(3, "Note Hook", note, 20), None)
    assert retest.pac_event == "retest-all-comment"
    join_runs(
        [retest, resent, original],
        [
            _labelled("first", sha, "push", "10:01"),  # after the push, before its resend
            _labelled("again", sha, "push", "10:11"),  # after the resend
            _labelled("retested", note_sha, "retest-all-comment", "10:21"),
            _labelled("not-a-retest", note_sha, "Merge Request", "10:21"),  # another kind
            _labelled("long-before", sha, "push", "09:30"),  # before any of these deliveries
        ],
    )
    names = {v.event.id: [r.name for r in v.pipelineruns or []] for v in (original, resent, retest)}
    assert names == {1: ["first"], 2: ["again"], 3: ["retested"]}
