"""The fake apiserver's dry runs, Events, RBAC rules and silence, through the official client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client import ApiException

from tests.kube.conftest import PAC_TUI_USER
from tests.kube.fake_apiserver import ADMIN_USER, FakeApiServer


@pytest.fixture
def core(kubeconfig: Path) -> client.CoreV1Api:
    api = config.new_client_from_config(config_file=str(kubeconfig), context="kind-pac")
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def sa_core(kubeconfig: Path) -> client.CoreV1Api:
    """pac-tui's ServiceAccount (context ``other``)."""
    api = config.new_client_from_config(config_file=str(kubeconfig), context="other")
    yield client.CoreV1Api(api)
    api.close()


def a_secret(apiserver: FakeApiServer) -> dict:
    return apiserver.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo", "namespace": "ci"},
            "stringData": {"provider.token": "one"},
        }
    )


def test_a_dry_run_update_is_checked_and_answered_but_not_stored(
    apiserver: FakeApiServer, core: client.CoreV1Api
) -> None:
    stored = a_secret(apiserver)
    body = core.read_namespaced_secret("demo", "ci")
    body.metadata.labels = {"changed": "yes"}
    answer = core.replace_namespaced_secret("demo", "ci", body, dry_run="All")
    assert answer.metadata.labels == {"changed": "yes"}
    assert answer.metadata.resource_version == stored["metadata"]["resourceVersion"]
    assert apiserver.get_object("", "secrets", "ci", "demo")["metadata"].get("labels") is None
    assert apiserver.writes() == [] and apiserver.requests[-1].dry_run

    body.metadata.resource_version = "1"  # stale: a dry run is still a conflict
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_secret("demo", "ci", body, dry_run="All")
    assert conflict.value.status == 409
    with pytest.raises(ApiException) as bad:
        core.replace_namespaced_secret("demo", "ci", body, dry_run="Some")
    assert bad.value.status == 400


def test_a_dry_run_create_and_patch_store_nothing(
    apiserver: FakeApiServer, core: client.CoreV1Api
) -> None:
    a_secret(apiserver)
    created = core.create_namespaced_secret(
        "ci", {"metadata": {"name": "other"}, "stringData": {"k": "v"}}, dry_run="All"
    )
    assert created.metadata.name == "other"
    core.patch_namespaced_secret("demo", "ci", {"metadata": {"labels": {"a": "b"}}}, dry_run="All")
    assert apiserver.get_object("", "secrets", "ci", "other") is None
    assert apiserver.get_object("", "secrets", "ci", "demo")["metadata"].get("labels") is None


def test_rbac_refuses_a_dry_run_as_it_refuses_the_write(
    apiserver: FakeApiServer, sa_core: client.CoreV1Api
) -> None:
    a_secret(apiserver)
    apiserver.deny(PAC_TUI_USER, "update", "secrets", "ci")
    body = sa_core.read_namespaced_secret("demo", "ci")
    with pytest.raises(ApiException) as refused:
        sa_core.replace_namespaced_secret("demo", "ci", body, dry_run="All")
    assert refused.value.status == 403


def test_granted_rules_are_an_allow_list(
    apiserver: FakeApiServer, core: client.CoreV1Api, sa_core: client.CoreV1Api
) -> None:
    a_secret(apiserver)
    rules = [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"], "verbs": ["*"]},
    ]
    apiserver.grant(PAC_TUI_USER, rules, namespace="ci")
    assert sa_core.read_namespaced_secret("demo", "ci").metadata.name == "demo"
    for call in (
        lambda: sa_core.list_namespaced_secret("ci"),  # verb not granted
        lambda: sa_core.read_namespaced_secret("demo", "default"),  # another namespace
        lambda: sa_core.read_namespaced_config_map("y", "ci"),  # another name
    ):
        with pytest.raises(ApiException) as refused:
            call()
        assert refused.value.status == 403
    assert core.list_namespaced_secret("ci").items  # other users are not limited
    seen = [apiserver.call_of(r) for r in apiserver.requests if r.user == PAC_TUI_USER]
    assert ("get", "", "secrets", "ci", "demo") in seen
    assert ("list", "", "secrets", "ci", None) in seen


def test_events_are_stored_and_found_by_their_object(
    apiserver: FakeApiServer, core: client.CoreV1Api
) -> None:
    def event(name: str, uid: str, namespace: str = "ci") -> client.CoreV1Event:
        return client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name),
            involved_object=client.V1ObjectReference(
                kind="Repository", name="demo", namespace=namespace, uid=uid
            ),
            reason="TokenRefreshed",
            message="refreshed",
            type="Normal",
        )

    core.create_namespaced_event("ci", event("demo.1", "u-1"))
    core.create_namespaced_event("ci", event("demo.2", "u-2"))
    found = core.list_namespaced_event(
        "ci", field_selector="involvedObject.name=demo,involvedObject.uid=u-1"
    )
    assert [e.metadata.name for e in found.items] == ["demo.1"]
    core.patch_namespaced_event("demo.1", "ci", {"count": 2})
    assert apiserver.get_object("", "events", "ci", "demo.1")["count"] == 2
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_event("ci", event("demo.3", "u-3", namespace="default"))
    assert invalid.value.status == 422 and "involvedObject.namespace" in invalid.value.body


def test_injected_failures_can_spare_dry_runs(
    apiserver: FakeApiServer, core: client.CoreV1Api
) -> None:
    a_secret(apiserver)
    apiserver.fail_next("PUT", r"/secrets/demo$", 503, dry_run=False, times=5)
    body = core.read_namespaced_secret("demo", "ci")
    core.replace_namespaced_secret("demo", "ci", body, dry_run="All")
    with pytest.raises(ApiException) as failed:
        core.replace_namespaced_secret("demo", "ci", body)
    assert failed.value.status == 503
    apiserver.clear_failures()
    core.replace_namespaced_secret("demo", "ci", body)


def test_a_silent_apiserver_accepts_and_never_answers(
    apiserver: FakeApiServer, core: client.CoreV1Api
) -> None:
    a_secret(apiserver)
    apiserver.silence()
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.read_namespaced_secret("demo", "ci", _request_timeout=(1, 1))
    assert 0.9 < time.monotonic() - started < 30  # ended by the read timeout (generous for CI)
    apiserver.silence(False)
    assert core.read_namespaced_secret("demo", "ci").metadata.name == "demo"
    assert ADMIN_USER in {r.user for r in apiserver.requests}
