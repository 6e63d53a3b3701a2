"""What onboarding and the readiness check agree on about PAC and its GitLab hook: the annotation
that records the controller URL, the hook events PAC needs, and what makes a hook wrong."""

from __future__ import annotations

from pac_tui.core.config import Repository
from pac_tui.gitlab.hooks import PAC_EVENTS, ProjectHook
from pac_tui.kube.repositories import CONTROLLER_ANNOTATION as CONTROLLER_ANNOTATION

EVENT_NAMES = {
    "push_events": "push",
    "tag_push_events": "tag push",
    "merge_requests_events": "merge request",
    "note_events": "note",
}


def project_url(repo: Repository) -> str:
    return f"{repo.gitlab.url}/{repo.project}"


def hook_problems(hook: ProjectHook) -> list[str]:
    """What is wrong with a hook that points at the controller; empty when it is right."""
    missing = [EVENT_NAMES[e] for e in PAC_EVENTS if not getattr(hook, e)]
    problems = [f"no {', '.join(missing)} events"] if missing else []
    if not hook.enable_ssl_verification:
        problems.append("SSL verification off")
    return problems
