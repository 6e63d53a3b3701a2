"""The fake apiserver, through the official client: it answers as a real apiserver would."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client import ApiClient, ApiException

from tests.kube.conftest import PAC_TUI_USER
from tests.kube.fake_apiserver import (
    ADMIN_USER,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    FakeApiServer,
    WriteEvent,
)

PAC = ("pipelinesascode.tekton.dev", "v1alpha1")
MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)

Connect = Callable[..., ApiClient]


@pytest.fixture
def connect(kubeconfig: Path) -> Iterator[Connect]:
    """Open clients exactly as pac-tui does (kubeconfig file, context), closed after the test."""
    opened: list[ApiClient] = []

    def open_client(context: str = "kind-pac", **settings: Any) -> ApiClient:
        configuration = client.Configuration()
        for name, value in settings.items():
            setattr(configuration, name, value)
        api = config.new_client_from_config(
            config_file=str(kubeconfig), context=context, client_configuration=configuration
        )
        opened.append(api)
        return api

    yield open_client
    for api in opened:
        api.close()


@pytest.fixture
def core(connect: Connect) -> client.CoreV1Api:
    return client.CoreV1Api(connect())


@pytest.fixture
def custom(connect: Connect) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(connect())


def status_of(error: ApiException) -> dict[str, Any]:
    body = json.loads(error.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == error.status
    return body


def secret(name: str, labels: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, **fields}


def repository(name: str, url: str = "https://gitlab.example.com/group/app") -> dict[str, Any]:
    return {
        "apiVersion": "pipelinesascode.tekton.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name},
        "spec": {
            "url": url,
            "git_provider": {
                "type": "gitlab",
                "url": "https://gitlab.example.com",
                "secret": {"name": f"{name}-token", "key": "provider.token"},
            },
        },
    }


# -- Secrets


def test_secret_string_data_becomes_base64_data(
    core: client.CoreV1Api, apiserver: FakeApiServer
) -> None:
    created = core.create_namespaced_secret(
        "ci", secret("app-token", stringData={"provider.token": "glpat-x", "webhook.secret": "s"})
    )
    assert created.data == {"provider.token": "Z2xwYXQteA==", "webhook.secret": "cw=="}
    assert created.string_data is None
    assert created.type == "Opaque"
    assert created.metadata.namespace == "ci" and created.metadata.uid
    assert int(created.metadata.resource_version) > 0

    read = core.read_namespaced_secret("app-token", "ci")
    assert read.data == created.data
    assert read.metadata.resource_version == created.metadata.resource_version
    [stored] = apiserver.objects("", "secrets", "ci")
    assert "stringData" not in stored

    listed = core.list_namespaced_secret("ci")
    assert [item.metadata.name for item in listed.items] == ["app-token"]
    assert listed.kind == "SecretList"
    assert listed.metadata.resource_version == apiserver.resource_version
    assert core.list_namespaced_secret("default").items == []


def test_create_of_an_existing_name_is_409_already_exists(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("ci", secret("app-token"))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("ci", secret("app-token"))
    assert caught.value.status == 409
    body = status_of(caught.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'secrets "app-token" already exists'
    assert body["details"] == {"name": "app-token", "kind": "secrets"}


def test_missing_secret_and_missing_namespace_are_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_secret("nope", "ci")
    assert caught.value.status == 404
    assert status_of(caught.value)["message"] == 'secrets "nope" not found'

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("ghost", secret("app-token"))
    assert caught.value.status == 404
    assert status_of(caught.value)["message"] == 'namespaces "ghost" not found'


def test_invalid_secrets_are_refused(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("ci", {"metadata": {}, "stringData": {"a": "b"}})
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'Secret "" is invalid: metadata.name: Required value: name or generateName is required'
    )
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("ci", secret("Bad_Name"))
    assert caught.value.status == 422
    assert status_of(caught.value)["details"]["causes"][0]["field"] == "metadata.name"
    # The apiserver's JSON decoder rejects bad base64 before validation: 400, not 422.
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("ci", secret("x", data={"k": "not base64!"}))
    assert caught.value.status == 400
    assert "illegal base64 data at input byte 3" in status_of(caught.value)["message"]


def test_replace_with_a_stale_resource_version_is_409_conflict(
    core: client.CoreV1Api, apiserver: FakeApiServer
) -> None:
    first = core.create_namespaced_secret("ci", secret("app-token", stringData={"k": "1"}))
    second = core.replace_namespaced_secret(
        "app-token", "ci", secret("app-token", stringData={"k": "2"}) | {"metadata": first.metadata}
    )
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)

    first.string_data = {"k": "3"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_secret("app-token", "ci", first)
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"] == f'Operation cannot be fulfilled on secrets "app-token": {MODIFIED}'
    assert apiserver.get_object("", "secrets", "ci", "app-token")["data"] == {"k": "Mg=="}

    # Without a resourceVersion a Secret replace is unconditional, as on a real cluster.
    third = core.replace_namespaced_secret("app-token", "ci", secret("app-token", data={}))
    assert third.data is None
    assert third.metadata.uid == first.metadata.uid


def test_patches_merge_and_carry_preconditions(
    core: client.CoreV1Api, apiserver: FakeApiServer
) -> None:
    seen: list[WriteEvent] = []
    apiserver.before_write(seen.append)
    created = core.create_namespaced_secret(
        "ci", secret("app-token", {"team": "a"}, stringData={"provider.token": "t1", "keep": "k"})
    )
    patched = core.patch_namespaced_secret(
        "app-token",
        "ci",
        {"stringData": {"provider.token": "t2"}, "metadata": {"labels": {"team": None, "x": "y"}}},
    )
    assert patched.data == {"provider.token": base64.b64encode(b"t2").decode(), "keep": "aw=="}
    assert patched.metadata.labels == {"x": "y"}
    # The client sends a dict body for a core type as strategic merge patch.
    assert seen[-1].content_type == STRATEGIC_MERGE_PATCH

    # A patch that carries a resourceVersion is a precondition.
    stale = {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {}}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_secret("app-token", "ci", stale)
    assert status_of(caught.value)["reason"] == "Conflict"

    # Writing what is already there stores nothing: the resourceVersion stays.
    again = core.patch_namespaced_secret("app-token", "ci", {"stringData": {"keep": "k"}})
    assert again.metadata.resource_version == patched.metadata.resource_version


def test_json_patch(core: client.CoreV1Api, apiserver: FakeApiServer) -> None:
    seen: list[WriteEvent] = []
    apiserver.before_write(seen.append)
    core.create_namespaced_secret("ci", secret("app-token", data={"a": "YQ==", "b": "Yg=="}))
    patched = core.patch_namespaced_secret(
        "app-token",
        "ci",
        [
            {"op": "test", "path": "/data/a", "value": "YQ=="},
            {"op": "replace", "path": "/data/a", "value": "QQ=="},
            {"op": "remove", "path": "/data/b"},
            {"op": "add", "path": "/metadata/annotations", "value": {"pac-tui/rotated": "now"}},
        ],
    )
    assert seen[-1].content_type == JSON_PATCH
    assert patched.data == {"a": "QQ=="}
    assert patched.metadata.annotations == {"pac-tui/rotated": "now"}

    before = apiserver.resource_version
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_secret(
            "app-token", "ci", [{"op": "test", "path": "/data/a", "value": "YQ=="}]
        )
    assert caught.value.status == 422
    assert status_of(caught.value)["reason"] == "Invalid"
    assert apiserver.resource_version == before


def test_delete_answers_a_success_status_and_honours_preconditions(
    core: client.CoreV1Api,
) -> None:
    created = core.create_namespaced_secret("ci", secret("app-token"))
    wrong = client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1"))
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_secret("app-token", "ci", body=wrong)
    assert status_of(caught.value)["reason"] == "Conflict"
    deleted = core.delete_namespaced_secret("app-token", "ci")  # a dict with this client
    assert deleted["kind"] == "Status" and deleted["status"] == "Success"
    assert deleted["details"]["uid"] == created.metadata.uid
    assert core.list_namespaced_secret("ci").items == []


# -- Selectors


def test_label_and_field_selectors(core: client.CoreV1Api) -> None:
    for namespace, name, labels in (
        ("ci", "a", {"app": "pac", "tier": "web"}),
        ("ci", "b", {"app": "pac"}),
        ("ci", "c", {"app": "other", "tier": "db"}),
        ("default", "d", {"app": "pac", "tier": "web"}),
    ):
        core.create_namespaced_secret(namespace, secret(name, labels))

    def names(selector: str, namespace: str | None = "ci", fields: str = "") -> list[str]:
        if namespace is None:
            found = core.list_secret_for_all_namespaces(
                label_selector=selector, field_selector=fields
            )
        else:
            found = core.list_namespaced_secret(
                namespace, label_selector=selector, field_selector=fields
            )
        return [item.metadata.name for item in found.items]

    assert names("app=pac") == ["a", "b"]
    assert names("app=pac,tier!=web") == ["b"]
    assert names("tier") == ["a", "c"]
    assert names("!tier") == ["b"]
    assert names("tier in (db, web),app notin (pac)") == ["c"]
    assert names("app==pac,tier", namespace=None) == ["a", "d"]
    assert names("", namespace=None, fields="metadata.name=d") == ["d"]
    assert names("", fields="metadata.name!=a,type=Opaque") == ["b", "c"]
    with pytest.raises(ApiException) as caught:
        names("", fields="spec.nope=1")
    assert caught.value.status == 400


def test_list_pages_with_limit_and_continue(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_secret("ci", secret(name))
    first = core.list_namespaced_secret("ci", limit=2)
    assert [item.metadata.name for item in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 1
    rest = core.list_namespaced_secret("ci", limit=2, _continue=first.metadata._continue)
    assert [item.metadata.name for item in rest.items] == ["c"]
    assert rest.metadata._continue is None


# -- Custom resources


def test_repositories_are_served_only_while_their_crd_is_installed(
    connect: Connect, apiserver: FakeApiServer
) -> None:
    api = connect()
    custom = client.CustomObjectsApi(api)
    extensions = client.ApiextensionsV1Api(api)
    name = "repositories.pipelinesascode.tekton.dev"
    crd = extensions.read_custom_resource_definition(name)
    assert crd.spec.names.kind == "Repository"
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"

    apiserver.uninstall_crd(name)
    with pytest.raises(ApiException) as caught:
        custom.list_namespaced_custom_object(*PAC, "ci", "repositories")
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"]) == (404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    with pytest.raises(ApiException) as caught:
        extensions.read_custom_resource_definition(name)
    assert (
        status_of(caught.value)["message"]
        == f'customresourcedefinitions.apiextensions.k8s.io "{name}" not found'
    )

    from tests.kube.conftest import repository_crd

    apiserver.install_crd(repository_crd())
    custom.create_namespaced_custom_object(*PAC, "ci", "repositories", repository("app"))
    listed = custom.list_cluster_custom_object(*PAC, "repositories")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["app"]
    assert listed["items"][0]["kind"] == "Repository"


def test_custom_objects_generation_schema_and_status(
    custom: client.CustomObjectsApi, apiserver: FakeApiServer
) -> None:
    seen: list[WriteEvent] = []
    apiserver.before_write(seen.append)
    body = repository("app") | {"status": [{"ignored": True}]}
    body["spec"]["not_in_schema"] = "pruned"
    created = custom.create_namespaced_custom_object(*PAC, "ci", "repositories", body)
    assert created["metadata"]["generation"] == 1
    assert "not_in_schema" not in created["spec"]

    patched = custom.patch_namespaced_custom_object(
        *PAC, "ci", "repositories", "app", {"spec": {"git_provider": {"user": "oauth2"}}}
    )
    assert seen[-1].content_type == MERGE_PATCH
    assert patched["metadata"]["generation"] == 2
    assert patched["spec"]["git_provider"]["user"] == "oauth2"
    labelled = custom.patch_namespaced_custom_object(
        *PAC, "ci", "repositories", "app", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 2

    # A list body needs the JSON patch content type; the client's default is merge-patch.
    custom.patch_namespaced_custom_object(
        *PAC,
        "ci",
        "repositories",
        "app",
        [{"op": "replace", "path": "/spec/url", "value": "https://gitlab.example.com/g/b"}],
        _content_type=JSON_PATCH,
    )

    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            *PAC, "ci", "repositories", repository("bad") | {"spec": {"url": 3}}
        )
    assert caught.value.status == 422
    assert status_of(caught.value)["message"] == (
        'Repository.pipelinesascode.tekton.dev "bad" is invalid: spec.url: Invalid value: '
        '"integer": spec.url in body must be of type string: "integer"'
    )

    # PUT without a resourceVersion is refused for custom resources.
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(
            *PAC, "ci", "repositories", "app", repository("app")
        )
    assert caught.value.status == 422

    # PAC's CRD declares a status subresource but no `status` in its schema: always pruned.
    current = custom.get_namespaced_custom_object(*PAC, "ci", "repositories", "app")
    updated = custom.replace_namespaced_custom_object_status(
        *PAC, "ci", "repositories", "app", current | {"status": {"seen": True}}
    )
    assert "status" not in updated


def test_status_subresource(custom: client.CustomObjectsApi) -> None:
    tekton = ("tekton.dev", "v1")
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "run-1"},
        "spec": {"pipelineRef": {"name": "build"}},
        "status": {"ignored": "on create"},
    }
    created = custom.create_namespaced_custom_object(*tekton, "ci", "pipelineruns", run)
    assert "status" not in created

    created["status"] = {"conditions": [{"type": "Succeeded", "status": "Unknown"}]}
    created["spec"]["timeouts"] = {"pipeline": "1h"}  # ignored by /status
    updated = custom.replace_namespaced_custom_object_status(
        *tekton, "ci", "pipelineruns", "run-1", created
    )
    assert updated["status"]["conditions"][0]["status"] == "Unknown"
    assert "timeouts" not in updated["spec"]
    assert updated["metadata"]["generation"] == 1

    updated["status"] = {"dropped": True}  # ignored by the main endpoint
    updated["spec"]["timeouts"] = {"pipeline": "1h"}
    replaced = custom.replace_namespaced_custom_object(
        *tekton, "ci", "pipelineruns", "run-1", updated
    )
    assert replaced["status"]["conditions"][0]["status"] == "Unknown"
    assert replaced["metadata"]["generation"] == 2

    # Other served versions share the storage.
    v1beta1 = custom.get_namespaced_custom_object(
        "tekton.dev", "v1beta1", "ci", "pipelineruns", "run-1"
    )
    assert v1beta1["apiVersion"] == "tekton.dev/v1beta1"
    assert v1beta1["metadata"]["resourceVersion"] == replaced["metadata"]["resourceVersion"]


# -- Leases


def test_lease_create_and_replace_with_resource_version(connect: Connect) -> None:
    leases = client.CoordinationV1Api(connect())
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="pac-tui-refresher"),
        spec=client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=30),
    )
    created = leases.create_namespaced_lease("ci", lease)
    created.spec.holder_identity = "pod-b"
    renewed = leases.replace_namespaced_lease("pac-tui-refresher", "ci", created)
    assert renewed.spec.holder_identity == "pod-b"

    created.spec.holder_identity = "pod-c"  # still carries the first resourceVersion
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("pac-tui-refresher", "ci", created)
    assert status_of(caught.value)["message"] == (
        f'Operation cannot be fulfilled on leases.coordination.k8s.io "pac-tui-refresher": '
        f"{MODIFIED}"
    )


def test_a_concurrent_writer_turns_the_clients_write_into_a_conflict(
    core: client.CoreV1Api, apiserver: FakeApiServer
) -> None:
    current = core.create_namespaced_secret("ci", secret("app-token", stringData={"k": "1"}))

    def other_writer(event: WriteEvent) -> None:
        stored = apiserver.get_object("", "secrets", "ci", "app-token")
        stored["data"] = {"k": "b3RoZXI="}
        apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **stored})

    apiserver.before_write(other_writer, once=True)
    current.string_data = {"k": "mine"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_secret("app-token", "ci", current)
    assert status_of(caught.value)["reason"] == "Conflict"
    retried = core.read_namespaced_secret("app-token", "ci")
    retried.data = {"k": base64.b64encode(b"mine").decode()}
    assert core.replace_namespaced_secret("app-token", "ci", retried).data["k"] == "bWluZQ=="


# -- Identities and failures


def test_wrong_token_is_401(apiserver: FakeApiServer, tmp_path: Path) -> None:
    path = apiserver.kubeconfig(tmp_path / "bad", contexts={"bad": ("wrong-token", "ci")})
    api = config.new_client_from_config(config_file=str(path))
    try:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api).list_namespaced_secret("ci")
    finally:
        api.close()
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"], body["message"]) == (
        401,
        "Unauthorized",
        "Unauthorized",
    )
    assert apiserver.requests[-1].user is None


def test_denied_access_is_403_with_the_rbac_message(
    connect: Connect, apiserver: FakeApiServer
) -> None:
    apiserver.deny(PAC_TUI_USER, "get", "secrets", "ci")
    apiserver.deny(PAC_TUI_USER, "list", "repositories.pipelinesascode.tekton.dev")
    admin, pac_tui = client.CoreV1Api(connect()), client.CoreV1Api(connect("other"))
    admin.create_namespaced_secret("ci", secret("app-token"))
    admin.create_namespaced_secret("default", secret("app-token"))

    with pytest.raises(ApiException) as caught:
        pac_tui.read_namespaced_secret("app-token", "ci")
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'secrets "app-token" is forbidden: User "system:serviceaccount:ci:pac-tui" cannot get '
        'resource "secrets" in API group "" in the namespace "ci"'
    )
    assert pac_tui.read_namespaced_secret("app-token", "default").metadata.name == "app-token"
    assert admin.read_namespaced_secret("app-token", "ci").metadata.name == "app-token"

    with pytest.raises(ApiException) as caught:
        client.CustomObjectsApi(connect("other")).list_cluster_custom_object(*PAC, "repositories")
    assert status_of(caught.value)["message"] == (
        "repositories.pipelinesascode.tekton.dev is forbidden: User "
        '"system:serviceaccount:ci:pac-tui" cannot list resource "repositories" in API group '
        '"pipelinesascode.tekton.dev" at the cluster scope'
    )
    assert [(r.method, r.user) for r in apiserver.requests[-2:]] == [
        ("GET", ADMIN_USER),
        ("GET", PAC_TUI_USER),
    ]


def test_injected_failures_hit_once(core: client.CoreV1Api, apiserver: FakeApiServer) -> None:
    core.create_namespaced_secret("ci", secret("app-token"))
    apiserver.fail_next("GET", r"/secrets/app-token$", status=500)
    apiserver.fail_next("PATCH", r"/secrets/", status=403)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_secret("app-token", "ci")
    assert status_of(caught.value)["reason"] == "InternalError"
    assert core.read_namespaced_secret("app-token", "ci").metadata.name == "app-token"
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_secret("app-token", "ci", {"data": {}})
    assert status_of(caught.value)["message"].startswith(
        f'secrets "app-token" is forbidden: User "{ADMIN_USER}" cannot patch resource "secrets"'
    )


def test_watch_is_refused_at_once(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_secret("ci", watch=True, _request_timeout=15)  # a hang: a timeout
    assert caught.value.status == 405


def test_discovery(connect: Connect) -> None:
    api = connect()
    assert client.VersionApi(api).get_code().git_version == "v1.31.0"
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {group.name for group in client.ApisApi(api).get_api_versions().groups}
    assert {"coordination.k8s.io", "pipelinesascode.tekton.dev", "tekton.dev"} <= groups
    resources = client.CustomObjectsApi(api).get_api_resources(*PAC).resources
    assert [r.name for r in resources] == ["repositories", "repositories/status"]


# -- The cluster goes down and comes back


def test_stop_refuses_connections_and_start_brings_the_same_state_back(
    connect: Connect, apiserver: FakeApiServer
) -> None:
    core = client.CoreV1Api(connect(retries=0))
    created = core.create_namespaced_secret("ci", secret("app-token", stringData={"k": "v"}))
    port = apiserver.port

    apiserver.stop()
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:
        core.read_namespaced_secret("app-token", "ci", _request_timeout=30)
    assert time.monotonic() - started < 15  # refused at once, not timed out (generous for CI)
    assert isinstance(caught.value.reason, urllib3.exceptions.NewConnectionError)
    assert "Connection refused" in str(caught.value.reason)

    apiserver.start()
    assert apiserver.port == port
    again = core.read_namespaced_secret("app-token", "ci")
    assert again.metadata.resource_version == created.metadata.resource_version
    assert again.data == {"k": "dg=="}


# -- The kubeconfig


def test_kubeconfig_is_private_and_lists_both_contexts(kubeconfig: Path) -> None:
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    contexts, current = config.list_kube_config_contexts(config_file=str(kubeconfig))
    assert current["name"] == "kind-pac"
    assert {c["name"]: c["context"]["namespace"] for c in contexts} == {
        "kind-pac": "ci",
        "other": "default",
    }
    assert os.environ.get("KUBECONFIG") != str(kubeconfig)
