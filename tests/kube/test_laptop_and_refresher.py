"""The laptop and the in-cluster refresher keep one token between them, never two:
- project-token mode: both are due at once; the laptop leaves the rotation to a live refresher
  and takes the new token from the Secret, and whoever rotates reads the Secret just before;
- oauth mode: a laptop call after an in-cluster refresh adopts the cluster's grant instead of
  spending a revoked refresh token (no invalid_grant, no second grant)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

from pac_tui.core.clock import ManualClock
from pac_tui.core.errors import NeedsLogin
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.cluster import Clusters, connect
from pac_tui.kube.lease import LeaderElector
from pac_tui.kube.refresher import Refresher
from pac_tui.kube.sync import sync
from pac_tui.oauth.grant import live_tokens
from pac_tui.onboard.check import run_checks
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_repository, bind, secret, secret_value
from tests.kube.refresher_setup import (
    NO_CONFIG,
    PROJECT,
    bound_secret,
    clock,
    config_for,
    fake,
)
from tests.providers.gitlab_api import FakeGitLab, Session, login

__all__ = ["clock", "fake"]  # fixtures

LIVENESS = "/projects/{id}/access_tokens/{token_id}"  # the laptop's check before it rotates


async def due_project_token(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    tmp_path: Path,
    clock: ManualClock,
) -> Session:
    """A project token minted by the laptop with 5 days left: laptop and refresher are both due."""
    s = await login(fake, tmp_path / "data", project=PROJECT, clock=clock)
    s.repo = bind(s.repo, "project-token")
    assert s.repo.kubernetes is not None
    binding = dataclasses.replace(s.repo.kubernetes, token_days=5)
    s.repo = dataclasses.replace(s.repo, kubernetes=binding)
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}")
    assert (await sync(s.repo, s.store, clock, clusters)).action == "minted"
    return s


def in_cluster(kubeconfig: Path, clock: ManualClock) -> tuple[Refresher, LeaderElector]:
    candidate = LeaderElector(
        connect("other", str(kubeconfig)), "ci", "pod-1", lease_duration=60, renew_deadline=30
    )
    cluster = connect("other", str(kubeconfig))
    return Refresher(cluster, "ci", NO_CONFIG, clock, elector=candidate), candidate


def rotations(fake: FakeGitLab) -> int:
    return fake.count("POST", "/projects/{id}/access_tokens/{token_id}/rotate") + fake.count(
        "POST", "/personal_access_tokens/self/rotate"
    )


async def both_hold_the_working_token(apiserver: FakeApiServer, s: Session) -> None:
    value = secret_value(apiserver, "provider.token")
    assert value
    async with GitLabApi.with_private_token(s.repo.gitlab, value) as api:
        assert (await project_tokens.self_info(api)).active
    record = s.store.get(s.repo.name)
    assert record is not None and record.project_token is not None
    assert record.project_token.token == value


async def test_due_at_once_the_refresher_rotates_between_the_laptop_s_check_and_its_rotation(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    clusters = Clusters(str(kubeconfig))
    try:
        s = await due_project_token(fake, apiserver, clusters, tmp_path, clock)
        refresher, candidate = in_cluster(kubeconfig, clock)
        assert candidate.step()  # the in-cluster refresher runs and leads
        # It rotates just after the laptop asked GitLab whether its token is alive.
        fake.after_next("GET", LIVENESS, lambda: asyncio.run(refresher.run_once()))

        result = await sync(s.repo, s.store, clock, clusters)

        assert result.action == "adopted"
        assert rotations(fake) == 1
        await both_hold_the_working_token(apiserver, s)
    finally:
        clusters.close()


async def test_the_laptop_leaves_a_due_rotation_to_a_live_refresher(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    clusters = Clusters(str(kubeconfig))
    try:
        s = await due_project_token(fake, apiserver, clusters, tmp_path, clock)
        refresher, candidate = in_cluster(kubeconfig, clock)
        assert candidate.step()

        deferred = await sync(s.repo, s.store, clock, clusters)
        assert deferred.action == "unchanged" and rotations(fake) == 0
        assert any("in-cluster refresher" in w and "pod-1" in w for w in deferred.warnings)

        [rotated] = await refresher.run_once()
        assert rotated.action == "rotated"
        notes = secret(apiserver)["metadata"]["annotations"]  # type: ignore[index]
        assert notes["pac-tui.dev/refresher-lease"] == "ci/pac-tui-refresher"
        taken = await sync(s.repo, s.store, clock, clusters)
        assert taken.action == "adopted" and not taken.warnings
        assert rotations(fake) == 1
        await both_hold_the_working_token(apiserver, s)

        # Once the refresher is gone (its Lease handed back), the laptop rotates again.
        candidate.release()
        clock.advance(26 * 86400)
        assert (await sync(s.repo, s.store, clock, clusters)).action == "rotated"
        assert rotations(fake) == 2
        await both_hold_the_working_token(apiserver, s)
    finally:
        clusters.close()


async def test_an_oauth_check_after_an_in_cluster_refresh_adopts_the_cluster_grant(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    mine = s.tokens()
    assert mine.expires_at is not None
    clock.set(mine.expires_at - timedelta(minutes=5))
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    assert [o.action for o in await refresher.run_once()] == ["refreshed"]
    refreshes = fake.provider.token_requests("refresh_token")
    logins = fake.provider.token_requests("authorization_code")

    clusters = Clusters(str(kubeconfig))
    try:  # `pac-tui check` on the laptop, still holding the grant the refresher replaced
        lines = {c.name: c for c in await run_checks(s.repo, s.store, clock, clusters)}
        clock.advance(4 * 3600)  # hours later: the adopted grant has expired in turn
        refresher_again = await refresher.run_once()
        later = {c.name: c for c in await run_checks(s.repo, s.store, clock, clusters)}
    finally:
        clusters.close()

    assert lines["Token"].ok and lines["Project"].ok, lines["Token"]
    assert [o.action for o in refresher_again] == ["refreshed"]
    assert later["Token"].ok, later["Token"]
    assert fake.provider.token_requests("refresh_token") == refreshes + 1  # the refresher's only
    assert fake.provider.token_requests("authorization_code") == logins  # no second grant
    assert s.tokens().access_token == secret_value(apiserver, "provider.token")


def test_the_hint_of_a_bound_oauth_repository_says_sync_first(tmp_path: Path) -> None:
    from pac_tui.core.config import GitLabApp, Repository

    app = GitLabApp(key="default", url="https://gitlab.example.com", client_id="x")
    repo = bind(Repository(name="demo", project=PROJECT, gitlab=app), "oauth")
    try:
        live_tokens(repo, None)
    except NeedsLogin as exc:
        assert "pac-tui sync demo" in str(exc) and "pac-tui login demo" in str(exc)
    else:
        raise AssertionError("no grant, no token")
