"""PAC `Repository` resources: what each one points at, and how its last PipelineRun ended."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pac_tui.core.errors import ClusterRefused
from pac_tui.core.models import parse_time
from pac_tui.kube.cluster import Cluster, NotFound

PAC_GROUP = "pipelinesascode.tekton.dev"
PAC_VERSION = "v1alpha1"
PAC_PLURAL = "repositories"
TEKTON_GROUP = "tekton.dev"
TEKTON_VERSION = "v1"
REPOSITORY_LABEL = "pipelinesascode.tekton.dev/repository"
DEFAULT_TOKEN_KEY = "provider.token"  # noqa: S105 (a key name, not a secret)
DEFAULT_WEBHOOK_KEY = "webhook.secret"
# Where onboarding recorded the URL the project's PAC hook posts to (`pac_tui.onboard` writes it).
CONTROLLER_ANNOTATION = "pac-tui.dev/controller-url"
CRD_MISSING = "could not find the requested resource"  # the apiserver's 404 for an unknown type


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class PipelineRunStatus:
    name: str
    status: str  # Succeeded, Failed, Running, Cancelled, … (the Succeeded condition's reason)
    succeeded: bool | None  # the condition's status: True, False, or None while running
    finished_at: datetime | None
    started_at: datetime | None


@dataclass(frozen=True)
class PacRepository:
    """One `Repository` resource, read into the parts pac-tui needs."""

    namespace: str
    name: str
    url: str
    instance: str  # the GitLab base URL, e.g. https://gitlab.example.com
    project: str  # the project path, e.g. group/sub/project
    provider_type: str | None
    user: str | None
    secret: SecretRef | None
    webhook_secret: SecretRef | None
    resource_version: str
    last_run: PipelineRunStatus | None = None
    provider_url: str | None = None  # spec.git_provider.url: where PAC sends its API calls
    uid: str = ""  # what Events name it by (kubectl describe finds them by uid)
    token_auto_rotation: bool | None = None  # spec.settings.gitlab: PAC rotates the token itself
    controller_url: str | None = None  # where onboarding pointed the project's hook (annotation)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def token_secret(self) -> SecretRef:
        """Where PAC reads the provider token; pac-tui's default when the resource names none."""
        return self.secret or SecretRef(f"{self.name}-gitlab", DEFAULT_TOKEN_KEY)


