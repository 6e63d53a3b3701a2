"""What GitLab remembers of a project hook's deliveries, and asking it to deliver again.

GitLab keeps each hook's deliveries of the last 7 days with what the receiver answered
(``GET /projects/:id/hooks/:hook_id/events``, GitLab ≥ 17.3), resends one
(``POST …/events/:hook_event_id/resend``, ≥ 17.4) and sends a test event
(``POST /projects/:id/hooks/:hook_id/test/:trigger``); all three need the Maintainer role. A hook
that keeps failing is disabled by GitLab: `HookState` carries its ``alert_status`` and
``disabled_until``.

`HookEvent.request_headers` is what GitLab recorded; GitLab masks ``X-Gitlab-Token`` itself, but
callers that show or print headers still redact them (`pac_tui.actions.deliveries`), so this
layer keeps them out of `repr`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pac_tui.core.models import parse_time
from pac_tui.gitlab.api import GitLabApi, GitLabApiError, ProjectRef, project_id
from pac_tui.gitlab.hooks import ProjectHook

# GitLab's categories for the `status` filter of the events list.
STATUS_CATEGORIES = ("successful", "client_failure", "server_failure")
# The triggers GitLab's test endpoint accepts (the hook's event flags).
TEST_TRIGGERS = (
    "push_events",
    "tag_push_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "merge_requests_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "releases_events",
    "emoji_events",
    "resource_access_token_events",
)
EXECUTABLE = "executable"  # alert_status of a hook GitLab delivers with


@dataclass(frozen=True)
class HookEvent:
    """One delivery as GitLab recorded it. `response_status` is GitLab's string: ``"200"``, or
    ``"internal error"`` when the request never got an HTTP answer (refused, TLS, timeout)."""

    id: int
    hook_id: int
    url: str
    trigger: str  # push_hooks, merge_request_hooks, note_hooks, tag_push_hooks, …
    response_status: str
    response_body: str
    execution_duration: float | None  # seconds
    created_at: datetime | None
    request_headers: dict[str, str] = field(repr=False)
    request_data: dict[str, Any] = field(repr=False)
    response_headers: dict[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_api(cls, hook_id: int, data: dict[str, Any]) -> HookEvent:
        duration = data.get("execution_duration")
        return cls(
            id=int(data["id"]),
            hook_id=hook_id,
            url=str(data.get("url") or ""),
            trigger=str(data.get("trigger") or ""),
            response_status=str(data.get("response_status") or ""),
            response_body=str(data.get("response_body") or ""),
            execution_duration=float(duration) if isinstance(duration, int | float) else None,
            created_at=parse_time(data.get("created_at")),
            request_headers=_headers(data.get("request_headers")),
            request_data=_payload(data.get("request_data")),
            response_headers=_headers(data.get("response_headers")),
        )

    def header(self, name: str) -> str | None:
        """A request header, by name in any case."""
        wanted = name.lower()
        return next((v for k, v in self.request_headers.items() if k.lower() == wanted), None)

    @property
    def status_code(self) -> int | None:
        """The receiver's HTTP status; None when there was none (``internal error``)."""
        return int(self.response_status) if self.response_status.isdigit() else None

    @property
    def succeeded(self) -> bool:
        code = self.status_code
        return code is not None and 200 <= code < 300


@dataclass(frozen=True)
class HookState:
    """A hook and whether GitLab still delivers with it."""

    hook: ProjectHook
    alert_status: str  # executable | temporarily_disabled | disabled
    disabled_until: datetime | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> HookState:
        return cls(
            hook=ProjectHook.from_api(data),
            alert_status=str(data.get("alert_status") or EXECUTABLE),
            disabled_until=parse_time(data.get("disabled_until")),
        )

    @property
    def enabled(self) -> bool:
        return self.alert_status == EXECUTABLE

    def disabled_text(self) -> str | None:
        """How GitLab disabled the hook, in words; None while it delivers."""
        if self.enabled:
            return None
        how = "for now" if self.alert_status == "temporarily_disabled" else "for good"
        until = f" until {self.disabled_until:%Y-%m-%d %H:%M} UTC" if self.disabled_until else ""
        return f"disabled {how} by GitLab after repeated failures ({self.alert_status}{until})"


def reenable_fix(repo_name: str) -> str:
    """What to do about a hook GitLab disabled (`pac-tui check` and the dashboard say it)."""
    return (
        f"see why with: pac-tui deliveries {repo_name} --failed; once fixed, send a test event "
        "(GitLab: Settings > Webhooks > Test > Push events), which re-enables the hook"
    )


