"""The plan: what a dry run reports for each item, and the refusals seen before any write."""

from __future__ import annotations

from typing import Any

from pac_tui.core.config import KubernetesBinding, Repository, TokenMode
from pac_tui.gitlab.hooks import PAC_EVENTS, ProjectHook, find_hook
from pac_tui.gitlab.projects import MAINTAINER, Project, role_name
from pac_tui.kube.repositories import SecretRef
from pac_tui.onboard.read import ClusterView, GitLabView
from pac_tui.onboard.result import NOT_CHECKED, UNCHANGED, WOULD_CREATE, WOULD_UPDATE, Item
from pac_tui.onboard.vocabulary import EVENT_NAMES, hook_problems


def maintainer_needed(repo: Repository, project: Project) -> str | None:
    if (project.access_level or 0) < MAINTAINER:
        return (
            f"{repo.name}: project-token mode mints a project access token, which needs the "
            f"Maintainer role on {project.path_with_namespace} (yours: "
            f"{role_name(project.access_level)}); ask a Maintainer, or use --mode oauth"
        )
    return None


def planned_items(
    repo: Repository,
    binding: KubernetesBinding,
    view: ClusterView,
    lab: GitLabView,
    wanted: dict[str, Any],
    url: str,
    token_ref: SecretRef,
    webhook_ref: SecretRef,
    signing_token: str | None = None,
) -> tuple[Item, ...]:
    ns = binding.namespace
    key = f"{ns}/{binding.repository}"
    if view.error is not None:
        resource = Item("Repository", key, NOT_CHECKED, "cluster not reachable")
        secret = Item("Secret", f"{ns}/{token_ref.name}", NOT_CHECKED, "cluster not reachable")
    else:
        resource = Item(
            "Repository",
            key,
            WOULD_CREATE if view.obj is None else UNCHANGED if wanted == view.obj else WOULD_UPDATE,
        )
        secret = _planned_secret(binding, view, token_ref, webhook_ref)
    if lab.hooks is None:
        hook = Item("Hook", url, NOT_CHECKED, "GitLab not reachable")
    else:
        found = find_hook(lab.hooks, url)
        signing = "; signing token to set" if signing_token else ""
        if found is None:
            hook = Item("Hook", url, WOULD_CREATE, events_detail() + signing)
        elif (
            hook_problems(found)
            or view.value(webhook_ref) is None
            or signing_to_set(repo, found, signing_token)
        ):
            hook = Item("Hook", url, WOULD_UPDATE, f"hook #{found.id}{signing}")
        else:
            hook = Item("Hook", url, UNCHANGED, f"hook #{found.id}")
    return resource, secret, hook


def signing_to_set(repo: Repository, hook: ProjectHook, signing_token: str | None) -> bool:
    """Whether an existing hook needs `signing_token` sent: a new token, or a hook without one.
    Never on an instance that does not report signing tokens: it ignores the field."""
    if signing_token is None or hook.signing_token_present is None:
        return False
    return signing_token != repo.webhook_signing_token or not hook.signing_token_present


def signing_note(signing_token: str | None, signed: bool) -> str:
    """What the hook's item says about signing (nothing when no signing token was wanted)."""
    if signing_token is None:
        return ""
    if signed:
        return "; deliveries signed (signing token set)"
    return "; this GitLab does not sign webhooks: it ignored the signing token"


def _planned_secret(
    binding: KubernetesBinding, view: ClusterView, token_ref: SecretRef, webhook_ref: SecretRef
) -> Item:
    name = f"{binding.namespace}/{token_ref.name}"
    stored = view.secrets.get(token_ref.name)
    if stored is None:
        return Item("Secret", name, WOULD_CREATE, _token_detail(binding.mode))
    tokens = stored.tokens
    if view.value(webhook_ref) is None or tokens is None or tokens.mode != binding.mode:
        return Item("Secret", name, WOULD_UPDATE, _token_detail(binding.mode))
    return Item("Secret", name, UNCHANGED, "pac-tui sync keeps its token fresh")


def _token_detail(mode: TokenMode) -> str:
    if mode == TokenMode.OAUTH:
        return "provider token: the OAuth access token (refreshed by pac-tui)"
    return "provider token: a project access token minted now (scope api)"


def events_detail() -> str:
    events = ", ".join(EVENT_NAMES[e] for e in PAC_EVENTS)
    return f"{events} events; SSL verification on"