def parse_repository(obj: dict[str, Any]) -> PacRepository:
    """Read a `Repository` object as the API returns it (a dict)."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = obj.get("spec") or {}
    provider = spec.get("git_provider") or {}
    gitlab = (spec.get("settings") or {}).get("gitlab") or {}
    rotation = gitlab.get("token_auto_rotation") if isinstance(gitlab, dict) else None
    url = str(spec.get("url") or "").strip()
    instance, project = split_project_url(url, provider.get("url"))
    return PacRepository(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        url=url,
        instance=instance,
        project=project,
        provider_type=provider.get("type"),
        user=provider.get("user"),
        secret=_ref(provider.get("secret"), DEFAULT_TOKEN_KEY),
        webhook_secret=_ref(provider.get("webhook_secret"), DEFAULT_WEBHOOK_KEY),
        resource_version=str(meta.get("resourceVersion") or ""),
        provider_url=str(provider["url"]).rstrip("/") if provider.get("url") else None,
        uid=str(meta.get("uid") or ""),
        token_auto_rotation=rotation if isinstance(rotation, bool) else None,
        controller_url=_text(annotations.get(CONTROLLER_ANNOTATION)),
    )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def split_project_url(url: str, provider_url: str | None = None) -> tuple[str, str]:
    """(instance, project path) of a project URL; `git_provider.url` marks a self-managed base.

    `https://host/gitlab/group/app` with provider URL `https://host/gitlab` is project
    `group/app` on `https://host/gitlab`; without it the whole path is the project.
    """
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    path = parts.path.strip("/")
    if provider_url:
        provider = provider_url.rstrip("/")
        prefix = urlsplit(provider).path.strip("/")
        if urlsplit(provider).netloc == parts.netloc:
            base = provider
            if prefix and (path == prefix or path.startswith(prefix + "/")):
                path = path[len(prefix) :].strip("/")
    path = path.removesuffix(".git")
    return base, path


def _ref(value: Any, default_key: str) -> SecretRef | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return SecretRef(str(value["name"]), str(value.get("key") or default_key))


def list_repositories(cluster: Cluster, namespace: str | None) -> list[PacRepository]:
    """The `Repository` resources in `namespace` (all namespaces when None), with last runs."""
    where = f"namespace {namespace}" if namespace else "all namespaces"
    try:
        if namespace:
            answer = cluster.call(
                f"list PAC Repositories in {where}",
                cluster.custom.list_namespaced_custom_object,
                PAC_GROUP,
                PAC_VERSION,
                namespace,
                PAC_PLURAL,
            )
        else:
            answer = cluster.call(
                f"list PAC Repositories in {where}",
                cluster.custom.list_cluster_custom_object,
                PAC_GROUP,
                PAC_VERSION,
                PAC_PLURAL,
            )
    except NotFound:
        raise not_installed(cluster) from None
    repos = sorted((parse_repository(o) for o in answer.get("items", [])), key=lambda r: r.key)
    runs = last_runs(cluster, namespace)
    return [_with_run(r, runs.get((r.namespace, r.name))) for r in repos]


def _on_repository(
    cluster: Cluster, verb: str, method: Callable[..., Any], namespace: str, name: str
) -> Any | None:
    """`method` (a CustomObjectsApi call) on one Repository; None when there is none of that
    name, `not_installed` when the CRD itself is missing."""
    try:
        return cluster.call(
            f"{verb} PAC Repository {namespace}/{name}",
            method,
            PAC_GROUP,
            PAC_VERSION,
            namespace,
            PAC_PLURAL,
            name,
        )
    except NotFound as exc:
        if CRD_MISSING in str(exc):
            raise not_installed(cluster) from None
        return None


def read_repository_object(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    """The `Repository` object as the API returns it, or None when there is none of that name."""
    return _on_repository(
        cluster, "read", cluster.custom.get_namespaced_custom_object, namespace, name
    )


def read_repository(cluster: Cluster, namespace: str, name: str) -> PacRepository:
    obj = read_repository_object(cluster, namespace, name)
    if obj is None:
        raise NotFound(
            f"there is no PAC Repository {namespace}/{name} (context {cluster.context}); list "
            f"what exists with: pac-tui repos --namespace {namespace}"
        )
    return parse_repository(obj)


def delete_repository(cluster: Cluster, namespace: str, name: str) -> bool:
    """Delete the `Repository` resource; False when there is none of that name."""
    deleted = _on_repository(
        cluster, "delete", cluster.custom.delete_namespaced_custom_object, namespace, name
    )
    return deleted is not None


def remove_annotations(
    cluster: Cluster, namespace: str, name: str, keys: Iterable[str], resource_version: str
) -> None:
    """Drop `keys` from the Repository's annotations (a merge patch, conditional on
    `resource_version`: a 409 `Conflict` when it changed since it was read)."""
    patch = {
        "metadata": {
            "resourceVersion": resource_version,
            "annotations": dict.fromkeys(keys),
        }
    }
    cluster.call(
        f"annotate PAC Repository {namespace}/{name}",
        cluster.custom.patch_namespaced_custom_object,
        PAC_GROUP,
        PAC_VERSION,
        namespace,
        PAC_PLURAL,
        name,
        patch,
    )


def not_installed(cluster: Cluster) -> ClusterRefused:
    return ClusterRefused(
        f"Pipelines-as-Code is not installed in context {cluster.context}: the "
        f"{PAC_PLURAL}.{PAC_GROUP} resource type does not exist. Install PAC "
        "(https://pipelinesascode.com/docs/install/) and try again"
    )


def last_runs(cluster: Cluster, namespace: str | None) -> dict[tuple[str, str], PipelineRunStatus]:
    """The newest PipelineRun of each Repository, by PAC's label; empty without Tekton."""
    kwargs = {"label_selector": REPOSITORY_LABEL}
    try:
        if namespace:
            answer = cluster.call(
                f"list PipelineRuns in namespace {namespace}",
                cluster.custom.list_namespaced_custom_object,
                TEKTON_GROUP,
                TEKTON_VERSION,
                namespace,
                "pipelineruns",
                **kwargs,
            )
        else:
            answer = cluster.call(
                "list PipelineRuns in all namespaces",
                cluster.custom.list_cluster_custom_object,
                TEKTON_GROUP,
                TEKTON_VERSION,
                "pipelineruns",
                **kwargs,
            )
    except (NotFound, ClusterRefused):
        return {}  # Tekton not installed, or not allowed to read runs: the column stays empty
    return newest_runs(answer.get("items", []))


def newest_runs(items: Iterable[dict[str, Any]]) -> dict[tuple[str, str], PipelineRunStatus]:
    newest: dict[tuple[str, str], tuple[str, PipelineRunStatus]] = {}
    for item in items:
        meta = item.get("metadata") or {}
        repo = (meta.get("labels") or {}).get(REPOSITORY_LABEL)
        if not repo:
            continue
        key = (str(meta.get("namespace") or ""), str(repo))
        created = str(meta.get("creationTimestamp") or "")
        if key not in newest or created >= newest[key][0]:
            newest[key] = (created, run_status(item))
    return {key: run for key, (_, run) in newest.items()}


def run_status(item: dict[str, Any]) -> PipelineRunStatus:
    status = item.get("status") or {}
    condition = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Succeeded"), {}
    )
    flag = condition.get("status")
    succeeded = True if flag == "True" else False if flag == "False" else None
    reason = condition.get("reason") or ("Pending" if not condition else "Running")
    return PipelineRunStatus(
        name=str((item.get("metadata") or {}).get("name") or ""),
        status=str(reason),
        succeeded=succeeded,
        finished_at=parse_time(status.get("completionTime")),
        started_at=parse_time(status.get("startTime")),
    )


def _with_run(repo: PacRepository, run: PipelineRunStatus | None) -> PacRepository:
    return repo if run is None else replace(repo, last_run=run)
