"""The project webhook that sends PAC its events.

GitLab never returns a hook's secret token, so pac-tui cannot tell whether a hook carries the right
one: `update_hook` always sends it again. The same holds for a signing token (`signing_token`, a
`whsec_…` Standard Webhooks secret that makes GitLab sign each delivery): GitLab only says whether
the hook has one (`signing_token_present`). An instance without signed webhooks (older, or with the
`webhook_signing_token` feature off) silently ignores the field and does not report it: the hook
GitLab answers with then says so (`signing_token_present` None or False).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pac_tui.gitlab.api import GitLabApi, GitLabApiError, ProjectRef, project_id

# The events PAC handles (Push Hook, Tag Push Hook, Merge Request Hook, Note Hook), as the names
# of the hook's flags in GitLab's API.
PAC_EVENTS = ("push_events", "tag_push_events", "merge_requests_events", "note_events")


@dataclass(frozen=True)
class ProjectHook:
    id: int
    url: str
    push_events: bool
    tag_push_events: bool
    merge_requests_events: bool
    note_events: bool
    enable_ssl_verification: bool
    signing_token_present: bool | None = None  # None: the instance does not report it

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProjectHook:
        return cls(
            id=int(data["id"]),
            url=str(data["url"]),
            push_events=bool(data.get("push_events")),
            tag_push_events=bool(data.get("tag_push_events")),
            merge_requests_events=bool(data.get("merge_requests_events")),
            note_events=bool(data.get("note_events")),
            enable_ssl_verification=bool(data.get("enable_ssl_verification")),
            signing_token_present=(
                bool(data["signing_token_present"]) if "signing_token_present" in data else None
            ),
        )

    def sends(self, events: Iterable[str] = PAC_EVENTS) -> bool:
        """True if the hook is switched on for every one of `events`."""
        return all(getattr(self, event) for event in events)


async def list_hooks(api: GitLabApi, project: ProjectRef) -> list[ProjectHook]:
    """The project's hooks (needs the Maintainer role)."""
    items = await api.get_all(
        f"/projects/{project_id(project)}/hooks", action="list the webhooks", project=project
    )
    return [ProjectHook.from_api(item) for item in items]


def find_hook(hooks: Iterable[ProjectHook], url: str) -> ProjectHook | None:
    """The hook that posts to `url` (exactly, ignoring a trailing slash), if any."""
    wanted = url.rstrip("/")
    return next((hook for hook in hooks if hook.url.rstrip("/") == wanted), None)


def _settings(
    url: str,
    token: str,
    events: Iterable[str],
    enable_ssl_verification: bool,
    signing_token: str | None = None,
) -> dict[str, Any]:
    chosen = set(events)
    unknown = chosen - set(PAC_EVENTS)
    if unknown:
        raise ValueError(f"not a PAC event: {', '.join(sorted(unknown))}")
    flags = {event: event in chosen for event in PAC_EVENTS}
    body = {"url": url, "token": token, "enable_ssl_verification": enable_ssl_verification}
    if signing_token is not None:
        body["signing_token"] = signing_token
    return {**body, **flags}


async def create_hook(
    api: GitLabApi,
    project: ProjectRef,
    url: str,
    token: str,
    *,
    events: Iterable[str] = PAC_EVENTS,
    enable_ssl_verification: bool = True,
    signing_token: str | None = None,
) -> ProjectHook:
    """Add a hook that posts `events` to `url` with `token` as ``X-Gitlab-Token`` (and signs its
    deliveries with `signing_token` where the instance can)."""
    body = _settings(url, token, events, enable_ssl_verification, signing_token)
    path = f"/projects/{project_id(project)}/hooks"
    try:
        data = await api.post(path, action="add a webhook", project=project, json=body)
    except GitLabApiError as exc:
        raise _explain_url(exc, url) from None
    return ProjectHook.from_api(data)


async def update_hook(
    api: GitLabApi,
    project: ProjectRef,
    hook_id: int,
    url: str,
    token: str,
    *,
    events: Iterable[str] = PAC_EVENTS,
    enable_ssl_verification: bool = True,
    signing_token: str | None = None,
) -> ProjectHook:
    """Point hook `hook_id` at `url` with `token` and exactly `events` among the PAC events (and
    `signing_token`, when given)."""
    body = _settings(url, token, events, enable_ssl_verification, signing_token)
    path = f"/projects/{project_id(project)}/hooks/{hook_id}"
    try:
        data = await api.put(path, action=f"update webhook {hook_id}", project=project, json=body)
    except GitLabApiError as exc:
        raise _explain_url(exc, url) from None
    return ProjectHook.from_api(data)


def _explain_url(exc: GitLabApiError, url: str) -> GitLabApiError:
    """GitLab answers 422 ``Invalid url given`` for a malformed URL and, by default, for one on
    the local network, which an administrator has to allow."""
    if exc.status != 422 or exc.message != "Invalid url given":
        return exc
    return GitLabApiError(
        f"GitLab refused the webhook URL {url}: it is not a valid URL, or it points to the local "
        "network, which a GitLab administrator must allow (Admin > Settings > Network > Outbound "
        "requests); use a public URL such as a smee.io channel otherwise",
        status=exc.status,
        error=exc.error,
        message=exc.message,
    )


async def delete_hook(api: GitLabApi, project: ProjectRef, hook_id: int) -> bool:
    """Remove hook `hook_id`; False when GitLab has no such hook (nothing left to remove).

    Below Maintainer GitLab answers 403, which is raised with the role it takes.
    """
    path = f"/projects/{project_id(project)}/hooks/{hook_id}"
    try:
        await api.delete(path, action=f"delete webhook {hook_id}", project=project)
    except GitLabApiError as exc:
        if exc.status == 404 and exc.message != "404 Project Not Found":
            return False
        if exc.status == 403 and exc.error is None:
            raise GitLabApiError(
                f"GitLab refused to delete webhook {hook_id} of {project}: removing a webhook "
                "needs the Maintainer role; ask a Maintainer, or for the role",
                status=exc.status,
                message=exc.message,
            ) from None
        raise
    return True
