"""A repository's deliveries timeline: what GitLab sent PAC, what PAC answered, what ran.

Written once for both faces (`pac-tui deliveries` and the dashboard's Deliveries screen):

- GitLab's record of the deliveries of the project's hooks that point at the PAC controller
  (`gitlab.hook_events`), newest first, with the hooks' ``alert_status``;
- for a repository bound to a cluster, the PipelineRuns PAC created for its Repository
  (`kube.pipelineruns`), each joined to the delivery it came from: same commit (PAC's ``sha``),
  the same kind of event (PAC's ``event-type``), created after it and before the next such one;
- the local journal's entry when the delivery also passed pac-tui's receiver (same
  X-Gitlab-Event-UUID or Idempotency-Key);
- in words, why nothing ran when nothing did (`why_nothing_ran`).

Request headers leave this module redacted (`webhooks.models.redact_headers`): GitLab masks
``X-Gitlab-Token`` itself, but nothing here relies on it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from pac_tui.actions.delivery_sources import (
    ClusterFacts,
    JournalMatch,
    cluster_facts,
    journal_matches,
)
from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.gitlab.api import GitLabApi
from pac_tui.gitlab.hook_events import (
    HookEvent,
    HookState,
    hook_states,
    list_hook_events,
    newest_first,
)
from pac_tui.gitlab.hooks import PAC_EVENTS
from pac_tui.gitlab.projects import TEKTON_DIR, tekton_files
from pac_tui.oauth.token_source import repository_api
from pac_tui.stores.file_store import TokenStore
from pac_tui.webhooks.models import redact_headers
from pac_tui.webhooks.summary import summarize
from pac_tui.webhooks.summary.fields import clean

if TYPE_CHECKING:
    from pac_tui.kube.cluster import ClusterSource
    from pac_tui.kube.pipelineruns import PacPipelineRun
    from pac_tui.webhooks.journal import JournalReader

ANSWER_LIMIT = 200  # characters of the receiver's answer kept
SKEW = timedelta(minutes=2)  # GitLab's clock against the cluster's
JOURNAL_WINDOW = 2000  # the journal's newest deliveries of the repository searched for a match
PAC_ACCEPTED = "accepted"  # PAC's adapter answers 202 {"status":202,"message":"accepted"}
_MR_TYPES = frozenset({"merge request", "merge_request", "mergerequest", "pull_request"})


@dataclass
class DeliveryView:
    """One delivery, joined. `pipelineruns` is None when the repository is not bound."""

    event: HookEvent
    hook: HookState | None
    summary: str
    pac_event: str | None
    shas: frozenset[str]
    branch: str | None
    pipelineruns: list[PacPipelineRun] | None = None
    journal: JournalMatch | None = None
    why: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return redact_headers(self.event.request_headers)

    @property
    def answer(self) -> str:
        return clean(self.event.response_body, ANSWER_LIMIT)

    @property
    def duration_ms(self) -> int | None:
        seconds = self.event.execution_duration
        return round(seconds * 1000) if seconds is not None else None

    def to_json(self) -> dict[str, Any]:
        e = self.event
        data: dict[str, Any] = {
            "id": e.id,
            "hook_id": e.hook_id,
            "at": e.created_at.isoformat() if e.created_at else None,
            "hook_url": e.url,
            "event": e.trigger,
            "kind": e.header("X-Gitlab-Event"),
            "status": e.response_status,
            "answer": self.answer,
            "duration_ms": self.duration_ms,
            "uuid": e.header("X-Gitlab-Event-UUID"),
            "idempotency_key": e.header("Idempotency-Key"),
            "summary": self.summary,
            "pac_event": self.pac_event,
            "why": self.why,
            "journal": self.journal.to_json() if self.journal else None,
            "request_headers": self.headers,
        }
        if self.pipelineruns is not None:
            data["pipelineruns"] = [run.to_json() for run in self.pipelineruns]
        return data


@dataclass
class DeliveriesReport:
    repo: str
    hooks: list[HookState]
    deliveries: list[DeliveryView]
    bound: bool
    notes: list[str] = field(default_factory=list)  # what could not be read, in words


# ---- reading the payload -----------------------------------------------------------------------


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def delivery_shas(payload: dict[str, Any]) -> frozenset[str]:
    """The commits a PipelineRun for this payload may carry as PAC's ``sha``."""
    commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
    candidates = [
        payload.get("checkout_sha"),
        payload.get("after"),
        *(_get(c, "id") for c in commits[:1] + commits[-1:]),
        _get(payload, "object_attributes", "last_commit", "id"),
        _get(payload, "merge_request", "last_commit", "id"),
        _get(payload, "commit", "id"),
    ]
    return frozenset(c for c in candidates if isinstance(c, str) and len(c) >= 7)


