"""deploy/: the manifests agree with each other and with what the refresher does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pac_tui.kube.lease import DEFAULT_LEASE

DEPLOY = Path(__file__).parents[2] / "deploy"


def documents() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def test_the_manifests_fit_together() -> None:
    docs = documents()
    deployment = docs["Deployment/pac-tui-refresher"]
    pod = deployment["spec"]["template"]["spec"]
    assert (
        pod["serviceAccountName"] == "pac-tui-refresher"
        and "ServiceAccount/pac-tui-refresher" in docs
    )
    container = pod["containers"][0]
    assert container["args"][0] == "refresher"
    assert {
        "name": "POD_NAME",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
    } in container["env"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["replicas"] >= 2  # the Lease decides which one acts

    binding = docs["RoleBinding/pac-tui-refresher"]
    assert binding["roleRef"]["name"] == "pac-tui-refresher"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pac-tui-refresher"}]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [
        "deployment.yaml",
        "rbac.yaml",
        "serviceaccount.yaml",
    ]


def test_the_role_allows_exactly_what_the_refresher_calls() -> None:
    rules = documents()["Role/pac-tui-refresher"]["rules"]
    secrets = [r for r in rules if r["resources"] == ["secrets"]]
    leases = [r for r in rules if r["resources"] == ["leases"]]
    # list (managed Secrets by label), get (re-read on conflict), update (write tokens),
    # patch (the last-error annotation); never create or delete.
    assert [sorted(r["verbs"]) for r in secrets] == [["get", "list", "patch", "update"]]
    by_name = [r for r in leases if r.get("resourceNames")]
    assert by_name == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [DEFAULT_LEASE],
            "verbs": ["get", "update"],
        }
    ]
    assert [r["verbs"] for r in leases if not r.get("resourceNames")] == [["create"]]
    assert not [r for r in rules if "*" in r["verbs"] or "delete" in r["verbs"]]
