"""Refresh when things go wrong: a race between processes, a provider that is down, a dead grant."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from filelock import FileLock

from tests.integration.conftest import Harness
from tests.providers.proxy import proxy


def _set_expires_in(store: Path, seconds: int) -> None:
    data = json.loads(store.read_text())
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    data["repositories"]["demo"]["tokens"]["expires_at"] = when.isoformat()
    store.write_text(json.dumps(data))


# `pac-tui ARGS` that first leaves a file named MARKER.PID when it opens LOCK (an audit hook:
# os.open raises the "open" event), so a test knows it reached the lock.
AT_THE_LOCK = """
import os, runpy, sys
lock, marker = sys.argv.pop(1), sys.argv.pop(1)
def seen(event, args):
    if event == "open" and args and str(args[0]) == lock:
        open(f"{marker}.{os.getpid()}", "w").close()
sys.addaudithook(seen)
runpy.run_module("pac_tui", run_name="__main__", alter_sys=True)
"""


def test_two_processes_refreshing_at_once_refresh_once(harness: Harness) -> None:
    provider = harness.provider
    harness.login()
    before = provider.token_requests("refresh_token")
    lock_path = harness.data_dir / "tokens.json.lock"
    marker = harness.root / "at-the-lock"
    lock = FileLock(lock_path, thread_local=False)
    with lock:
        # Both processes start and read the store, then queue on the lock we hold. Waited for,
        # not slept on: two processes can take seconds to start on a loaded CI machine.
        command = harness.command("refresh", "demo")
        watched = [command[0], "-c", AT_THE_LOCK, str(lock_path), str(marker), *command[3:]]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        procs = [subprocess.Popen(watched, env=harness.env(), **pipes) for _ in range(2)]
        deadline = time.monotonic() + 60
        while len(list(marker.parent.glob(f"{marker.name}.*"))) < 2:
            assert time.monotonic() < deadline, "the refreshes never reached the store's lock"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        assert all(p.poll() is None for p in procs)
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        harness.outputs += [out, err]
        assert proc.returncode == 0, err
    outs = sorted(out for out, _ in results)
    assert "already refreshed by another pac-tui process" in outs[0]
    assert "demo: refreshed" in outs[1]
    assert provider.token_requests("refresh_token") == before + 1
    final = harness.tokens()
    assert provider.is_active(final["access_token"])
    assert provider.is_active(final["refresh_token"])


def test_only_expiring_tokens_are_refreshed(harness: Harness) -> None:
    provider = harness.provider
    harness.login()
    before = provider.token_requests("refresh_token")
    done = harness.run("refresh", "--all", "--if-expiring-within", "600")
    assert done.returncode == 0 and "not refreshed, expires in 1h 59m" in done.stdout
    assert provider.token_requests("refresh_token") == before
    _set_expires_in(harness.store_path, 60)
    procs = [harness.popen("refresh", "demo", "--if-expiring-within", "600") for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        harness.outputs += [out, err]
        assert proc.returncode == 0, err
    assert provider.token_requests("refresh_token") == before + 1
    assert harness.status()["expires_in"] > 7000


def test_provider_down_or_failing_keeps_the_tokens(harness: Harness) -> None:
    port = urlsplit(harness.provider.url).port
    assert port
    with proxy(port) as gateway:
        harness.write_config(url=f"http://127.0.0.1:{gateway.server_address[1]}")
        harness.login()
        stored = harness.store_path.read_bytes()
        for mode, words in (("down", "cannot reach"), ("502", "answered HTTP 502")):
            gateway.mode = mode
            done = harness.run("refresh", "demo")
            assert done.returncode == 1
            assert words in done.stderr
            assert (
                json.loads(harness.store_path.read_bytes())["repositories"]["demo"]["tokens"]
                == json.loads(stored)["repositories"]["demo"]["tokens"]
            )
            row = harness.status()
            assert row["state"] == "authorized"
            assert words in row["message"]
        gateway.mode = "forward"
        done = harness.run("refresh", "demo")
        assert done.returncode == 0, done.stderr
        row = harness.status()
        assert row["state"] == "authorized" and row["message"] is None


def test_invalid_grant_turns_to_needs_login_without_retrying(harness: Harness) -> None:
    provider, app = harness.provider, harness.app
    tokens = harness.login()
    data = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    data["client_id"] = app.client_id
    if app.client_secret:
        data["client_secret"] = app.client_secret
    assert httpx.post(f"{provider.url}/oauth/revoke", data=data, timeout=30).status_code == 200
    before = provider.token_requests("refresh_token")

    done = harness.run("refresh", "demo")
    assert done.returncode == 1
    assert "invalid_grant" in done.stderr and "pac-tui login demo" in done.stderr
    row = harness.status()
    assert row["state"] == "needs-login" and "invalid_grant" in row["message"]
    assert provider.token_requests("refresh_token") == before + 1

    again = harness.run("refresh", "demo")
    assert again.returncode == 1 and "pac-tui login demo" in again.stderr
    assert provider.token_requests("refresh_token") == before + 1, "never retry a dead grant"
    done = harness.run("refresh", "--all")
    assert done.returncode == 0 and "skipped" in done.stdout


def test_login_with_the_provider_down_fails_fast(harness: Harness) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    harness.write_config(url=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    done = harness.run("login", "demo")
    assert done.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}" in done.stderr
    # Far under the 180 s wait for a browser (generous: a process alone can take seconds to
    # start on a loaded CI machine).
    assert time.monotonic() - started < 60
    assert not harness.browser_out.exists()
    assert not harness.store_path.exists()