def _headers(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _payload(value: Any) -> dict[str, Any]:
    """GitLab returns the payload as an object; older versions gave it as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _path(project: ProjectRef, hook_id: int) -> str:
    return f"/projects/{project_id(project)}/hooks/{hook_id}"


def _explain(exc: GitLabApiError, project: ProjectRef, hook_id: int, action: str) -> Exception:
    """403 and a missing hook, in the words that say what to do."""
    if exc.status == 403 and exc.error != "insufficient_scope":
        return GitLabApiError(
            f"cannot {action} of {project}: it needs the Maintainer role on the project (GitLab "
            "answered 403 Forbidden); ask a Maintainer, or for the Maintainer role",
            status=exc.status,
            error=exc.error,
            message=exc.message,
        )
    if exc.status == 404 and exc.message not in (None, "404 Project Not Found"):
        return GitLabApiError(
            f"cannot {action} of {project}: GitLab knows no webhook {hook_id} there, or no such "
            f"delivery ({exc.message}); list the hooks with pac-tui check",
            status=exc.status,
            error=exc.error,
            message=exc.message,
        )
    return exc


async def hook_states(api: GitLabApi, project: ProjectRef) -> list[HookState]:
    """The project's hooks with GitLab's ``alert_status`` (needs the Maintainer role)."""
    try:
        items = await api.get_all(
            f"/projects/{project_id(project)}/hooks", action="list the webhooks", project=project
        )
    except GitLabApiError as exc:
        raise _explain(exc, project, 0, "list the webhooks") from None
    return [HookState.from_api(item) for item in items]


async def list_hook_events(
    api: GitLabApi,
    project: ProjectRef,
    hook_id: int,
    *,
    status: str | int | None = None,
    limit: int | None = None,
) -> list[HookEvent]:
    """The hook's deliveries of the last 7 days as GitLab lists them (newest first), page after
    page until `limit` (all when None). `status` is a code (``500``) or one of
    `STATUS_CATEGORIES`."""
    if isinstance(status, str) and not status.isdigit() and status not in STATUS_CATEGORIES:
        raise ValueError(f"not a status filter: {status!r} (a code, or {STATUS_CATEGORIES})")
    params = {"status": str(status)} if status is not None else {}
    action = f"list the deliveries of webhook {hook_id}"
    events: list[HookEvent] = []
    if limit is not None and limit <= 0:
        return events
    pages = api.paginate(
        f"{_path(project, hook_id)}/events", action=action, project=project, params=params
    )
    try:
        async for item in pages:
            events.append(HookEvent.from_api(hook_id, item))
            if limit is not None and len(events) >= limit:
                break
    except GitLabApiError as exc:
        raise _explain(exc, project, hook_id, f"list the deliveries of webhook {hook_id}") from None
    finally:
        await pages.aclose()
    return events


async def resend_hook_event(
    api: GitLabApi, project: ProjectRef, hook_id: int, event_id: int
) -> str:
    """Ask GitLab to deliver event `event_id` again; the receiver's status, as GitLab gives it."""
    action = f"resend delivery {event_id} of webhook {hook_id}"
    try:
        data = await api.post(
            f"{_path(project, hook_id)}/events/{event_id}/resend", action=action, project=project
        )
    except GitLabApiError as exc:
        raise _explain(exc, project, hook_id, action) from None
    status = data.get("response_status") if isinstance(data, dict) else None
    return str(status) if status is not None else ""


async def send_test_event(api: GitLabApi, project: ProjectRef, hook_id: int, trigger: str) -> None:
    """Have GitLab send a test event of `trigger` (e.g. ``push_events``) through the hook.

    A test that succeeds re-enables a hook GitLab disabled; one the receiver refuses is a 422
    with GitLab's message, raised as `GitLabApiError`.
    """
    if trigger not in TEST_TRIGGERS:
        raise ValueError(f"not a test trigger: {trigger!r} (one of {', '.join(TEST_TRIGGERS)})")
    action = f"send a test {trigger} event through webhook {hook_id}"
    try:
        await api.post(f"{_path(project, hook_id)}/test/{trigger}", action=action, project=project)
    except GitLabApiError as exc:
        raise _explain(exc, project, hook_id, action) from None


def newest_first(events: Iterable[HookEvent]) -> list[HookEvent]:
    """Deliveries of several hooks merged, newest first (ties: the higher id first)."""
    return sorted(
        events, key=lambda e: (e.created_at is not None, e.created_at, e.id), reverse=True
    )
