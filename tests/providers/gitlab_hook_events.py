"""The fake GitLab's record of hook deliveries: list, resend, test (GitLab ≥ 17.4's shapes).

GitLab's own rules, from its API docs (doc/api/project_webhooks.md) and entity
(`API::Entities::Hooks::WebHookLog`: id, url, trigger, request_headers, request_data (an object),
response_headers, response_body, execution_duration (seconds), response_status (a string: "200",
"internal error"), created_at): the Maintainer role (403 ``403 Forbidden`` below it), 404 for an
unknown hook or event, the last 7 days only, newest first, offset pagination (20 a page), the
``status`` filter (a code, or ``successful``, ``client_failure``, ``server_failure``).

Deliveries are real: `deliver` (and the resend and test endpoints) POST the payload to the hook's
URL with GitLab's headers and the hook's secret token, and record what the receiver answered, or
``internal error`` when it could not be reached. A test that succeeds re-enables a disabled hook,
as GitLab does. GitLab shows ``X-Gitlab-Token`` as ``[REDACTED]``; `HookEventLog.redact_token`
False makes this fake return the recorded value, to prove pac-tui redacts it on its own too.

The state lives beside a `FakeGitLab` (`log_of`), and is forgotten when the fake is reset.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

if TYPE_CHECKING:
    from tests.providers.gitlab_api import Caller, FakeGitLab, FakeProject

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gitlab-webhooks"
TRIGGERS = {  # the hook flag → GitLab's log trigger and X-Gitlab-Event header
    "push_events": ("push_hooks", "Push Hook"),
    "tag_push_events": ("tag_push_hooks", "Tag Push Hook"),
    "merge_requests_events": ("merge_request_hooks", "Merge Request Hook"),
    "note_events": ("note_hooks", "Note Hook"),
    "issues_events": ("issue_hooks", "Issue Hook"),
    "confidential_issues_events": ("confidential_issue_hooks", "Confidential Issue Hook"),
    "job_events": ("job_hooks", "Job Hook"),
    "pipeline_events": ("pipeline_hooks", "Pipeline Hook"),
    "wiki_page_events": ("wiki_page_hooks", "Wiki Page Hook"),
    "releases_events": ("release_hooks", "Release Hook"),
    "emoji_events": ("emoji_hooks", "Emoji Hook"),
    "resource_access_token_events": ("resource_access_token_hooks", "Resource Access Token Hook"),
}
CATEGORIES = {"successful": (200, 299), "client_failure": (400, 499), "server_failure": (500, 599)}
HOOK_TIMEOUT = 10.0  # GitLab's default webhook timeout
RATE_LIMIT = 5  # resends, and test events, a minute per hook and user (GitLab ≥ 17.1)
TOO_MANY = "This endpoint has been requested too many times. Try again later."
GITLAB_VERSION = "17.6.0"


def sample_payload(trigger: str) -> dict[str, Any]:
    """What GitLab's test endpoint sends for `trigger`: a real payload of that kind."""
    name = {
        "push_events": "go-playground/push-event.json",
        "tag_push_events": "go-playground/tag-event.json",
        "merge_requests_events": "go-playground/merge-request-event.json",
        "note_events": "go-playground/comment-merge-request-event.json",
    }.get(trigger, "go-playground/issue-event.json")
    return json.loads((FIXTURES / name).read_text())


