"""One rotator per Secret. PAC rotates the project token itself, exactly as its
`pkg/provider/gitlab/token_rotation.go` does (tektoncd/pipelines-as-code#2820): with the token in
the Secret, `POST /personal_access_tokens/self/rotate` (new expiry in 30 days) on the fake GitLab,
then Get + set the provider key + Update of the Secret through the official client, annotations
untouched. pac-tui's sync and refresher adopt that token: nothing minted or rotated, the Secret
keeps PAC's value. In oauth mode a token someone else wrote is reported, not written over."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pac_tui.actions.status import repo_status
from pac_tui.cli import main
from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import Clusters, connect
from pac_tui.kube.fingerprint import FINGERPRINT, fingerprint
from pac_tui.kube.lease import LeaderElector
from pac_tui.kube.refresher import Refresher
from pac_tui.kube.secrets import ForeignToken
from pac_tui.kube.sync import sync
from pac_tui.onboard.check import ROTATION, run_checks
from tests.kube.conftest import PAC_TUI_USER
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_repository, bind, secret, secret_value
from tests.kube.refresher_setup import (
    PROJECT,
    bound_secret,
    clock,
    config_file,
    config_for,
    fake,
)
from tests.kube.test_deploy import documents
from tests.providers.gitlab_api import FakeGitLab, Session, login

__all__ = ["clock", "fake"]  # fixtures

UPSTREAM_CRD = (
    Path(__file__).parents[1] / "fixtures/pac-crd/300-repositories.tektoncd-upstream.yaml"
)
MINT = "/projects/{id}/access_tokens"
SELF_ROTATE = "/personal_access_tokens/self/rotate"
PROJECT_ROTATE = "/projects/{id}/access_tokens/{token_id}/rotate"


def pac_rotates(fake: FakeGitLab, kubeconfig: Path, key: str = "provider.token") -> dict[str, Any]:
    """What PAC's maybeRotateToken does once the token is within 7 days of expiry: rotate it with
    itself, then write the new value into the Secret's key and nothing else. GitLab's answer."""
    cluster = connect("kind-pac", str(kubeconfig))
    current = cluster.core.read_namespaced_secret("demo-gitlab", "ci")
    old = base64.b64decode(current.data[key]).decode()
    expires = (fake.date() + timedelta(days=30)).isoformat()
    answer = httpx.post(
        f"{fake.api_url}{SELF_ROTATE}",
        headers={"PRIVATE-TOKEN": old},
        json={"expires_at": expires},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    current.data[key] = base64.b64encode(rotated["token"].encode()).decode()
    cluster.core.replace_namespaced_secret("demo-gitlab", "ci", current)
    return rotated


def active_tokens(fake: FakeGitLab, s: Session) -> list[dict[str, Any]]:
    """The project's active access tokens, as GitLab's settings page lists them."""
    [project] = fake.projects.values()
    answer = httpx.get(
        f"{fake.api_url}/projects/{project.id}/access_tokens",
        params={"state": "active"},
        headers={"Authorization": f"Bearer {s.tokens().access_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def annotations(apiserver: FakeApiServer) -> dict[str, str]:
    return secret(apiserver)["metadata"]["annotations"]  # type: ignore[index]


def fingerprint_hides(value: str, apiserver: FakeApiServer) -> None:
    noted = annotations(apiserver)[FINGERPRINT]
    assert noted == fingerprint(value, "ci", "demo-gitlab", "provider.token")
    assert value not in noted and value.removeprefix("glpat-") not in noted


async def pac_rotating_repository(
    fake: FakeGitLab, apiserver: FakeApiServer, tmp_path: Path, clock: ManualClock
) -> Session:
    """A project-token repository whose PAC Repository has token_auto_rotation: true."""
    apiserver.install_crd(UPSTREAM_CRD)  # PAC's CRD with spec.settings.gitlab.token_auto_rotation
    s = await login(fake, tmp_path / "data", project=PROJECT, clock=clock)
    s.repo = bind(s.repo, "project-token")
    obj = add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}")
    obj["spec"]["settings"] = {"gitlab": {"token_auto_rotation": True}}
    apiserver.put_object({"apiVersion": "pipelinesascode.tekton.dev/v1alpha1", **obj})
    stored = apiserver.get_object("pipelinesascode.tekton.dev", "repositories", "ci", "demo")
    assert stored["spec"]["settings"]["gitlab"]["token_auto_rotation"] is True  # type: ignore[index]
    return s


async def test_sync_adopts_the_token_pac_rotated_and_mints_nothing(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await pac_rotating_repository(fake, apiserver, tmp_path, clock)
    clusters = Clusters(str(kubeconfig))
    try:
        first = await sync(s.repo, s.store, clock, clusters)
        assert first.action == "minted" and fake.count("POST", MINT) == 1

        rotated = pac_rotates(fake, kubeconfig)
        theirs = rotated["token"]

        result = await sync(s.repo, s.store, clock, clusters)
        assert result.action == "adopted"
        assert any("PAC rotates" in w for w in result.warnings)
        assert secret_value(apiserver, "provider.token") == theirs  # PAC's value kept
        assert fake.count("POST", MINT) == 1  # nothing minted
        assert fake.count("POST", PROJECT_ROTATE) == 0 and fake.count("POST", SELF_ROTATE) == 1
        [active] = active_tokens(fake, s)
        assert active["id"] == rotated["id"]
        notes = annotations(apiserver)
        assert notes["pac-tui.dev/token-id"] == str(rotated["id"])
        assert notes["pac-tui.dev/expires-at"] == f"{rotated['expires_at']}T00:00:00Z"
        assert notes["pac-tui.dev/rotator"] == "pac"
        fingerprint_hides(theirs, apiserver)
        record = s.store.get("demo")
        assert record and record.project_token
        assert (record.project_token.token, record.project_token.token_id) == (
            theirs,
            rotated["id"],
        )
        status = repo_status(s.repo, record, clock.now())
        assert status.cluster is not None and status.cluster.rotator == "pac"
        assert status.cluster.synced and status.to_json()["cluster"]["rotator"] == "pac"
        lines = {c.name: c for c in await run_checks(s.repo, s.store, clock, clusters)}
        assert lines[ROTATION].ok and "PAC rotates the token (token_auto_rotation)" in (
            lines[ROTATION].detail
        )

        # Again, and later when the rotation is due: still PAC's; pac-tui rotates nothing.
        assert (await sync(s.repo, s.store, clock, clusters)).action == "unchanged"
        clock.advance(25 * 86400)
        due = await sync(s.repo, s.store, clock, clusters)
        assert due.action == "unchanged"
        assert any("left to PAC" in w for w in due.warnings)
        assert fake.count("POST", PROJECT_ROTATE) == 0 and fake.count("POST", SELF_ROTATE) == 1
        assert fake.count("POST", MINT) == 1
        assert secret_value(apiserver, "provider.token") == theirs
    finally:
        clusters.close()


async def test_the_refresher_adopts_pac_s_rotation_and_then_leaves_the_token_to_pac(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "project-token")
    assert fake.count("POST", MINT) == 1
    rotated = pac_rotates(fake, kubeconfig)
    refresher = Refresher(connect("other", str(kubeconfig)), "ci", config_for(s), clock)

    [outcome] = await refresher.run_once()
    assert outcome.action == "adopted" and not outcome.failed
    assert secret_value(apiserver, "provider.token") == rotated["token"]
    notes = annotations(apiserver)
    assert notes["pac-tui.dev/token-id"] == str(rotated["id"])
    assert notes["pac-tui.dev/rotator"] == "pac"  # PAC's setting unknown: a rotation was seen
    fingerprint_hides(rotated["token"], apiserver)
    assert await refresher.run_once() == []  # adopted: nothing more to do

    # 25 days on the token is due; PAC rotates it, so the refresher leaves it alone.
    clock.advance(25 * 86400)
    [left] = await refresher.run_once()
    assert left.action == "left-to-pac" and not left.failed
    assert fake.count("POST", MINT) == 1
    assert fake.count("POST", SELF_ROTATE) == 1 and fake.count("POST", PROJECT_ROTATE) == 0
    assert secret_value(apiserver, "provider.token") == rotated["token"]
    [active] = active_tokens(fake, s)
    assert active["id"] == rotated["id"]

    # The laptop agrees: it takes PAC's token and says who rotates.
    clusters = Clusters(str(kubeconfig))
    try:
        taken = await sync(s.repo, s.store, clock, clusters)
    finally:
        clusters.close()
    assert taken.action == "adopted" and fake.count("POST", MINT) == 1
    record = s.store.get("demo")
    assert record and record.project_token and record.project_token.token == rotated["token"]
    assert repo_status(s.repo, record, clock.now()).cluster.rotator == "pac"  # type: ignore[union-attr]


async def test_oauth_mode_reports_a_token_someone_else_wrote_and_does_not_write_over_it(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    cluster = connect("kind-pac", str(kubeconfig))
    body = cluster.core.read_namespaced_secret("demo-gitlab", "ci")
    body.data["provider.token"] = base64.b64encode(b"glpat-put-there-by-hand-00").decode()
    cluster.core.replace_namespaced_secret("demo-gitlab", "ci", body)

    clusters = Clusters(str(kubeconfig))
    try:
        clock.advance(3600)  # the local grant is now older than due: a sync would write it
        with pytest.raises(ForeignToken, match="pac-tui login demo"):
            await sync(s.repo, s.store, clock, clusters)
        assert secret_value(apiserver, "provider.token") == "glpat-put-there-by-hand-00"
        lines = {c.name: c for c in await run_checks(s.repo, s.store, clock, clusters)}
        assert not lines[ROTATION].ok and lines[ROTATION].fix.startswith("run: pac-tui login demo")

        refresher = Refresher(connect("other", str(kubeconfig)), "ci", config_for(s), clock)
        [outcome] = await refresher.run_once()
        assert outcome.action == "foreign" and outcome.failed
        assert secret_value(apiserver, "provider.token") == "glpat-put-there-by-hand-00"
        assert "glpat-put-there" not in outcome.message

        # A new login is the explicit act that hands the Secret back.
        again = await sync(s.repo, s.store, clock, clusters, fresh_login=True)
        assert again.action == "written"
        assert secret_value(apiserver, "provider.token") == s.tokens().access_token
    finally:
        clusters.close()


async def test_a_foreign_token_gitlab_refuses_is_replaced_by_sync_and_reported_by_the_refresher(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "project-token")
    rotated = pac_rotates(fake, kubeconfig)
    fake.tokens[rotated["id"]].revoked = True  # e.g. revoked in GitLab's settings afterwards

    refresher = Refresher(connect("other", str(kubeconfig)), "ci", config_for(s), clock)
    [outcome] = await refresher.run_once()
    assert outcome.action == "failed" and "GitLab refuses it" in outcome.message
    assert secret_value(apiserver, "provider.token") == rotated["token"]  # not replaced there
    assert fake.count("POST", MINT) == 1

    clusters = Clusters(str(kubeconfig))
    try:
        result = await sync(s.repo, s.store, clock, clusters)
    finally:
        clusters.close()
    assert result.action == "minted"
    assert any("no longer accepts it" in w for w in result.warnings)
    value = secret_value(apiserver, "provider.token")
    assert value not in (None, rotated["token"])
    [active] = active_tokens(fake, s)
    assert active["id"] == int(annotations(apiserver)["pac-tui.dev/token-id"])
    fingerprint_hides(value, apiserver)  # type: ignore[arg-type]
    status = repo_status(s.repo, s.store.get("demo"), clock.now())
    assert status.cluster is not None and status.cluster.rotator == "pac-tui"


async def test_under_its_role_the_refresher_leaves_a_due_token_to_pac_when_pac_s_setting_is_on(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await pac_rotating_repository(fake, apiserver, tmp_path, clock)
    clusters = Clusters(str(kubeconfig))
    try:
        assert (await sync(s.repo, s.store, clock, clusters)).action == "minted"
    finally:
        clusters.close()
    minted = secret_value(apiserver, "provider.token")
    apiserver.grant(PAC_TUI_USER, documents()["Role/pac-tui-refresher"]["rules"], namespace="ci")
    refresher = Refresher(connect("other", str(kubeconfig)), "ci", config_for(s), clock)
    assert await refresher.run_once() == []  # not due: nothing to say

    clock.advance(25 * 86400)
    [left] = await refresher.run_once()
    assert left.action == "left-to-pac" and "token_auto_rotation" in left.message
    [again] = await refresher.run_once()
    assert again.action == "left-to-pac" and again.quiet  # said once
    assert fake.count("POST", SELF_ROTATE) == 0 and fake.count("POST", PROJECT_ROTATE) == 0
    assert secret_value(apiserver, "provider.token") == minted
    events = apiserver.objects("", "events", "ci")
    assert [e["reason"] for e in events if e["reason"] == "LeftToPAC"] == ["LeftToPAC"]


async def test_a_leading_refresher_adopts_in_the_pass_that_first_stamps_the_secret(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "project-token")
    rotated = pac_rotates(fake, kubeconfig)
    cluster = connect("other", str(kubeconfig))
    candidate = LeaderElector(cluster, "ci", "pod-1", lease_duration=60, renew_deadline=30)
    refresher = Refresher(cluster, "ci", config_for(s), clock, elector=candidate)
    assert candidate.step()

    [outcome] = await refresher.run_once()  # its Lease stamp lands first, then the adoption
    assert outcome.action == "adopted"
    notes = annotations(apiserver)
    assert notes["pac-tui.dev/refresher-lease"] == "ci/pac-tui-refresher"
    assert notes["pac-tui.dev/token-id"] == str(rotated["id"])
    assert secret_value(apiserver, "provider.token") == rotated["token"]
    candidate.release()


async def test_pac_tui_sync_refuses_on_stderr_to_write_over_a_foreign_oauth_token(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    cluster = connect("kind-pac", str(kubeconfig))
    body = cluster.core.read_namespaced_secret("demo-gitlab", "ci")
    body.data["provider.token"] = base64.b64encode(b"glpat-put-there-by-hand-00").decode()
    cluster.core.replace_namespaced_secret("demo-gitlab", "ci", body)
    config = config_file(s, tmp_path / "config.toml")
    with config.open("a") as f:
        f.write(
            f'\n[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n\n'
            '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
        )
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(
            main, ["--config", str(config), "sync", "demo", "--kubeconfig", str(kubeconfig)]
        )
    assert code == 1 and out.getvalue() == ""
    assert "holds a token pac-tui did not write" in err.getvalue()
    assert "pac-tui login demo" in err.getvalue()
    assert "glpat-put-there" not in err.getvalue()
    assert s.tokens().access_token not in err.getvalue()
    assert secret_value(apiserver, "provider.token") == "glpat-put-there-by-hand-00"
