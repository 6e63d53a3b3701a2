"""Token-less onboarding against the fake GitLab and the fake apiserver (through a kubeconfig)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import httpx
import pytest

from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.gitlab.api import GitLabApiError
from pac_tui.kube.repositories import PAC_GROUP
from pac_tui.onboard import REDACTED, OnboardResult, onboard
from tests.onboard.conftest import CONTROLLER, PROJECT, World


def secret_data(world: World, name: str = "demo-gitlab") -> dict[str, str]:
    secret = world.apiserver.get_object("", "secrets", "ci", name)
    assert secret is not None
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def resource(world: World) -> dict[str, Any]:
    obj = world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
    assert obj is not None
    return obj


async def run(world: World, mode: str = "project-token", **kw: Any) -> OnboardResult:
    kw.setdefault("controller_url", CONTROLLER)
    repo = kw.pop("repo", None) or world.bound(mode)
    store, clock = world.session.store, world.session.clock
    return await onboard(repo, store, clock, world.clusters, **kw)


def actions(result: OnboardResult) -> list[tuple[str, str]]:
    return [(item.kind, item.action) for item in result.items]


def assert_no_secret_in(text: str, world: World) -> None:
    data = secret_data(world)
    for value in (*data.values(), world.session.tokens().access_token):
        assert value not in text


@pytest.mark.parametrize("mode", ["project-token", "oauth"])
async def test_onboarding_from_nothing(world: World, mode: str) -> None:
    result = await run(world, mode)

    assert actions(result) == [
        ("Repository", "created"),
        ("Secret", "created"),
        ("Hook", "created"),
    ]
    spec = resource(world)["spec"]
    provider = spec["git_provider"]
    assert spec["url"] == f"{world.gitlab.url}/{PROJECT}"
    assert provider["type"] == "gitlab"
    assert provider["url"] == world.gitlab.url  # a self-managed instance
    assert provider["secret"] == {"name": "demo-gitlab", "key": "provider.token"}
    assert provider["webhook_secret"] == {"name": "demo-gitlab", "key": "webhook.secret"}
    assert provider.get("user") == ("oauth2" if mode == "oauth" else None)
    annotations = resource(world)["metadata"]["annotations"]
    assert annotations["pac-tui.dev/controller-url"] == CONTROLLER

    data = secret_data(world)
    if mode == "oauth":
        assert data["provider.token"] == world.session.tokens().access_token
        assert "pac-tui.refresh-token" in data
    else:
        minted = [t for t in world.gitlab.tokens.values() if t.project_id == world.project.id]
        assert [t.value for t in minted] == [data["provider.token"]]
        assert minted[0].scopes == ["api"]
    assert len(data["webhook.secret"]) >= 32

    (hook,) = world.project.hooks.values()
    assert hook["url"] == CONTROLLER
    assert hook["token"] == data["webhook.secret"]
    assert hook["enable_ssl_verification"] is True
    for event in ("push_events", "tag_push_events", "merge_requests_events", "note_events"):
        assert hook[event] is True
    assert_no_secret_in(json.dumps(result.to_json()), world)


@pytest.mark.parametrize("mode", ["project-token", "oauth"])
async def test_running_it_twice_changes_nothing(world: World, mode: str) -> None:
    await run(world, mode)
    before = secret_data(world)
    world.apiserver.requests.clear()
    world.gitlab.requests.clear()

    again = await run(world, mode)

    assert actions(again) == [
        ("Repository", "unchanged"),
        ("Secret", "unchanged"),
        ("Hook", "unchanged"),
    ]
    assert not again.changed
    assert world.apiserver.writes() == []
    assert world.gitlab_writes() == 0, world.gitlab.requests
    assert secret_data(world) == before
    assert len(world.project.hooks) == 1


async def test_an_existing_webhook_secret_is_kept_and_a_wrong_hook_fixed(world: World) -> None:
    await run(world)
    secret = secret_data(world)["webhook.secret"]
    (hook,) = world.project.hooks.values()
    hook["note_events"] = False
    hook["enable_ssl_verification"] = False
    world.apiserver.requests.clear()

    result = await run(world)

    assert actions(result) == [
        ("Repository", "unchanged"),
        ("Secret", "unchanged"),
        ("Hook", "updated"),
    ]
    assert "no note events" in result.items[2].detail
    assert hook["note_events"] is True and hook["enable_ssl_verification"] is True
    assert hook["token"] == secret == secret_data(world)["webhook.secret"]
    assert world.apiserver.writes() == []


async def test_an_existing_repository_gets_the_missing_fields(world: World) -> None:
    world.apiserver.put_object(
        {
            "apiVersion": "pipelinesascode.tekton.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "demo", "namespace": "ci", "labels": {"team": "a"}},
            "spec": {"url": f"{world.gitlab.url}/{PROJECT}"},
        }
    )
    result = await run(world, "oauth")

    assert actions(result)[0] == ("Repository", "updated")
    obj = resource(world)
    assert obj["metadata"]["labels"] == {"team": "a"}  # what was there stays
    assert obj["spec"]["git_provider"]["user"] == "oauth2"
    assert obj["spec"]["git_provider"]["secret"]["name"] == "demo-gitlab"


async def test_a_repository_for_another_project_is_refused(world: World) -> None:
    world.apiserver.put_object(
        {
            "apiVersion": "pipelinesascode.tekton.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "demo", "namespace": "ci"},
            "spec": {"url": "https://gitlab.com/someone/else"},
        }
    )
    world.apiserver.requests.clear()
    with pytest.raises(PacTuiError, match=r"already exists for https://gitlab\.com/someone/else"):
        await run(world)
    assert world.apiserver.writes() == []


async def test_dry_run_writes_nothing_and_shows_the_yaml(world: World) -> None:
    result = await run(world, "oauth", dry_run=True)

    assert actions(result) == [
        ("Repository", "would create"),
        ("Secret", "would create"),
        ("Hook", "would create"),
    ]
    assert result.warnings == ()
    assert world.apiserver.writes() == []
    assert world.gitlab_writes() == 0, world.gitlab.requests
    assert "user: oauth2" in result.repository_yaml
    assert f"url: {world.gitlab.url}/{PROJECT}" in result.repository_yaml
    assert "provider.token: REDACTED" in result.secret_yaml
    assert "webhook.secret: REDACTED" in result.secret_yaml
    assert result.hook["url"] == CONTROLLER and result.hook["token"] == REDACTED
    assert world.session.tokens().access_token not in json.dumps(result.to_json())


async def test_dry_run_after_onboarding_says_unchanged(world: World) -> None:
    await run(world)
    world.apiserver.requests.clear()
    world.gitlab.requests.clear()
    result = await run(world, dry_run=True)
    assert [a for _, a in actions(result)] == ["unchanged"] * 3
    assert world.apiserver.writes() == []
    assert world.gitlab_writes() == 0
    assert_no_secret_in(json.dumps(result.to_json()), world)


async def test_dry_run_with_the_cluster_down_still_shows_everything(world: World) -> None:
    world.apiserver.stop()
    result = await run(world, dry_run=True)

    assert actions(result)[:2] == [("Repository", "not checked"), ("Secret", "not checked")]
    assert actions(result)[2] == ("Hook", "would create")
    (warning,) = result.warnings
    assert "could not check the cluster" in warning and "cannot reach the cluster" in warning
    assert "kind: Repository" in result.repository_yaml
    assert "kind: Secret" in result.secret_yaml
    assert world.gitlab_writes() == 0


async def test_dry_run_with_gitlab_down_still_shows_everything(world: World) -> None:
    world.gitlab.outage = 503
    result = await run(world, dry_run=True)

    assert actions(result)[2] == ("Hook", "not checked")
    (warning,) = result.warnings
    assert "could not check GitLab" in warning
    assert result.hook["url"] == CONTROLLER
    assert world.apiserver.writes() == []


async def test_dry_run_never_refreshes_a_refused_token(world: World) -> None:
    world.gitlab.bearer_always_expired = True
    result = await run(world, dry_run=True)
    assert "does not refresh" in result.warnings[0]
    assert world.gitlab.count("POST", "/oauth/token") == 0


# ---- GitLab's errors ---------------------------------------------------------------------------


async def test_401_invalid_token_refreshes_once_then_asks_for_a_login(world: World) -> None:
    world.gitlab.bearer_always_expired = True
    with pytest.raises(NeedsLogin) as caught:
        await run(world)
    assert world.gitlab.count("POST", "/oauth/token") == 1  # one refresh, one retry
    assert "pac-tui login demo" in str(caught.value)
    assert world.apiserver.writes() == []  # refused before anything was written
    assert world.session.tokens().access_token not in str(caught.value)


async def test_403_insufficient_scope_names_the_scope(world: World) -> None:
    world.gitlab.oauth_scopes = ("read_api",)  # reads work, the hook's POST does not
    with pytest.raises(GitLabApiError) as caught:
        await run(world, "oauth")
    assert caught.value.status == 403 and caught.value.error == "insufficient_scope"
    assert "scope 'api'" in str(caught.value)
    assert world.session.tokens().access_token not in str(caught.value)


async def test_404_project_not_found(world: World) -> None:
    repo = replace(world.bound(), project="group/missing")
    with pytest.raises(GitLabApiError, match="project group/missing not found"):
        await run(world, repo=repo)
    assert world.apiserver.writes() == []


async def test_a_developer_cannot_onboard_and_nothing_is_written(world: World) -> None:
    world.project.access_level = 30
    with pytest.raises(GitLabApiError) as caught:
        await run(world, "oauth")
    assert caught.value.status == 403
    assert world.apiserver.writes() == []
    assert world.project.hooks == {}


class ConflictOnHookCreate(httpx.AsyncHTTPTransport):
    """Another onboarding creates the same hook first; GitLab then answers 409 (GitLab's
    `conflict!` body: {"message": "409 Conflict"})."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/hooks"):
            await super().handle_async_request(request)  # the other writer's hook
            return httpx.Response(409, json={"message": "409 Conflict"}, request=request)
        return await super().handle_async_request(request)


async def test_409_hook_exists_adopts_the_hook(world: World) -> None:
    result = await run(world, "oauth", transport=ConflictOnHookCreate())

    assert result.items[2].action == "updated"
    (hook,) = world.project.hooks.values()
    assert hook["token"] == secret_data(world)["webhook.secret"]
    assert world.gitlab.count("PUT", "/projects/{id}/hooks/{hook_id}") == 1


async def test_project_token_mode_needs_maintainer(world: World) -> None:
    world.project.access_level = 30
    planned = await run(world, "project-token", dry_run=True)
    assert any("needs the Maintainer role" in w and "--mode oauth" in w for w in planned.warnings)
    with pytest.raises(PacTuiError, match="Maintainer"):
        await run(world, "project-token")
    assert world.apiserver.writes() == []
