"""Offboarding a repository that `onboard` set up, against the fake GitLab in front of the real
OAuth provider and the fake apiserver through a kubeconfig."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pac_tui.actions.offboard import (
    ALREADY_ABSENT,
    NOT_DONE,
    Offboarding,
    StepState,
    carry_out,
    offboard,
    plan_offboard,
)
from pac_tui.core.config import Repository
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.gitlab.api import GitLabApiError
from pac_tui.gitlab.projects import get_project
from pac_tui.kube.repositories import PAC_GROUP
from pac_tui.kube.secrets import read_secret, write_tokens
from pac_tui.oauth.revoke import revoke
from pac_tui.onboard import onboard
from tests.onboard.conftest import CONTROLLER, PROJECT, World
from tests.providers.gitlab_api import login

MODES = ["project-token", "oauth"]


async def onboarded(world: World, mode: str) -> tuple[Repository, dict[str, str]]:
    """Onboard for real; return the bound repository and every secret value it gave out."""
    repo = world.bound(mode)
    s = world.session
    await onboard(repo, s.store, s.clock, world.clusters, controller_url=CONTROLLER)
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    tokens = s.tokens()
    values["access"], values["refresh"] = tokens.access_token, tokens.refresh_token or ""
    world.apiserver.requests.clear()
    world.gitlab.requests.clear()
    return repo, values


async def run(world: World, repo: Repository, **kw: Any) -> Offboarding:
    s = world.session
    return await offboard(repo, s.store, s.clock, world.clusters, **kw)


def states(result: Offboarding) -> list[tuple[str, StepState]]:
    return [(step.what, step.state) for step in result.steps]


def resource(world: World) -> dict[str, Any] | None:
    return world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")


def refused_by_gitlab(world: World, project_token: str) -> bool:
    """Does GitLab refuse `project_token` as PAC sends it (Private-Token)?"""
    answer = httpx.get(
        f"{world.gitlab.api_url}/personal_access_tokens/self",
        headers={"PRIVATE-TOKEN": project_token},
        timeout=10,
        trust_env=False,
    )
    return answer.status_code == 401


def refresh_refused(world: World, refresh_token: str) -> bool:
    """Does the OAuth provider refuse `refresh_token`?"""
    app = world.session.repo.gitlab
    answer = httpx.post(
        f"{world.gitlab.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret or "",
        },
        timeout=10,
        trust_env=False,
    )
    return answer.status_code == 400 and answer.json().get("error") == "invalid_grant"


def assert_no_value_in(result: Offboarding, values: dict[str, str]) -> None:
    text = json.dumps(result.to_json())
    for value in values.values():
        assert value not in text


@pytest.mark.parametrize("mode", MODES)
async def test_offboarding_leaves_nothing_of_pac_tui_behind(world: World, mode: str) -> None:
    repo, values = await onboarded(world, mode)

    result = await run(world, repo)

    assert result.failed is None, result.to_json()
    assert states(result) == [
        ("hook", StepState.DONE),
        ("annotation", StepState.DONE),
        ("secret", StepState.DONE),
        ("project-token", StepState.DONE if mode == "project-token" else StepState.SKIPPED),
        ("oauth-grant", StepState.DONE),
        ("token-store", StepState.DONE),
        ("repository", StepState.SKIPPED),
        ("config", StepState.SKIPPED),
    ]
    assert world.project.hooks == {}
    # The Secret held only what onboarding put there: it is gone.
    assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is None
    kept = resource(world)
    assert kept is not None  # the Repository stays, without pac-tui's annotation
    assert "pac-tui.dev/controller-url" not in (kept["metadata"].get("annotations") or {})
    if mode == "project-token":
        assert refused_by_gitlab(world, values["provider.token"])
    assert refresh_refused(world, values["refresh"])
    assert world.session.store.get("demo") is None
    assert_no_value_in(result, values)


@pytest.mark.parametrize("mode", MODES)
async def test_a_second_run_changes_nothing(world: World, mode: str) -> None:
    repo, _ = await onboarded(world, mode)
    await run(world, repo)
    world.apiserver.requests.clear()
    world.gitlab.requests.clear()
    version = world.apiserver.resource_version

    again = await run(world, repo)

    assert again.failed is None
    assert {state for _, state in states(again)} == {StepState.SKIPPED}
    by_what = {step.what: step.message for step in again.steps}
    for what in ("annotation", "secret", "project-token", "oauth-grant", "token-store"):
        assert by_what[what] == ALREADY_ABSENT, by_what
    assert world.apiserver.writes() == []
    assert world.apiserver.resource_version == version
    assert world.gitlab.requests == {}  # not even a read: nothing of pac-tui's is left to find


async def test_delete_repository_deletes_the_repository_too(world: World) -> None:
    repo, _ = await onboarded(world, "project-token")

    result = await run(world, repo, delete_repository=True)

    assert result.failed is None
    assert result.steps[-2].what == "repository" and result.steps[-2].state == StepState.DONE
    assert resource(world) is None
    again = await run(world, repo, delete_repository=True)
    assert again.failed is None and again.steps[-2].message == ALREADY_ABSENT


async def test_a_secret_with_other_keys_keeps_them(world: World) -> None:
    repo, values = await onboarded(world, "oauth")
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    secret["data"]["ca.crt"] = base64.b64encode(b"certificate").decode()
    world.apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **secret})

    result = await run(world, repo)

    assert result.failed is None
    left = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert left is not None
    assert sorted(left["data"]) == ["ca.crt", "webhook.secret"]
    assert "app.kubernetes.io/managed-by" not in (left["metadata"].get("labels") or {})
    annotations = left["metadata"].get("annotations") or {}
    assert not [key for key in annotations if key.startswith("pac-tui.dev/")]
    assert_no_value_in(result, values)


async def test_dry_run_writes_nothing_and_shows_the_plan(world: World) -> None:
    repo, values = await onboarded(world, "project-token")
    record = world.session.store.get("demo")

    result = await run(world, repo, dry_run=True)

    assert states(result)[:6] == [
        ("hook", StepState.PLANNED),
        ("annotation", StepState.PLANNED),
        ("secret", StepState.PLANNED),
        ("project-token", StepState.PLANNED),
        ("oauth-grant", StepState.PLANNED),
        ("token-store", StepState.PLANNED),
    ]
    assert "delete it" in result.steps[2].message
    assert world.apiserver.writes() == []
    assert world.gitlab_writes() == 0
    assert world.session.store.get("demo") == record
    assert len(world.project.hooks) == 1
    assert_no_value_in(result, values)


async def test_cluster_down_at_the_secret_stops_before_any_revoke(world: World) -> None:
    repo, values = await onboarded(world, "project-token")
    world.apiserver.fail_next("DELETE", r"/secrets/demo-gitlab$", 503)

    result = await run(world, repo)

    assert states(result)[:5] == [
        ("hook", StepState.DONE),
        ("annotation", StepState.DONE),
        ("secret", StepState.FAILED),
        ("project-token", StepState.PLANNED),
        ("oauth-grant", StepState.PLANNED),
    ]
    failed = result.failed
    assert failed is not None and "pac-tui offboard demo" in failed.message
    assert result.steps[3].message == NOT_DONE
    # The rest is as it was: the Secret and both credentials are untouched and still work.
    assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is not None
    assert not refused_by_gitlab(world, values["provider.token"])
    assert world.session.store.get("demo") is not None
    assert_no_value_in(result, values)

    rerun = await run(world, repo)
    assert rerun.failed is None
    assert refused_by_gitlab(world, values["provider.token"])
    assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is None


async def test_gitlab_refusing_the_hook_delete_changes_nothing(world: World) -> None:
    repo, values = await onboarded(world, "project-token")
    s = world.session
    plan = await plan_offboard(repo, s.store, s.clock, world.clusters)
    world.project.access_level = 30  # the role was lowered between the plan and the act

    result = await carry_out(plan)

    assert result.steps[0].state == StepState.FAILED
    assert "Maintainer" in result.steps[0].message
    assert all(step.state != StepState.DONE for step in result.steps)
    assert world.apiserver.writes() == []
    assert len(world.project.hooks) == 1
    assert not refused_by_gitlab(world, values["provider.token"])


async def test_a_secret_rotated_after_the_plan_stops_the_run_before_any_revoke(
    world: World,
) -> None:
    repo, values = await onboarded(world, "project-token")
    s = world.session
    plan = await plan_offboard(repo, s.store, s.clock, world.clusters)
    # The in-cluster refresher writes the Secret between the plan and the act.
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    secret["metadata"]["annotations"]["pac-tui.dev/last-error"] = "GitLab did not answer"
    world.apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **secret})

    result = await carry_out(plan)

    failed = result.failed
    assert failed is not None and failed.what == "secret"
    assert "changed since it was read" in failed.message
    assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is not None
    assert not refused_by_gitlab(world, values["provider.token"])
    async with s.api() as api:  # the grant still works at GitLab
        assert (await get_project(api, PROJECT)).path_with_namespace == PROJECT

    assert (await run(world, repo)).failed is None  # planned again, it goes through
    assert refused_by_gitlab(world, values["provider.token"])


async def test_a_cluster_that_cannot_be_read_changes_nothing(world: World) -> None:
    repo, _ = await onboarded(world, "project-token")
    world.apiserver.fail_next("GET", r"/repositories/demo$", 503)

    with pytest.raises(PacTuiError, match="nothing was changed"):
        await run(world, repo)

    assert world.apiserver.writes() == [] and world.gitlab.requests == {}
    assert len(world.project.hooks) == 1


async def test_a_role_too_low_to_read_the_hooks_changes_nothing(world: World) -> None:
    repo, _ = await onboarded(world, "project-token")
    world.project.access_level = 30

    with pytest.raises(GitLabApiError, match="nothing was changed") as caught:
        await run(world, repo)

    assert caught.value.status == 403
    assert world.apiserver.writes() == [] and world_gitlab_api_writes(world) == 0


async def test_without_a_live_grant_it_says_log_in_and_changes_nothing(world: World) -> None:
    repo, _ = await onboarded(world, "project-token")
    s = world.session
    await revoke(repo, s.store, s.clock)
    world.gitlab.requests.clear()

    with pytest.raises(NeedsLogin, match=r"pac-tui login demo.*nothing was changed"):
        await run(world, repo)

    assert world.apiserver.writes() == [] and world_gitlab_api_writes(world) == 0
    assert len(world.project.hooks) == 1


def world_gitlab_api_writes(world: World) -> int:
    return sum(
        n
        for key, n in world.gitlab.requests.items()
        if not key.startswith(("GET ", "HEAD ")) and "/oauth/" not in key
    )


async def test_oauth_tokens_the_secret_holds_beyond_the_local_grant_are_revoked_too(
    world: World, tmp_path: Path
) -> None:
    repo, values = await onboarded(world, "oauth")
    # Another grant in the Secret than in the local store (as after a rotation elsewhere).
    other = (await login(world.gitlab, tmp_path / "other", project=PROJECT)).tokens()
    cluster = world.clusters.get("kind-pac")
    stored = read_secret(cluster, "ci", "demo-gitlab", "provider.token")
    assert stored is not None and stored.tokens is not None
    newer = replace(
        stored.tokens,
        token=other.access_token,
        refresh_token=other.refresh_token,
        issued_at=stored.tokens.issued_at + timedelta(seconds=5),
    )
    write_tokens(cluster, "ci", "demo-gitlab", "provider.token", newer)

    result = await run(world, repo)

    assert result.failed is None, result.to_json()
    grant = next(step for step in result.steps if step.what == "oauth-grant")
    assert grant.message == "revoked the local tokens and the tokens the Secret held"
    assert refresh_refused(world, other.refresh_token or "")
    assert refresh_refused(world, values["refresh"])
    assert other.access_token not in json.dumps(result.to_json())


def webhook_secret_in(world: World, name: str) -> None:
    """A Repository whose webhook secret is in a Secret of its own, `name`."""
    world.apiserver.put_object(
        {
            "apiVersion": "pipelinesascode.tekton.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "demo", "namespace": "ci"},
            "spec": {
                "url": f"{world.gitlab.url}/{PROJECT}",
                "git_provider": {
                    "secret": {"name": "demo-gitlab", "key": "provider.token"},
                    "webhook_secret": {"name": name, "key": "webhook.secret"},
                },
            },
        }
    )


async def test_a_webhook_secret_of_its_own_that_pac_tui_made_goes_too(world: World) -> None:
    webhook_secret_in(world, "demo-webhook")  # onboarding creates it, with pac-tui's label
    repo, _ = await onboarded(world, "project-token")
    assert world.apiserver.get_object("", "secrets", "ci", "demo-webhook") is not None

    result = await run(world, repo)

    assert result.failed is None
    secrets = [(s.target, s.state) for s in result.steps if s.what == "secret"]
    assert secrets == [("ci/demo-gitlab", StepState.DONE), ("ci/demo-webhook", StepState.DONE)]
    assert world.apiserver.get_object("", "secrets", "ci", "demo-webhook") is None


async def test_the_users_own_webhook_secret_is_left_as_it_is(world: World) -> None:
    user_secret = {"webhook.secret": base64.b64encode(b"the user's own").decode()}
    world.apiserver.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "mine", "namespace": "ci"},
            "data": user_secret,
        }
    )
    webhook_secret_in(world, "mine")
    repo, _ = await onboarded(world, "project-token")

    result = await run(world, repo)

    assert result.failed is None
    step = next(s for s in result.steps if s.target == "ci/mine")
    assert step.state == StepState.SKIPPED and step.message == "nothing of pac-tui's in it"
    mine = world.apiserver.get_object("", "secrets", "ci", "mine")
    assert mine is not None and mine["data"] == user_secret
    assert world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is None


async def test_a_failed_revoke_keeps_track_of_a_token_only_the_secret_named(world: World) -> None:
    """The in-cluster refresher rotated the project token, so only the Secret names it; the
    Secret step takes it out, then GitLab fails the revoke: the record takes the token, and the
    rerun the error promises revokes it instead of forgetting a token that still works."""
    repo, values = await onboarded(world, "project-token")
    s = world.session
    with s.store.transaction() as txn:  # the record no longer holds the Secret's token
        record = txn.get("demo")
        assert record is not None and record.project_token is not None
        txn.put("demo", record.with_(project_token=None))
    world.gitlab.after_next(
        "DELETE", "/projects/{id}/hooks/{hook_id}", lambda: setattr(world.gitlab, "outage", 503)
    )

    result = await run(world, repo)

    assert [state for what, state in states(result) if what in ("secret", "project-token")] == [
        StepState.DONE,
        StepState.FAILED,
    ]
    assert "a rerun revokes it" in (result.failed.message if result.failed else "")
    assert not refused_by_gitlab(world, values["provider.token"])  # still valid, and …
    kept = s.store.get("demo")
    assert kept is not None and kept.project_token is not None  # … tracked
    assert_no_value_in(result, values)

    world.gitlab.outage = None
    rerun = await run(world, repo)
    assert rerun.failed is None
    assert refused_by_gitlab(world, values["provider.token"])
