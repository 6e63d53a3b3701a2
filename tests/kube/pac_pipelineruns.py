"""PipelineRuns as PAC creates them, for the fake apiserver.

Labels and annotations as openshift-pipelines/pipelines-as-code sets them:
pkg/kubeinteraction/labels.go (`AddLabelsAndAnnotations`: labels through
`formatting.CleanValueKubernetes`, the raw values as annotations), pkg/resolve/resolve.go
(``original-prname``), pkg/reconciler/reconciler.go (``state`` when it ends).
"""

from __future__ import annotations

from typing import Any

from pac_tui.kube.pipelineruns import clean_label_value
from tests.kube.fake_apiserver import FakeApiServer

P = "pipelinesascode.tekton.dev"


def add_pac_pipelinerun(
    server: FakeApiServer,
    name: str,
    repository: str,
    *,
    sha: str,
    event_type: str,
    created: str,
    original: str = "on-push",
    reason: str = "Succeeded",
    status: str = "True",
    namespace: str = "ci",
    project: str = "group/app",
    branch: str = "main",
) -> dict[str, Any]:
    org, _, repo = project.rpartition("/")
    state = {"True": "completed", "False": "failed"}.get(status, "started")
    raw = {
        f"{P}/url-org": org,
        f"{P}/url-repository": repo,
        f"{P}/sha": sha,
        f"{P}/repository": repository,
        f"{P}/state": state,
        f"{P}/event-type": event_type,
        f"{P}/original-prname": original,
    }
    labels = {key: clean_label_value(value) for key, value in raw.items()}
    labels |= {"app.kubernetes.io/managed-by": P, "app.kubernetes.io/version": "v0.33.0"}
    annotations = raw | {
        f"{P}/sha-title": "a commit",
        f"{P}/sha-url": f"https://gitlab.example.com/{project}/-/commit/{sha}",
        f"{P}/repo-url": f"https://gitlab.example.com/{project}",
        f"{P}/sender": "root",
        f"{P}/branch": branch,
        f"{P}/source-branch": branch,
        f"{P}/git-provider": "gitlab",
    }
    finished = status in ("True", "False")
    return server.put_object(
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": created,
                "labels": labels,
                "annotations": annotations,
            },
            "spec": {"pipelineRef": {"name": original}},
            "status": {
                "startTime": created,
                **({"completionTime": created} if finished else {}),
                "conditions": [{"type": "Succeeded", "status": status, "reason": reason}],
            },
        }
    )