@dataclass
class HookEventLog:
    """Every recorded delivery, by (project id, hook id); `now` is the fake's clock."""

    projects: dict[int, Any]  # the FakeGitLab's projects when this log began
    events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    redact_token: bool = True
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _next_id: int = 1
    _calls: dict[tuple[str, int, int], list[datetime]] = field(default_factory=dict)

    def throttled(self, endpoint: str, hook_id: int, user_id: int) -> web.Response | None:
        """GitLab's rate limit of the resend and test endpoints: 429 past `RATE_LIMIT` a minute."""
        now = self.now()
        recent = [
            t
            for t in self._calls.get((endpoint, hook_id, user_id), [])
            if now - t < timedelta(minutes=1)
        ]
        if len(recent) >= RATE_LIMIT:
            return web.json_response(
                {"message": {"error": TOO_MANY}}, status=429, headers={"Retry-After": "60"}
            )
        self._calls[(endpoint, hook_id, user_id)] = [*recent, now]
        return None

    def record(
        self,
        project: FakeProject,
        hook_id: int,
        *,
        kind: str,
        payload: dict[str, Any],
        status: str,
        body: str = "",
        duration: float = 0.05,
        created_at: datetime | None = None,
        token: str | None = None,
        event_uuid: str | None = None,
    ) -> dict[str, Any]:
        """A delivery GitLab made (or tried), as its log keeps it."""
        hook = project.hooks[hook_id]
        trigger = next((t for t, h in TRIGGERS.values() if h == kind), "push_hooks")
        headers = gitlab_headers(kind, token if token is not None else hook.get("token"))
        if event_uuid is not None:
            headers["X-Gitlab-Event-UUID"] = event_uuid
        entry = {
            "id": self._next_id,
            "url": hook["url"],
            "trigger": trigger,
            "request_headers": headers,
            "request_data": payload,
            "response_headers": {"Content-Type": "application/json"} if body else {},
            "response_body": body,
            "execution_duration": duration,
            "response_status": status,
            "created_at": _iso(created_at or self.now()),
        }
        self._next_id += 1
        self.events.setdefault((project.id, hook_id), []).append(entry)
        return entry

    async def deliver(
        self, project: FakeProject, hook_id: int, kind: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """POST `payload` to the hook's URL as GitLab does, and record the answer."""
        hook = project.hooks[hook_id]
        headers = gitlab_headers(kind, hook.get("token"))
        started = datetime.now(UTC)
        try:
            async with httpx.AsyncClient(timeout=HOOK_TIMEOUT, trust_env=False) as client:
                answer = await client.post(hook["url"], json=payload, headers=headers)
            status, body = str(answer.status_code), answer.text
        except httpx.HTTPError:
            status, body = "internal error", ""
        duration = (datetime.now(UTC) - started).total_seconds()
        return self.record(
            project,
            hook_id,
            kind=kind,
            payload=payload,
            status=status,
            body=body,
            duration=duration,
            event_uuid=headers["X-Gitlab-Event-UUID"],
        )

    def entity(self, entry: dict[str, Any]) -> dict[str, Any]:
        headers = dict(entry["request_headers"])
        if self.redact_token and "X-Gitlab-Token" in headers:
            headers["X-Gitlab-Token"] = "[REDACTED]"
        return {**entry, "request_headers": headers}


def gitlab_headers(kind: str, token: str | None) -> dict[str, str]:
    """The headers GitLab's WebHookService sends (app/services/web_hook_service.rb)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"GitLab/{GITLAB_VERSION}",
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Gitlab-Event": kind,
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }
    if token:
        headers["X-Gitlab-Token"] = token
    return headers


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_LOGS: weakref.WeakKeyDictionary[FakeGitLab, HookEventLog] = weakref.WeakKeyDictionary()


def log_of(gitlab: FakeGitLab) -> HookEventLog:
    """The delivery log of `gitlab`; a new one after `gitlab.reset()`."""
    log = _LOGS.get(gitlab)
    if log is None or log.projects is not gitlab.projects:
        log = _LOGS[gitlab] = HookEventLog(gitlab.projects)
    return log


# -- the endpoints (routes in tests/providers/gitlab_api.py) ------------------------------------

Handler = Callable[[web.Request, "Caller"], Awaitable[web.Response]]


def _hook(gitlab: FakeGitLab, request: web.Request, caller: Caller) -> Any:
    project = gitlab._hook_project(request, caller)
    if isinstance(project, web.Response):
        return project, None
    hook_id = request.match_info["hook_id"]
    if not hook_id.isdigit() or int(hook_id) not in project.hooks:
        return web.json_response({"message": "404 Not found"}, status=404), None
    return project, int(hook_id)


def list_events(gitlab: FakeGitLab) -> Handler:
    async def handler(request: web.Request, caller: Caller) -> web.Response:
        project, hook_id = _hook(gitlab, request, caller)
        if hook_id is None:
            return project
        log = log_of(gitlab)
        wanted = request.query.get("status")
        if wanted is not None and not wanted.isdigit() and wanted not in CATEGORIES:
            return web.json_response({"error": "status does not have a valid value"}, status=400)
        since = log.now() - timedelta(days=7)
        entries = [
            log.entity(e)
            for e in reversed(log.events.get((project.id, hook_id), []))
            if datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) >= since
            and _status_matches(e["response_status"], wanted)
        ]
        entries.sort(key=lambda e: e["created_at"], reverse=True)
        return gitlab._paginated(request, entries)

    return handler


def _status_matches(status: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted.isdigit():
        return status == wanted
    low, high = CATEGORIES[wanted]
    return status.isdigit() and low <= int(status) <= high


def resend_event(gitlab: FakeGitLab) -> Handler:
    async def handler(request: web.Request, caller: Caller) -> web.Response:
        project, hook_id = _hook(gitlab, request, caller)
        if hook_id is None:
            return project
        log = log_of(gitlab)
        if limited := log.throttled("resend", hook_id, caller.user_id):
            return limited
        event_id = request.match_info["hook_event_id"]
        entry = next(
            (e for e in log.events.get((project.id, hook_id), []) if str(e["id"]) == event_id),
            None,
        )
        if entry is None:
            return web.json_response({"message": "404 Not found"}, status=404)
        kind = entry["request_headers"].get("X-Gitlab-Event", "Push Hook")
        again = await log.deliver(project, hook_id, kind, entry["request_data"])
        status = again["response_status"]
        return web.json_response(
            {"response_status": int(status) if status.isdigit() else status}, status=201
        )

    return handler


def send_test(gitlab: FakeGitLab) -> Handler:
    async def handler(request: web.Request, caller: Caller) -> web.Response:
        project, hook_id = _hook(gitlab, request, caller)
        if hook_id is None:
            return project
        trigger = request.match_info["trigger"]
        if trigger not in TRIGGERS:
            return web.json_response({"error": "trigger does not have a valid value"}, status=400)
        if limited := log_of(gitlab).throttled("test", hook_id, caller.user_id):
            return limited
        entry = await log_of(gitlab).deliver(
            project, hook_id, TRIGGERS[trigger][1], sample_payload(trigger)
        )
        status = entry["response_status"]
        if not (status.isdigit() and 200 <= int(status) < 300):
            return web.json_response({"message": f"Hook execution failed: {status}"}, status=422)
        project.hooks[hook_id].update(alert_status="executable", disabled_until=None)
        return web.json_response({"message": "201 Created"}, status=201)

    return handler
