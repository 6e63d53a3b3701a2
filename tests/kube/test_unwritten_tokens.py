"""A token GitLab issued never dies with the process that holds it: the Secret is proven writable
before GitLab is asked, and a token not written yet is retried whether or not the replica leads,
written before the Lease is given back on SIGTERM, and before `--once` exits."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import connect
from pac_tui.kube.refresher import Refresher
from tests.kube.fake_apiserver import ADMIN_USER, FakeApiServer, WriteEvent
from tests.kube.pac import bearer_works, secret, secret_value
from tests.kube.refresher_setup import (
    bound_secret,
    clock,
    config_file,
    config_for,
    elector,
    fake,
    make_due,
    refresher_command,
)
from tests.providers.gitlab_api import FakeGitLab, Session

__all__ = ["clock", "fake"]  # fixtures

SECRET_PATH = r"/secrets/demo-gitlab$"


def secret_puts(apiserver: FakeApiServer) -> int:
    """Real (not dry-run) writes of the Secret that reached the apiserver, failed or not."""
    return len(
        [
            r
            for r in apiserver.requests
            if r.method == "PUT" and r.path.endswith("/secrets/demo-gitlab") and not r.dry_run
        ]
    )


async def until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait for `condition`; the deadline only bounds a failure (generous for a loaded CI)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def ends_with_one_working_refresh(
    fake: FakeGitLab, apiserver: FakeApiServer, s: Session, old: str, refreshes: int
) -> None:
    assert fake.provider.token_requests("refresh_token") == refreshes + 1
    new = secret_value(apiserver, "provider.token")
    assert new and new != old
    assert await bearer_works(s.repo.gitlab, new)


async def due_oauth_secret(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> tuple[Session, str]:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    tokens = s.tokens()
    assert tokens.expires_at is not None
    clock.set(tokens.expires_at - timedelta(minutes=5))
    return s, tokens.access_token


async def test_a_token_not_written_before_a_restart_is_written_on_sigterm(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s, old = await due_oauth_secret(fake, apiserver, kubeconfig, tmp_path, clock)
    refreshes = fake.provider.token_requests("refresh_token")
    apiserver.fail_next("PUT", SECRET_PATH, 503, dry_run=False, times=10_000)
    first = Refresher(
        connect(None, str(kubeconfig)),
        "ci",
        config_for(s),
        clock,
        elector=elector(kubeconfig, "replica-a"),
        interval=0.2,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    await until(lambda: secret_puts(apiserver) >= 2)  # refreshed, and its write failed twice

    stop.set()  # SIGTERM (a rollout) while the token is still unwritten; the API comes back
    await asyncio.sleep(0)
    apiserver.clear_failures()
    await asyncio.wait_for(running, 30)
    lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", "pac-tui-refresher")
    assert lease is not None and not lease["spec"].get("holderIdentity")  # written, then released

    restarted = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    assert [o for o in await restarted.run_once() if o.action != "adopted"] == []
    await ends_with_one_working_refresh(fake, apiserver, s, old, refreshes)


async def test_a_replica_that_lost_the_lease_still_writes_its_token(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s, old = await due_oauth_secret(fake, apiserver, kubeconfig, tmp_path, clock)
    refreshes = fake.provider.token_requests("refresh_token")
    apiserver.fail_next("PUT", SECRET_PATH, 503, dry_run=False, times=10_000)
    a = Refresher(
        connect(None, str(kubeconfig)),
        "ci",
        config_for(s),
        clock,
        elector=elector(kubeconfig, "replica-a"),
        interval=0.2,
        retry_cap=0.5,
    )
    b = Refresher(
        connect("other", str(kubeconfig)),
        "ci",
        config_for(s),
        clock,
        elector=elector(kubeconfig, "replica-b", context="other"),
        interval=0.2,
    )
    stops = asyncio.Event(), asyncio.Event()
    run_a = asyncio.create_task(a.run(stops[0]))
    await until(lambda: secret_puts(apiserver) >= 1)  # replica-a refreshed; its write failed
    # The same API trouble costs replica-a its Lease; replica-b takes over.
    apiserver.deny(ADMIN_USER, "update", "leases.coordination.k8s.io", "ci")
    run_b = asyncio.create_task(b.run(stops[1]))

    def holder() -> str | None:
        lease = apiserver.get_object("coordination.k8s.io", "leases", "ci", "pac-tui-refresher")
        return (lease or {}).get("spec", {}).get("holderIdentity")

    await until(lambda: holder() == "replica-b")
    apiserver.clear_failures()  # the API is back
    # replica-a writes the token it holds (waited for: a fixed time may not do on a slow CI) ...
    await until(lambda: secret_value(apiserver, "provider.token") != old)
    await asyncio.sleep(5)  # ... and replica-b's first passes, after its settle time, leave it
    for stop in stops:
        stop.set()
    await asyncio.wait_for(asyncio.gather(run_a, run_b), 30)
    await ends_with_one_working_refresh(fake, apiserver, s, old, refreshes)


@pytest.mark.parametrize("refusal", ["rbac", "admission"])
async def test_a_secret_that_cannot_be_written_is_not_refreshed(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    refusal: str,
) -> None:
    s, old = await due_oauth_secret(fake, apiserver, kubeconfig, tmp_path, clock)
    refreshes = fake.provider.token_requests("refresh_token")
    if refusal == "rbac":
        apiserver.deny(ADMIN_USER, "update", "secrets", "ci")
    else:
        message = 'admission webhook "secrets.policy.example" denied the request: frozen'
        apiserver.fail_next("PUT", SECRET_PATH, 400, message=message, times=10)
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)

    [outcome] = await refresher.run_once()

    assert outcome.action == "unwritable" and "GitLab was not asked" in outcome.message
    assert fake.provider.token_requests("refresh_token") == refreshes  # GitLab never asked
    assert secret_value(apiserver, "provider.token") == old and await bearer_works(
        s.repo.gitlab, old
    )
    notes = secret(apiserver)["metadata"]["annotations"]  # type: ignore[index]
    assert "cannot be written" in notes["pac-tui.dev/last-error"]
    [event] = [e for e in apiserver.objects("", "events", "ci") if e["type"] == "Warning"]
    assert event["reason"] == "SecretNotWritable"
    assert event["involvedObject"]["kind"] == "Repository"
    assert event["involvedObject"]["name"] == "demo"
    assert b'outcome="unwritable"' in refresher.metrics.render()
    assert old not in str(event) and old not in outcome.message


async def test_a_secret_deleted_meanwhile_is_reported_not_created(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s, _ = await due_oauth_secret(fake, apiserver, kubeconfig, tmp_path, clock)

    def delete_first(event: WriteEvent) -> None:
        if event.plural == "secrets" and event.verb == "update":
            apiserver.delete_object("", "secrets", "ci", "demo-gitlab")

    apiserver.before_write(delete_first)
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    start = len(apiserver.requests)
    outcomes = await refresher.run_once()
    apiserver.before_write(None)

    assert [o.action for o in outcomes] == ["gone"]
    assert "no longer exists" in outcomes[0].message
    calls = [apiserver.call_of(r) for r in apiserver.requests[start:]]
    assert not [c for c in calls if c and c[0] == "create" and c[2] == "secrets"]
    assert secret(apiserver) is None and len(refresher.pending) == 0
    [event] = [e for e in apiserver.objects("", "events", "ci") if e["type"] == "Warning"]
    assert event["reason"] == "SecretDeleted" and event["involvedObject"]["name"] == "demo"


def test_once_retries_a_failed_write_before_it_exits(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s, old = asyncio.run(due_oauth_secret(fake, apiserver, kubeconfig, tmp_path, clock))
    make_due(apiserver)  # the command runs on the system clock
    refreshes = fake.provider.token_requests("refresh_token")
    apiserver.fail_next("PUT", SECRET_PATH, 503, dry_run=False, times=2)
    command, env = refresher_command(
        tmp_path, kubeconfig, config_file(s, tmp_path / "refresher.toml"), "--once"
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "ci/demo-gitlab: refreshed" in done.stdout
    asyncio.run(ends_with_one_working_refresh(fake, apiserver, s, old, refreshes))
    assert old not in done.stdout + done.stderr
