"""The PipelineRuns PAC created for one Repository, read by the labels PAC puts on them.

PAC labels and annotates every PipelineRun it creates (openshift-pipelines/pipelines-as-code:
pkg/kubeinteraction/labels.go `AddLabelsAndAnnotations`, keys in
pkg/apis/pipelinesascode/keys/keys.go): ``pipelinesascode.tekton.dev/repository`` (the Repository's
name), ``/sha`` (the commit), ``/event-type`` (``push``, ``Merge Request``, ``Tag Push``,
``pull_request_labeled``, ``retest-comment``…), ``/state`` (``started``, ``queued``,
``completed``, ``failed``), and ``/original-prname`` (the PipelineRun's name in ``.tekton/``,
set when PAC resolves it). Labels go through PAC's `formatting.CleanValueKubernetes` (at most 62
characters, ``/`` and ``:`` → ``-``, spaces → ``_``); the annotations keep the values as they are,
so this module reads annotations first. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pac_tui.core.models import parse_time
from pac_tui.kube.cluster import Cluster, NotFound
from pac_tui.kube.repositories import (
    REPOSITORY_LABEL,
    TEKTON_GROUP,
    TEKTON_VERSION,
    PipelineRunStatus,
    run_status,
)

SHA_KEY = "pipelinesascode.tekton.dev/sha"
EVENT_TYPE_KEY = "pipelinesascode.tekton.dev/event-type"
STATE_KEY = "pipelinesascode.tekton.dev/state"
ORIGINAL_NAME_KEY = "pipelinesascode.tekton.dev/original-prname"
PULL_REQUEST_KEY = "pipelinesascode.tekton.dev/pull-request"


def clean_label_value(value: str) -> str:
    """PAC's `formatting.CleanValueKubernetes` (pkg/formatting/k8labels.go), for a selector."""
    if len(value) >= 63:
        value = value[-62:]
    value = value.strip(" -_[]")
    for old, new in ((":", "-"), ("/", "-"), (" ", "_"), ("[", "__"), ("]", "__")):
        value = value.replace(old, new)
    return value.strip()


@dataclass(frozen=True)
class PacPipelineRun:
    """One PipelineRun PAC created, with what it was for and how it ended."""

    namespace: str
    name: str
    repository: str
    sha: str
    event_type: str  # PAC's, as in the annotation: "push", "Merge Request", "retest-comment"…
    state: str  # PAC's state label: started, queued, completed, failed
    original_name: str  # the PipelineRun's name in .tekton/
    created_at: datetime | None
    outcome: PipelineRunStatus  # the Succeeded condition

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "pipelinerun": self.original_name,
            "event_type": self.event_type,
            "sha": self.sha,
            "state": self.state,
            "status": self.outcome.status,
            "succeeded": self.outcome.succeeded,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def parse_pipelinerun(item: dict[str, Any]) -> PacPipelineRun:
    meta = item.get("metadata") or {}
    labels = meta.get("labels") or {}
    notes = meta.get("annotations") or {}

    def read(key: str) -> str:
        return str(notes.get(key) or labels.get(key) or "")

    return PacPipelineRun(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        repository=read(REPOSITORY_LABEL),
        sha=read(SHA_KEY),
        event_type=read(EVENT_TYPE_KEY),
        state=str(labels.get(STATE_KEY) or notes.get(STATE_KEY) or ""),
        original_name=read(ORIGINAL_NAME_KEY),
        created_at=parse_time(meta.get("creationTimestamp")),
        outcome=run_status(item),
    )


def list_pipelineruns(cluster: Cluster, namespace: str, repository: str) -> list[PacPipelineRun]:
    """The PipelineRuns PAC created for Repository `namespace/repository`, newest first.

    Blocking. Tekton not installed reads as none; a refusal to list them (RBAC) is raised.
    """
    selector = f"{REPOSITORY_LABEL}={clean_label_value(repository)}"
    try:
        answer = cluster.call(
            f"list the PipelineRuns of Repository {namespace}/{repository}",
            cluster.custom.list_namespaced_custom_object,
            TEKTON_GROUP,
            TEKTON_VERSION,
            namespace,
            "pipelineruns",
            label_selector=selector,
        )
    except NotFound:
        return []
    runs = [parse_pipelinerun(item) for item in answer.get("items", [])]
    return sorted(
        runs, key=lambda r: (r.created_at is not None, r.created_at, r.name), reverse=True
    )
