"""Secret sync in both token modes, end to end: the real OAuth provider (DOT) behind the fake
GitLab, the fake apiserver through the official client, the real token store."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pac_tui.actions.refresh import refresh_and_sync
from pac_tui.actions.status import repo_status
from pac_tui.core.clock import ManualClock
from pac_tui.core.errors import ClusterRefused, ClusterUnavailable, NeedsLogin, UsageError
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.kube.cluster import Clusters
from pac_tui.kube.fingerprint import FINGERPRINT, fingerprint
from pac_tui.kube.sync import sync
from pac_tui.oauth.refresh import RefreshAction
from tests.kube.fake_apiserver import FakeApiServer, WriteEvent
from tests.kube.pac import add_repository, bearer_works, bind, secret, secret_value
from tests.providers.gitlab_api import FakeGitLab, Session, login

PROJECT = "group/sub/project"


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(PROJECT)
    return gitlab


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def clusters(kubeconfig: Path) -> Clusters:
    clusters = Clusters(str(kubeconfig))
    yield clusters
    clusters.close()


async def session(fake: FakeGitLab, tmp_path: Path, clock: ManualClock, mode: str) -> Session:
    logged_in = await login(fake, tmp_path / "data", project=PROJECT, clock=clock)
    logged_in.repo = bind(logged_in.repo, mode)
    return logged_in


def pac_repository(apiserver: FakeApiServer, fake: FakeGitLab, **kwargs: object) -> None:
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}", **kwargs)  # type: ignore[arg-type]


async def works_as_pac(fake: FakeGitLab, s: Session, value: str) -> bool:
    try:
        async with GitLabApi.with_private_token(s.repo.gitlab, value) as api:
            await project_tokens.self_info(api)
    except GitLabApiError:
        return False
    return True


def pac_tui_wrote(value: str) -> str:
    """The fingerprint another pac-tui writer (the refresher) notes with the token it writes."""
    return fingerprint(value, "ci", "demo-gitlab", "provider.token")


def secret_writes(apiserver: FakeApiServer) -> int:
    return len([r for r in apiserver.writes() if "/secrets" in r.path])


async def test_project_token_mode_end_to_end(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "project-token")
    pac_repository(apiserver, fake)
    apiserver.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo-gitlab", "namespace": "ci"},
            "data": {"webhook.secret": base64.b64encode(b"hook-secret").decode()},
        }
    )

    first = await sync(s.repo, s.store, clock, clusters)
    assert (first.action, first.secret) == ("minted", "ci/demo-gitlab")
    token = secret_value(apiserver, "provider.token")
    assert token and token.startswith("glpat-") and await works_as_pac(fake, s, token)
    obj = secret(apiserver)
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pac-tui"
    assert obj["metadata"]["annotations"]["pac-tui.dev/mode"] == "project-token"
    assert secret_value(apiserver, "webhook.secret") == "hook-secret"  # left alone
    assert secret_value(apiserver, "pac-tui.refresh-token") is None
    record = s.store.get("demo")
    assert record and record.project_token and record.project_token.token == token
    assert repo_status(s.repo, record, clock.now()).cluster.synced  # type: ignore[union-attr]

    # Again: nothing to do, nothing written anywhere.
    writes, mints = secret_writes(apiserver), fake.count("POST", "/projects/{id}/access_tokens")
    again = await sync(s.repo, s.store, clock, clusters)
    assert again.action == "unchanged"
    assert secret_writes(apiserver) == writes
    assert fake.count("POST", "/projects/{id}/access_tokens") == mints == 1

    # 24 days on, 6 days are left: rotated; the old token stops working at once.
    clock.advance(24 * 86400)
    rotated = await sync(s.repo, s.store, clock, clusters)
    assert rotated.action == "rotated"
    new = secret_value(apiserver, "provider.token")
    assert new and new != token
    assert await works_as_pac(fake, s, new) and not await works_as_pac(fake, s, token)
    assert rotated.expires_at == datetime.combine(
        clock.now().date() + timedelta(days=30), datetime.min.time(), tzinfo=UTC
    )


async def test_oauth_mode_end_to_end(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake)
    result = await sync(s.repo, s.store, clock, clusters)
    assert result.action == "written"
    assert any("user: oauth2" in w for w in result.warnings)
    tokens = s.tokens()
    assert secret_value(apiserver, "provider.token") == tokens.access_token
    assert secret_value(apiserver, "pac-tui.refresh-token") == tokens.refresh_token
    annotations = secret(apiserver)["metadata"]["annotations"]
    assert annotations["pac-tui.dev/client-id"] == s.repo.gitlab.client_id
    assert annotations["pac-tui.dev/token-key"] == "provider.token"

    clock.advance(60)
    bound = await refresh_and_sync(s.repo, s.store, clock, clusters)
    assert bound.refresh.action is RefreshAction.REFRESHED and bound.sync_error is None
    fresh = s.tokens()
    assert fresh.access_token != tokens.access_token
    assert secret_value(apiserver, "provider.token") == fresh.access_token
    assert secret_value(apiserver, "pac-tui.refresh-token") == fresh.refresh_token


async def test_a_newer_token_stored_during_our_write_is_adopted_not_overwritten(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """409 race: between our read and our write another writer (the in-cluster refresher)
    stores a token issued later. Our write fails with a Conflict; we read again, keep theirs, and
    adopt it locally."""
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake, user="oauth2")
    await sync(s.repo, s.store, clock, clusters)  # the Secret now holds generation 1
    newer_issued = clock.now() + timedelta(minutes=5)

    def other_writer(event: WriteEvent) -> None:
        if event.plural != "secrets":
            return
        obj = secret(apiserver)
        obj["data"]["provider.token"] = base64.b64encode(b"theirs-access").decode()
        obj["data"]["pac-tui.refresh-token"] = base64.b64encode(b"theirs-refresh").decode()
        obj["metadata"]["annotations"]["pac-tui.dev/issued-at"] = newer_issued.isoformat()
        obj["metadata"]["annotations"][FINGERPRINT] = pac_tui_wrote("theirs-access")
        apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **obj})

    clock.advance(60)
    apiserver.before_write(other_writer, once=True)
    refreshes = fake.provider.token_requests("refresh_token")
    bound = await refresh_and_sync(s.repo, s.store, clock, clusters)
    assert bound.sync is not None and bound.sync.action == "adopted"
    assert fake.provider.token_requests("refresh_token") == refreshes + 1  # ours, only once
    puts = [r for r in apiserver.requests if r.method == "PUT" and "/secrets/" in r.path]
    assert len(puts) == 1  # ours, answered 409 because theirs landed first; not retried
    assert secret_value(apiserver, "provider.token") == "theirs-access"
    local = s.tokens()
    assert (local.access_token, local.refresh_token) == ("theirs-access", "theirs-refresh")


async def test_an_older_local_token_never_overwrites_a_newer_one(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake, user="oauth2")
    await sync(s.repo, s.store, clock, clusters)
    mine = s.tokens()
    obj = secret(apiserver)
    obj["data"]["provider.token"] = base64.b64encode(b"refresher-access").decode()
    later = (clock.now() + timedelta(hours=1)).isoformat()
    obj["metadata"]["annotations"]["pac-tui.dev/issued-at"] = later
    obj["metadata"]["annotations"][FINGERPRINT] = pac_tui_wrote("refresher-access")
    apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **obj})
    writes = secret_writes(apiserver)

    result = await sync(s.repo, s.store, clock, clusters)
    assert result.action == "adopted" and secret_writes(apiserver) == writes
    assert s.tokens().access_token == "refresher-access" != mine.access_token


async def test_cluster_down_keeps_tokens_locally_and_syncs_when_back(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake, user="oauth2")
    await sync(s.repo, s.store, clock, clusters)
    apiserver.stop()

    clock.advance(60)
    bound = await refresh_and_sync(s.repo, s.store, clock, clusters)
    assert bound.refresh.action is RefreshAction.REFRESHED
    assert isinstance(bound.sync_error, ClusterUnavailable)
    assert "not synced, tokens kept locally" in str(bound.sync_error)
    fresh = s.tokens()
    status = repo_status(s.repo, s.store.get("demo"), clock.now())
    assert status.cluster is not None and not status.cluster.synced
    assert "cannot reach the cluster" in (status.cluster.message or "")
    assert fresh.access_token not in str(bound.sync_error)

    apiserver.start()  # same port, same objects
    result = await sync(s.repo, s.store, clock, clusters)
    assert result.action == "written"
    assert secret_value(apiserver, "provider.token") == fresh.access_token
    status = repo_status(s.repo, s.store.get("demo"), clock.now())
    assert status.cluster is not None and status.cluster.synced and status.cluster.message is None


async def test_refusals_are_explained(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "project-token")
    # Developer role: minting is refused, oauth mode is offered.
    fake.projects[1].access_level = 30
    pac_repository(apiserver, fake)
    with pytest.raises(project_tokens.ProjectTokensUnavailable, match='mode = "oauth"'):
        await sync(s.repo, s.store, clock, clusters)
    assert secret(apiserver) is None

    # The Repository resource is for another project: refused before anything is written.
    add_repository(apiserver, "demo", f"{fake.url}/group/other")
    with pytest.raises(UsageError, match=r"is for .*group/other, but the config says"):
        await sync(s.repo, s.store, clock, clusters)

    # RBAC refuses to read the Secret.
    pac_repository(apiserver, fake)
    fake.projects[1].access_level = 40
    apiserver.deny("*", "get", "secrets", "ci")
    with pytest.raises(ClusterRefused, match=r"not allowed to read Secret ci/demo-gitlab"):
        await sync(s.repo, s.store, clock, clusters)


async def test_oauth_mode_needs_a_login_first(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake, user="oauth2")
    s.store.path.unlink()
    with pytest.raises(NeedsLogin, match="pac-tui login demo"):
        await sync(s.repo, s.store, clock, clusters)
    assert secret(apiserver) is None
    await asyncio.sleep(0)


async def test_a_project_token_revoked_in_gitlab_is_replaced(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    s = await session(fake, tmp_path, clock, "project-token")
    pac_repository(apiserver, fake)
    await sync(s.repo, s.store, clock, clusters)
    first = secret_value(apiserver, "provider.token")
    [token] = [t for t in fake.tokens.values() if not t.revoked]
    token.revoked = True  # someone revoked it in GitLab's settings: PAC's calls now fail

    result = await sync(s.repo, s.store, clock, clusters)
    assert result.action == "minted"
    second = secret_value(apiserver, "provider.token")
    assert second and second != first and await works_as_pac(fake, s, second)


async def test_a_refresh_in_the_same_second_as_the_last_sync_still_wins(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    clusters: Clusters,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """Generations are ordered by issue time to the second: a refresh right after the login (the
    clock has not moved) must still count as newer, or the revoked pair would be adopted back."""
    s = await session(fake, tmp_path, clock, "oauth")
    pac_repository(apiserver, fake, user="oauth2")
    await sync(s.repo, s.store, clock, clusters)
    bound = await refresh_and_sync(s.repo, s.store, clock, clusters)
    assert bound.sync is not None and bound.sync.action == "written"
    fresh = s.tokens()
    assert secret_value(apiserver, "provider.token") == fresh.access_token
    assert await bearer_works(s.repo.gitlab, fresh.access_token)
