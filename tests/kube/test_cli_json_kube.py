"""`--json` on `sync` and `refresher --once`: one JSON document on stdout, errors in the objects,
never a token. The real CLI, the fake apiserver through the official client, the fake GitLab
with the real OAuth provider behind it."""

from __future__ import annotations

import json
import subprocess
import webbrowser
from pathlib import Path

import pytest

from pac_tui.cli.kube import REFRESHER_KEYS, SYNC_KEYS
from pac_tui.core.clock import ManualClock
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import secret_value
from tests.kube.refresher_setup import (
    bound_secret,
    clock,
    config_file,
    fake,
    make_due,
    refresher_command,
)
from tests.providers.gitlab_api import FakeGitLab, _authorize
from tests.unit.cli_run import config_text, pac_tui

__all__ = ["clock", "fake"]  # fixtures


async def test_sync_json_puts_each_result_or_error_in_its_object(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    config = tmp_path / "config.toml"
    config.write_text(config_text(s, bound=True))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    data = s.store.path.parent
    tokens = s.tokens()

    status, out, err = await pac_tui(monkeypatch, config, data, "sync", "demo", "--json")
    assert status == 0, err
    (obj,) = json.loads(out)
    assert list(obj) == list(SYNC_KEYS)
    assert obj["repo"] == "demo" and obj["action"] == "unchanged" and obj["error"] is None
    assert obj["secret"] == "ci/demo-gitlab" and obj["warnings"] == []

    apiserver.stop()  # the cluster is gone
    for argv in (["sync", "demo", "--json"], ["sync", "--all", "--json"]):
        status, out2, err = await pac_tui(monkeypatch, config, data, *argv)
        assert status == 1
        (obj,) = json.loads(out2)
        assert obj["repo"] == "demo" and obj["action"] is None and obj["error"]
        assert f"pac-tui: demo: {obj['error']}" in err
        out += out2 + err
    for value in (tokens.access_token, tokens.refresh_token):
        assert value and value not in out


async def test_login_json_of_a_bound_repository_says_what_became_of_its_secret(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    config = tmp_path / "config.toml"
    config.write_text(config_text(s, bound=True))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    provider = fake.provider
    monkeypatch.setattr(
        webbrowser, "open", lambda url: _authorize(url, provider.username, provider.password)
    )
    data = s.store.path.parent
    printed = ""
    held = {s.tokens().access_token}

    status, out, err = await pac_tui(monkeypatch, config, data, "login", "demo", "--json")
    assert status == 0, err
    (obj,) = json.loads(out)
    assert obj["sync"]["action"] == "written" and obj["sync"]["secret"] == "ci/demo-gitlab"
    assert obj["sync_error"] is None and obj["error"] is None
    assert secret_value(apiserver, "provider.token") == s.tokens().access_token
    printed, held = printed + out + err, held | {s.tokens().access_token}

    apiserver.stop()  # the login holds; the Secret stays behind, and the document says why
    status, out, err = await pac_tui(monkeypatch, config, data, "login", "demo", "--json")
    assert status == 0, err
    (obj,) = json.loads(out)
    assert obj["sync"] is None and "cannot reach the cluster" in obj["sync_error"]
    assert obj["error"] is None and obj["expires_at"]
    printed, held = printed + out + err, held | {s.tokens().access_token}
    for value in held:
        assert value not in printed


def test_refresher_once_json_has_one_object_per_secret(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    import asyncio

    s = asyncio.run(bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth"))
    old = s.tokens()
    make_due(apiserver)  # the command runs on the system clock
    config = config_file(s, tmp_path / "refresher.toml")
    command, env = refresher_command(tmp_path, kubeconfig, config, "--once", "--json")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (obj,) = json.loads(done.stdout)
    assert list(obj) == list(REFRESHER_KEYS)
    assert obj["secret"] == "ci/demo-gitlab" and obj["action"] == "refreshed"
    assert obj["error"] is None
    new = secret_value(apiserver, "provider.token")
    for value in (old.access_token, old.refresh_token, new):
        assert value and value not in done.stdout + done.stderr

    apiserver.stop()  # no Secret could be listed: an empty document, the reason on stderr
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == [] and "cannot reach the cluster" in done.stderr
    assert done.returncode == 1  # a pass that could not list the Secrets did nothing: say so

    command, env = refresher_command(tmp_path, kubeconfig, config, "--json")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--json goes with --once" in done.stderr
