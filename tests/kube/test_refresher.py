"""The in-cluster refresher: leader election on one Lease, refresh and rotation from the Secret
alone, failures that keep tokens, and a clean SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pac_tui.core.clock import ManualClock
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.kube.cluster import connect
from pac_tui.kube.refresher import Refresher
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import bearer_works, secret, secret_value
from tests.kube.refresher_setup import (
    NO_CONFIG,
    bound_secret,
    clock,
    config_for,
    elector,
    fake,
    free_port,
    refresher_command,
)
from tests.providers.gitlab_api import FakeGitLab, revoke_at_provider

__all__ = ["clock", "fake"]  # fixtures


async def test_two_refreshers_one_lease_refresh_once(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    old = s.tokens()
    assert old.expires_at is not None
    clock.set(old.expires_at - timedelta(minutes=5))  # due: inside the last sixth of 2 h
    before = fake.provider.token_requests("refresh_token")

    replicas = [
        Refresher(
            connect(None, str(kubeconfig)),
            "ci",
            config_for(s),
            clock,
            elector=elector(kubeconfig, name),
            interval=0.2,
        )
        for name in ("replica-a", "replica-b")
    ]
    stop = asyncio.Event()
    runs = [asyncio.create_task(r.run(stop)) for r in replicas]
    for _ in range(600):  # up to 60 s on a loaded CI; a few tenths of a second here
        await asyncio.sleep(0.1)
        if secret_value(apiserver, "provider.token") != old.access_token:
            break
    await asyncio.sleep(1.5)  # both replicas get more turns: neither may refresh again
    stop.set()
    await asyncio.gather(*runs)

    assert fake.provider.token_requests("refresh_token") == before + 1
    new = secret_value(apiserver, "provider.token")
    assert new and new != old.access_token
    assert await bearer_works(s.repo.gitlab, new) and not await bearer_works(
        s.repo.gitlab, old.access_token
    )
    assert secret_value(apiserver, "pac-tui.refresh-token") not in (None, old.refresh_token)
    lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", "pac-tui-refresher")
    assert lease is not None and not lease["spec"].get("holderIdentity")  # released on stop


def test_leader_loss_and_takeover(apiserver: FakeApiServer, kubeconfig: Path) -> None:
    a, b = elector(kubeconfig, "replica-a"), elector(kubeconfig, "replica-b", context="other")
    assert a.step() and a.leading
    assert not b.step()
    # replica-b has just seen replica-a's renewal: the lease duration counts from here (measured
    # after the calls below, a slow machine would shorten what the take-over seems to take).
    started = time.monotonic()
    assert a.holder() == "replica-a"

    # replica-a is cut off from the Lease: it stops acting within its renew deadline, and
    # replica-b takes over once the lease duration has passed without a renewal.
    apiserver.deny("kubernetes-admin", "update", "leases.coordination.k8s.io", "ci")
    took_over = None
    while time.monotonic() - started < 30:  # about 3 s (the lease duration); generous for CI
        a.step()
        if b.step():
            took_over = time.monotonic() - started
            break
        time.sleep(0.25)
    assert took_over is not None and took_over >= 2.5
    assert not a.leading
    assert b.holder() == "replica-b"

    # A clean shutdown hands the Lease over at once.
    apiserver.allow_all()
    b.release()
    assert a.step() and a.holder() == "replica-a"


async def test_rotates_a_project_token_with_itself(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "project-token")
    old = secret_value(apiserver, "provider.token")
    assert old
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", NO_CONFIG, clock)
    assert await refresher.run_once() == []  # 30 days left: nothing due

    clock.advance(24 * 86400)
    [outcome] = await refresher.run_once()
    assert (outcome.secret, outcome.action) == ("ci/demo-gitlab", "rotated")
    new = secret_value(apiserver, "provider.token")
    assert new and new != old
    async with GitLabApi.with_private_token(s.repo.gitlab, new) as api:
        assert (await project_tokens.self_info(api)).active
    async with GitLabApi.with_private_token(s.repo.gitlab, old) as api:
        with pytest.raises(GitLabApiError):
            await project_tokens.self_info(api)
    assert old not in outcome.message and new not in outcome.message


async def test_a_dead_grant_is_recorded_once_not_retried_in_a_loop(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    tokens = s.tokens()
    revoke_at_provider(fake, s)
    assert tokens.expires_at is not None
    clock.set(tokens.expires_at - timedelta(minutes=5))
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    [outcome] = await refresher.run_once()
    assert outcome.action == "needs-login" and "invalid_grant" in outcome.message
    note = secret(apiserver)["metadata"]["annotations"]["pac-tui.dev/last-error"]
    assert "pac-tui login" in note and tokens.refresh_token not in note  # type: ignore[operator]
    requests = fake.provider.token_requests("refresh_token")
    assert await refresher.run_once() == []  # backing off
    assert fake.provider.token_requests("refresh_token") == requests
    assert secret_value(apiserver, "provider.token") == tokens.access_token  # nothing lost


async def test_a_confidential_app_missing_from_the_config_is_explained(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    tokens = s.tokens()
    assert tokens.expires_at is not None
    clock.set(tokens.expires_at - timedelta(minutes=5))
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", NO_CONFIG, clock)
    [outcome] = await refresher.run_once()
    assert outcome.action == "failed"
    assert "client_secret" in outcome.message and "pac-tui-config" in outcome.message
    assert secret_value(apiserver, "provider.token") == tokens.access_token


async def test_a_token_that_could_not_be_written_is_written_on_the_next_pass(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    old = s.tokens()
    assert old.expires_at is not None
    clock.set(old.expires_at - timedelta(minutes=5))
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    # The dry run before the refresh passes; the write after it fails once.
    apiserver.fail_next(
        "PUT", r"/secrets/demo-gitlab$", 503, reason="ServiceUnavailable", dry_run=False
    )
    [failed] = await refresher.run_once()
    assert failed.action == "failed" and "will retry" in failed.message
    assert secret_value(apiserver, "provider.token") == old.access_token
    refreshes = fake.provider.token_requests("refresh_token")

    [written] = await refresher.run_once()
    assert written.action == "refreshed" and "after an earlier failure" in written.message
    assert fake.provider.token_requests("refresh_token") == refreshes  # no second refresh
    new = secret_value(apiserver, "provider.token")
    assert new != old.access_token and await bearer_works(s.repo.gitlab, new)  # type: ignore[arg-type]


def test_refresher_command_stops_cleanly_on_sigterm(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    command, env = refresher_command(
        tmp_path,
        kubeconfig,
        None,
        "--identity",
        "pod-1",
        "--lease-duration",
        "3",
        "--renew-deadline",
        "2",
        "--retry-period",
        "1",
        "--metrics-address",
        "127.0.0.1",
        "--metrics-port",
        str(free_port()),
    )
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60  # the process starts first: seconds on a loaded CI
        holder = None
        while time.monotonic() < deadline and holder != "pod-1":
            time.sleep(0.2)
            lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", "pac-tui-refresher")
            holder = lease["spec"].get("holderIdentity") if lease else None
        assert holder == "pod-1"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "took the refresher lease" in err and "refresher stopped" in err
    lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", "pac-tui-refresher")
    assert not lease["spec"].get("holderIdentity")
