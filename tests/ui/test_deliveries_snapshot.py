"""SVG snapshot of the Deliveries screen (key d): frozen clock, no timers, no animations, a fixed
timeline built by the real join and reasons from GitLab-shaped deliveries and PAC-labelled
PipelineRuns (the reading itself is tested in tests/integration/test_deliveries.py).

Update only in a commit of its own, after looking at it:
    .venv/bin/python -m pytest tests/ui/test_deliveries_snapshot.py --snapshot-update
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from pac_tui.actions.deliveries import DeliveriesReport, join_runs, view_of, why_nothing_ran
from pac_tui.gitlab.hook_events import HookEvent, HookState
from pac_tui.kube.pipelineruns import parse_pipelinerun
from tests.providers.gitlab_hook_events import FIXTURES, sample_payload
from tests.ui.conftest import make_app, still, three_repo_context

SIZE = (140, 36)
URL = "https://pac.example.com/hook"
PUSH = sample_payload("push_events")
MR = sample_payload("merge_requests_events")
MERGED = json.loads((FIXTURES / "go-scm" / "pull_request_merge.json").read_text())
ACCEPTED = '{"status":202,"message":"accepted"}\n'
HOOK = HookState.from_api(
    {"id": 12, "url": URL, "push_events": True, "tag_push_events": True,
     "merge_requests_events": True, "note_events": True, "enable_ssl_verification": True,
     "alert_status": "executable", "disabled_until": None}
)  # fmt: skip


def _event(n: int, kind: str, payload: dict, status: str, body: str, minute: int) -> HookEvent:
    trigger = {"Push Hook": "push_hooks", "Merge Request Hook": "merge_request_hooks"}[kind]
    return HookEvent.from_api(
        12,
        {
            "id": n,
            "url": URL,
            "trigger": trigger,
            "request_headers": {
                "Content-Type": "application/json",
                "User-Agent": "GitLab/17.6.0",
                "Idempotency-Key": f"7c6e0583-49f2-4dc5-a50b-4c0bcf3c1b{n:02d}",
                "X-Gitlab-Event": kind,
                "X-Gitlab-Instance": "https://gitlab.example.com",
                "X-Gitlab-Event-UUID": f"842d7c3e-3114-4396-8a95-66c084d53c{n:02d}",
                "X-Gitlab-Token": "[REDACTED]",
            },
            "request_data": payload,
            "response_headers": {},
            "response_body": body,
            "execution_duration": 0.042 + n / 1000,
            "response_status": status,
            "created_at": f"2026-11-26T11:{minute:02d}:07.000Z",
        },
    )


def _run(name: str, sha: str, event_type: str, minute: int, ok: str, reason: str) -> Any:
    p = "pipelinesascode.tekton.dev"
    return parse_pipelinerun(
        {
            "metadata": {
                "name": name,
                "namespace": "ci",
                "creationTimestamp": f"2026-11-26T11:{minute:02d}:09Z",
                "labels": {f"{p}/repository": "payments", f"{p}/state": "completed"},
                "annotations": {
                    f"{p}/sha": sha,
                    f"{p}/event-type": event_type,
                    f"{p}/original-prname": name.rsplit("-", 1)[0].removeprefix("payments-"),
                },
            },
            "status": {"conditions": [{"type": "Succeeded", "status": ok, "reason": reason}]},
        }
    )


def timeline() -> DeliveriesReport:
    events = [
        _event(41, "Push Hook", PUSH, "202", ACCEPTED, 58),
        _event(40, "Merge Request Hook", MR, "202", ACCEPTED, 51),
        _event(39, "Merge Request Hook", MERGED, "200",
               '{"status":200,"message":"skipping non supported event"}\n', 47),
        _event(38, "Push Hook", PUSH, "500", "upstream connect error", 40),
        _event(37, "Push Hook", PUSH, "internal error", "", 32),
    ]  # fmt: skip
    views = [view_of(e, HOOK) for e in events]
    join_runs(
        views,
        [
            _run("payments-on-push-7xk2p", PUSH["checkout_sha"], "push", 58, "True", "Succeeded"),
            _run("payments-on-mr-q9w3z", MR["object_attributes"]["last_commit"]["id"],
                 "Merge Request", 51, "False", "Failed"),
        ],
    )  # fmt: skip
    for view in views:
        view.why = why_nothing_ran(view)
    return DeliveriesReport("payments", [HOOK], views, bound=True)


async def fixed_timeline(*args: Any, **kw: Any) -> DeliveriesReport:
    return timeline()


async def open_deliveries(pilot: Pilot[None]) -> None:
    await pilot.press("d")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete(
        [w for w in pilot.app.workers if w.group == "deliveries"]
    )
    await pilot.pause()
    await pilot.press("down")  # the merge request: a failed PipelineRun
    await still(pilot)


def test_deliveries_screen(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pac_tui.ui.screens.deliveries.deliveries_report", fixed_timeline)
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    assert snap_compare(make_app(ctx), terminal_size=SIZE, run_before=open_deliveries)
