"""Reading what is there: the cluster side (`ClusterView`) and the GitLab side (`GitLabView`).

`ReadOnlyToken` gives a dry run the stored OAuth token without ever refreshing it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pac_tui.core.config import KubernetesBinding, Repository
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.gitlab.api import GitLabApi, GitLabApiError, Scheme
from pac_tui.gitlab.hooks import ProjectHook, list_hooks
from pac_tui.gitlab.projects import Project, get_project, role_name
from pac_tui.kube.cluster import Cluster, ClusterSource
from pac_tui.kube.repositories import (
    DEFAULT_TOKEN_KEY,
    DEFAULT_WEBHOOK_KEY,
    SecretRef,
    parse_repository,
    read_repository_object,
)
from pac_tui.kube.secrets import StoredSecret, b64decode_text, read_secret
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.stores.file_store import TokenStore


@dataclass
class ClusterView:
    """What the cluster holds for the binding (None everywhere when it could not be read)."""

    obj: dict[str, Any] | None = None  # the Repository resource as the API returns it
    secrets: dict[str, StoredSecret | None] = field(default_factory=dict)  # by Secret name
    error: PacTuiError | None = None

    def refs(self, name: str) -> tuple[SecretRef, SecretRef]:
        """(token, webhook) Secret references: the resource's own, else pac-tui's defaults."""
        pac = parse_repository(self.obj) if self.obj else None
        token = (pac.secret if pac else None) or SecretRef(f"{name}-gitlab", DEFAULT_TOKEN_KEY)
        webhook = (pac.webhook_secret if pac else None) or SecretRef(
            token.name, DEFAULT_WEBHOOK_KEY
        )
        return token, webhook

    def value(self, ref: SecretRef) -> str | None:
        stored = self.secrets.get(ref.name)
        if stored is None:
            return None
        return b64decode_text((stored.body.data or {}).get(ref.key))


def read_cluster(cluster: Cluster, binding: KubernetesBinding) -> ClusterView:
    """Blocking: the Repository resource and the Secrets it names (or would name)."""
    view = ClusterView(obj=read_repository_object(cluster, binding.namespace, binding.repository))
    for ref in view.refs(binding.repository):
        if ref.name not in view.secrets:
            view.secrets[ref.name] = read_secret(cluster, binding.namespace, ref.name, ref.key)
    return view


async def read_cluster_or_error(clusters: ClusterSource, binding: KubernetesBinding) -> ClusterView:
    """`read_cluster` off the event loop; a cluster that cannot be read is the view's error."""
    try:
        cluster = await asyncio.to_thread(clusters.get, binding.context)
        return await asyncio.to_thread(read_cluster, cluster, binding)
    except PacTuiError as exc:
        return ClusterView(error=exc)


class ReadOnlyToken:
    """The stored OAuth token, never refreshed: a dry run writes nothing, not even at GitLab."""

    scheme: Scheme = "bearer"

    def __init__(self, repo: Repository, store: TokenStore) -> None:
        self.repo = repo
        self.store = store

    async def token(self) -> str:
        return live_tokens(self.repo, self.store.get(self.repo.name)).access_token

    async def refreshed(self, stale: str) -> str:
        raise NeedsLogin(
            f"{self.repo.gitlab.url} refused the stored OAuth token; a dry run does not refresh "
            f"it (run pac-tui refresh {self.repo.name}, or {login_hint(self.repo)})"
        )


@dataclass
class GitLabView:
    project: Project | None = None
    hooks: list[ProjectHook] | None = None
    error: PacTuiError | None = None


async def read_gitlab(api: GitLabApi, repo: Repository) -> GitLabView:
    """The project and its hooks; what could not be read is None, with the error."""
    view = GitLabView()
    try:
        view.project = await get_project(api, repo.project)
        view.hooks = await list_hooks(api, repo.project)
    except GitLabApiError as exc:
        if exc.status == 403 and exc.error is None and view.project is not None:
            role = role_name(view.project.access_level)
            exc = GitLabApiError(
                f"managing the webhooks of {repo.project} needs the Maintainer role (yours: "
                f"{role}); ask a Maintainer to run the onboarding, or for the role",
                status=403,
                message=exc.message,
            )
        view.error = exc
    except PacTuiError as exc:
        view.error = exc
    return view
