"""deploy/gateway.yaml: the gateway's Deployment, Service and NetworkPolicy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).parents[2] / "deploy" / "gateway.yaml"
REFRESHER = Path(__file__).parents[2] / "deploy" / "deployment.yaml"


def documents() -> dict[str, dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]
    return {doc["kind"]: doc for doc in docs}


def test_only_a_deployment_a_service_and_a_network_policy() -> None:
    docs = [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]
    assert sorted(doc["kind"] for doc in docs) == ["Deployment", "NetworkPolicy", "Service"]
    # No RBAC, no ServiceAccount, no Secret of its own.
    assert not {"Role", "RoleBinding", "ClusterRole", "ServiceAccount", "Secret"} & {
        doc["kind"] for doc in docs
    }


def test_the_deployment_runs_the_gateway_without_credentials() -> None:
    deployment = documents()["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert "volumes" not in pod  # in particular no Secret volume
    (container,) = pod["containers"]
    refresher = yaml.safe_load(REFRESHER.read_text())["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == refresher["image"]
    command = container.get("command", []) + container.get("args", [])
    assert command == ["pac-tui", "gateway", "--upstream", "https://gitlab.com", "--port", "8080"]
    assert "envFrom" not in container
    assert all("valueFrom" not in env for env in container.get("env", []))
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    # The drain (25 s by default) and the preStop pause fit in the grace period.
    assert pod["terminationGracePeriodSeconds"] >= 25 + 5


def test_the_service_maps_80_to_the_gateway_port() -> None:
    docs = documents()
    service = docs["Service"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]


def test_only_pipelines_as_code_may_connect() -> None:
    docs = documents()
    policy = docs["NetworkPolicy"]["spec"]
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "pipelines-as-code"}
                    }
                }
            ],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
    ]
