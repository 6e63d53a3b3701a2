"""Helpers for the PAC-on-Kubernetes tests: Repository and PipelineRun objects, Secret reading."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from pac_tui.config import KubernetesBinding, Repository
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