def delivery_branch(payload: dict[str, Any]) -> str | None:
    """The branch (or tag) PAC reads ``.tekton/`` from for this payload."""
    ref = payload.get("ref")
    if isinstance(ref, str) and ref:
        return ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    for path in (("object_attributes", "source_branch"), ("merge_request", "source_branch")):
        value = _get(payload, *path)
        if isinstance(value, str) and value:
            return value
    return None


def event_family(event_type: str) -> str:
    """PAC's event type, from our summary (``pull_request``) or a PipelineRun's annotation
    (``Merge Request``), as one family: push, merge_request, or the ops-comment type."""
    lowered = event_type.strip().lower().replace("_", " ")
    if lowered in ("push", "tag push"):
        return "push"
    if lowered.replace(" ", "_") in _MR_TYPES or lowered.startswith("pull request"):
        return "merge_request"
    return event_type.strip()


# ---- the join ----------------------------------------------------------------------------------


def join_runs(views: list[DeliveryView], runs: Iterable[PacPipelineRun]) -> None:
    """Give each PipelineRun to the newest delivery it can have come from (see module doc)."""
    for view in views:
        view.pipelineruns = []
    for run in runs:
        family = event_family(run.event_type)
        candidates = [
            v
            for v in views
            if run.sha in v.shas
            and v.pac_event is not None
            and event_family(v.pac_event) == family
            and _before(v.event.created_at, run.created_at)
        ]
        if candidates:
            newest = max(candidates, key=lambda v: (v.event.created_at is not None, v.event.id))
            assert newest.pipelineruns is not None
            newest.pipelineruns.append(run)


def _before(delivered: datetime | None, created: datetime | None) -> bool:
    return delivered is None or created is None or delivered <= created + SKEW


