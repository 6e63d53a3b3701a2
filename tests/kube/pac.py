"""Helpers for the PAC-on-Kubernetes tests: Repository and PipelineRun objects, Secret reading."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from pac_tui.core.config import GitLabApp, KubernetesBinding, Repository
from pac_tui.core.errors import NeedsLogin
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.gitlab.projects import current_user
from tests.kube.fake_apiserver import FakeApiServer

PAC_GROUP = "pipelinesascode.tekton.dev"


def add_repository(
    server: FakeApiServer,
    name: str,
    url: str,
    *,
    namespace: str = "ci",
    secret: str | None = "demo-gitlab",  # noqa: S107 (a Secret name)
    key: str | None = None,
    provider_url: str | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    provider: dict[str, Any] = {}
    if secret:
        provider["secret"] = {"name": secret, **({"key": key} if key else {})}
        provider["webhook_secret"] = {"name": secret}
    if provider_url:
        provider["url"] = provider_url
    if user:
        provider["user"] = user
    spec: dict[str, Any] = {"url": url}
    if provider:
        spec["git_provider"] = provider
    return server.put_object(
        {
            "apiVersion": f"{PAC_GROUP}/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def add_pipelinerun(
    server: FakeApiServer,
    name: str,
    repository: str,
    *,
    namespace: str = "ci",
    created: str,
    reason: str,
    status: str,
) -> None:
    server.put_object(
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": created,
                "labels": {"pipelinesascode.tekton.dev/repository": repository},
            },
            "status": {
                "startTime": created,
                "completionTime": created if status != "Unknown" else None,
                "conditions": [{"type": "Succeeded", "status": status, "reason": reason}],
            },
        }
    )


def secret(server: FakeApiServer, name: str = "demo-gitlab", namespace: str = "ci") -> dict | None:
    return server.get_object("", "secrets", namespace, name)


def secret_value(server: FakeApiServer, key: str, name: str = "demo-gitlab") -> str | None:
    obj = secret(server, name)
    if obj is None or key not in (obj.get("data") or {}):
        return None
    return base64.b64decode(obj["data"][key]).decode()


def bind(
    repo: Repository,
    mode: str,
    *,
    repository: str = "demo",
    namespace: str = "ci",
    context: str | None = None,
) -> Repository:
    binding = KubernetesBinding(
        namespace=namespace, repository=repository, mode=mode, context=context
    )
    return dataclasses.replace(repo, kubernetes=binding)


class StaticBearer:
    """A token source that sends one OAuth token as PAC in oauth mode would: Bearer, no refresh."""

    scheme = "bearer"

    def __init__(self, value: str) -> None:
        self.value = value

    async def token(self) -> str:
        return self.value

    async def refreshed(self, stale: str) -> str:
        raise NeedsLogin("this check never refreshes")


async def bearer_works(app: GitLabApp, token: str) -> bool:
    """True if GitLab accepts `token` as a Bearer token (GET /user)."""
    async with GitLabApi(app, StaticBearer(token)) as api:
        try:
            await current_user(api)
        except (GitLabApiError, NeedsLogin):  # refused, or refused as expired/revoked
            return False
    return True
