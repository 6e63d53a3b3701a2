"""What the refresher tests share: a repository logged in on a workstation and synced into its
Secret, the refresher's config, electors on the fake apiserver, and the `refresher` command."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pac_tui.core.clock import ManualClock
from pac_tui.core.config import Config
from pac_tui.kube.cluster import Clusters, connect
from pac_tui.kube.lease import LeaderElector
from pac_tui.kube.sync import sync
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_repository, bind, secret
from tests.providers.gitlab_api import FakeGitLab, Session, login

PROJECT = "group/sub/project"
NO_CONFIG = Config(path=None, gitlab={}, repositories=())


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(PROJECT)
    return gitlab


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


async def bound_secret(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    mode: str,
) -> Session:
    """A repository logged in on a workstation and synced into its Secret, as `pac-tui sync`."""
    s = await login(fake, tmp_path / "data", project=PROJECT, clock=clock)
    s.repo = bind(s.repo, mode)
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}", user="oauth2")
    clusters = Clusters(str(kubeconfig))
    try:
        await sync(s.repo, s.store, clock, clusters)
    finally:
        clusters.close()
    return s


def config_for(s: Session) -> Config:
    """The refresher's config as deploy/ mounts it: the application with its client secret."""
    return Config(path=None, gitlab={"default": s.repo.gitlab}, repositories=())


def config_file(s: Session, path: Path) -> Path:
    """The same config as a file, for the `refresher` command."""
    app = s.repo.gitlab
    path.write_text(
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n'
    )
    return path


def elector(kubeconfig: Path, identity: str, context: str = "kind-pac") -> LeaderElector:
    return LeaderElector(
        connect(context, str(kubeconfig)),
        "ci",
        identity,
        lease_duration=3,
        renew_deadline=2,
        retry_period=1,
    )


def make_due(apiserver: FakeApiServer, name: str = "demo-gitlab") -> None:
    """Move the Secret's recorded expiry to 5 minutes from now (wall clock), so a refresher with
    the system clock finds the grant due; the provider's own expiry is left as it is."""
    obj = secret(apiserver, name)
    assert obj is not None
    soon = datetime.now(UTC) + timedelta(minutes=5)
    obj["metadata"]["annotations"]["pac-tui.dev/expires-at"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **obj})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refresher_command(
    tmp_path: Path, kubeconfig: Path, config: Path | None, *extra: str
) -> tuple[list[str], dict[str, Any]]:
    """`pac-tui refresher` on the fake apiserver (namespace ci), and its environment."""
    if config is None:
        config = tmp_path / "config.toml"
        config.write_text("")
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(tmp_path / "refresher-data")}
    env.pop("PAC_TUI_CONFIG", None)
    command = [
        sys.executable,
        "-m",
        "pac_tui",
        "--config",
        str(config),
        "refresher",
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        "ci",
        *extra,
    ]
    return command, env