def pac_message(body: str) -> str | None:
    """The ``message`` of PAC's JSON answer (``{"status":200,"message":"…"}``), if it is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    message = data.get("message") if isinstance(data, dict) else None
    return clean(message, ANSWER_LIMIT) if isinstance(message, str) and message else None


def why_nothing_ran(
    view: DeliveryView, *, secret_problem: str | None = None, tekton: bool | None = None
) -> str | None:
    """Why no PipelineRun followed `view`, in words; None when one did, or when nothing can be
    said (an unbound repository's accepted delivery). `tekton` is whether ``.tekton/`` holds
    PipelineRuns on the delivery's branch (None: not looked at)."""
    if view.pipelineruns:
        return None
    event, hook = view.event, view.hook
    code = event.status_code
    disabled = ""
    if hook is not None and not hook.enabled:
        until = f" until {hook.disabled_until:%Y-%m-%d %H:%M}" if hook.disabled_until else ""
        disabled = (
            f"; GitLab has since disabled the hook ({hook.alert_status}{until}): fix the "
            "cause, then send a test event, which re-enables it when it succeeds"
        )
    if code is None:
        return (
            f"the delivery failed: {event.response_status or 'no answer'} (GitLab got no HTTP "
            "answer: connection refused, TLS or DNS failure, or no answer within GitLab's "
            f"webhook timeout){disabled}"
        )
    answer = pac_message(event.response_body) or view.answer or "no body"
    if code >= 500:
        return f"the delivery failed: the receiver answered HTTP {code} ({answer}){disabled}"
    if code >= 400:
        return f"the receiver refused it: HTTP {code} ({answer}){disabled}"
    message = pac_message(event.response_body)
    if view.pac_event is None:
        said = f'PAC answered "{message}"; ' if message and message != PAC_ACCEPTED else ""
        return f"{said}an event PAC does not handle: {view.summary}"
    if message and message != PAC_ACCEPTED:
        return f'PAC did not act on it: it answered "{message}"'
    if view.pipelineruns is None:
        return None  # not bound: whether something ran is not known here
    if secret_problem:
        return secret_problem
    if tekton is False:
        return f"no {TEKTON_DIR}/ directory with PipelineRuns on {view.branch or 'its branch'}"
    return (
        "PAC accepted it but created no PipelineRun: no PipelineRun in .tekton/ matches this "
        "event (on-event, on-target-branch), or the webhook token does not match the "
        "Repository's webhook secret; see the PAC controller's log"
    )


# ---- gathering ---------------------------------------------------------------------------------


def view_of(event: HookEvent, hook: HookState | None) -> DeliveryView:
    """One delivery, read: its summary, what PAC makes of it, its commits and branch."""
    summary = summarize(event.header("X-Gitlab-Event") or "", event.request_data)
    return DeliveryView(
        event=event,
        hook=hook,
        summary=summary.line,
        pac_event=summary.pac_event,
        shas=delivery_shas(event.request_data),
        branch=delivery_branch(event.request_data),
    )


def pac_hooks(hooks: list[HookState], controller_url: str | None) -> list[HookState]:
    """The hooks that post to the controller; without a known URL (or no hook posting there),
    every hook that sends PAC's events."""
    if controller_url:
        wanted = controller_url.rstrip("/")
        chosen = [h for h in hooks if h.hook.url.rstrip("/") == wanted]
        if chosen:
            return chosen
    return [h for h in hooks if any(getattr(h.hook, e) for e in PAC_EVENTS)]


async def _tekton_present(api: GitLabApi, project: str, branch: str) -> bool | None:
    try:
        return bool(await tekton_files(api, project, branch))
    except PacTuiError:
        return None


async def deliveries_report(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource | None,
    *,
    limit: int | None = 50,
    failed: bool = False,
    relay_url: str | None = None,
    journal: JournalReader | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DeliveriesReport:
    """The timeline of `repo` (see the module docstring): newest first, at most `limit`, only
    the failed ones (no HTTP answer, or not 2xx) with `failed`."""
    notes: list[str] = []
    facts: ClusterFacts | None = None
    bound = repo.kubernetes is not None and clusters is not None
    cluster_side = (
        asyncio.create_task(asyncio.to_thread(cluster_facts, repo, clusters))
        if bound and clusters is not None
        else None
    )
    async with repository_api(repo, store, clock, transport=transport) as api:
        try:
            hooks = await hook_states(api, repo.project)
        except BaseException:
            if cluster_side is not None:  # a thread cannot be cancelled: let it end first
                await asyncio.gather(cluster_side, return_exceptions=True)
            raise
        if cluster_side is not None:
            try:
                facts = await cluster_side
            except PacTuiError as exc:
                notes.append(f"PipelineRuns not read: {exc}")
        controller = (facts.controller_url if facts else None) or relay_url
        chosen = pac_hooks(hooks, controller)
        if not chosen:
            notes.append(f"{repo.project} has no webhook that sends PAC's events")
        fetch = None if failed else limit
        lists = await asyncio.gather(
            *(list_hook_events(api, repo.project, h.hook.id, limit=fetch) for h in chosen)
        )
        by_id = {h.hook.id: h for h in chosen}
        events = [e for batch in lists for e in batch]
        views = [view_of(e, by_id.get(e.hook_id)) for e in newest_first(events)]
        if facts is not None:
            join_runs(views, facts.runs)
        if failed:
            views = [v for v in views if not v.event.succeeded]
        views = views[:limit] if limit is not None else views
        branches = {
            v.branch
            for v in views
            if facts is not None and not v.pipelineruns and v.branch and v.event.succeeded
        }
        present = dict(
            zip(
                branches,
                await asyncio.gather(*(_tekton_present(api, repo.project, b) for b in branches)),
                strict=True,
            )
        )
    if journal is not None:
        try:
            recent = await asyncio.to_thread(journal.recent, JOURNAL_WINDOW, repo=repo.name)
            seen = journal_matches(recent)
        except PacTuiError as exc:
            notes.append(f"journal not read: {exc}")
            seen = {}
        for v in views:
            keys = (v.event.header("X-Gitlab-Event-UUID"), v.event.header("Idempotency-Key"))
            match = next((seen[k] for k in keys if k and k in seen), None)
            if match is not None:
                v.journal = JournalMatch(match.id, str(match.verdict), match.relay_status)
    secret_problem = facts.secret_problem if facts else None
    for v in views:
        tekton = present.get(v.branch) if v.branch else None
        v.why = why_nothing_ran(v, secret_problem=secret_problem, tekton=tekton)
    return DeliveriesReport(repo.name, hooks, views, facts is not None, notes)
