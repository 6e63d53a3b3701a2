"""deploy/: the manifests agree with each other and with what the refresher does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import connect
from pac_tui.kube.lease import DEFAULT_LEASE, LeaderElector
from pac_tui.kube.probes import DEFAULT_PORT
from pac_tui.kube.refresher import Refresher
from tests.kube.conftest import PAC_TUI_USER
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.refresher_setup import bound_secret, clock, config_for, fake
from tests.providers.gitlab_api import FakeGitLab

__all__ = ["clock", "fake"]  # fixtures

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


def test_the_deployment_probes_and_scrapes_the_refresher() -> None:
    deployment = documents()["Deployment/pac-tui-refresher"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = container["args"]
    port = int(args[args.index("--metrics-port") + 1])
    assert port == DEFAULT_PORT
    [named] = container["ports"]
    assert named["containerPort"] == port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": named["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": named["name"]}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    flush = float(args[args.index("--flush-seconds") + 1])
    assert flush < pod["spec"]["terminationGracePeriodSeconds"]  # unwritten tokens written first


def allows(rule: dict[str, Any], verb: str, group: str, resource: str, name: str | None) -> bool:
    return (
        group in rule["apiGroups"]
        and resource in rule["resources"]
        and verb in rule["verbs"]
        and (not rule.get("resourceNames") or name in rule["resourceNames"])
    )


async def test_the_role_allows_exactly_what_the_refresher_calls(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    """The refresher runs as its ServiceAccount under the Role's rules (the fake apiserver refuses
    anything else), through a refresh, a failure said twice and a release; the calls it made are
    then compared with the rules both ways."""
    rules = documents()["Role/pac-tui-refresher"]["rules"]
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    apiserver.grant(PAC_TUI_USER, rules, namespace="ci")
    start = len(apiserver.requests)
    cluster = connect("other", str(kubeconfig))
    candidate = LeaderElector(
        cluster, "ci", "pod-1", lease_duration=3, renew_deadline=2, retry_period=1
    )
    refresher = Refresher(cluster, "ci", config_for(s), clock, elector=candidate)
    refresher.report.events.repeat_every = 0  # a repeated Event is patched at once

    assert candidate.step() and candidate.step()  # create the Lease, then renew it
    expiry = s.tokens().expires_at
    assert expiry is not None
    clock.set(expiry - timedelta(minutes=5))
    assert [o.action for o in await refresher.run_once()] == ["refreshed"]
    clock.advance(7200)  # the new grant is due too, and GitLab is down: said twice
    fake.outage = 503
    try:
        for _ in range(2):
            assert [o.action for o in await refresher.run_once()] == ["failed"]
            clock.advance(60)
    finally:
        fake.outage = None
    await asyncio.to_thread(candidate.release)

    calls = {apiserver.call_of(r) for r in apiserver.requests[start:] if r.user == PAC_TUI_USER}
    calls.discard(None)
    for verb, group, resource, _, name in calls:  # type: ignore[misc]
        assert any(allows(rule, verb, group, resource, name) for rule in rules), (verb, resource)
    for rule in rules:
        for verb in rule["verbs"]:
            assert any(
                allows({**rule, "verbs": [verb]}, v, g, r, n)
                for v, g, r, _, n in calls  # type: ignore[misc]
            ), f"the Role grants {verb} on {rule['resources']}, which the refresher never uses"
    assert not [r for r in rules if "*" in r["verbs"] or "delete" in r["verbs"]]
    events = apiserver.objects("", "events", "ci")
    assert {e["reason"] for e in events if e["reportingComponent"] == "pac-tui-refresher"} == {
        "TokenRefreshed",
        "RenewFailed",
    }
    assert max(e.get("count", 1) for e in events) == 2
    lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", DEFAULT_LEASE)
    assert lease is not None and not lease["spec"].get("holderIdentity")


def test_the_cluster_role_grants_the_role_s_namespaced_rules_everywhere() -> None:
    docs = documents()
    role = docs["Role/pac-tui-refresher"]["rules"]
    cluster_role = docs["ClusterRole/pac-tui-refresher-secrets"]["rules"]
    assert cluster_role == [r for r in role if r["apiGroups"] != ["coordination.k8s.io"]]
