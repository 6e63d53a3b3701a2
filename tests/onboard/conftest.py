"""Onboarding and readiness run against the fake GitLab (tests/providers/gitlab_api.py, real OAuth
tokens from django-oauth-toolkit) and the fake apiserver (tests/kube/fake_apiserver.py) through a
kubeconfig, exactly as the CLI would reach GitLab and a kind cluster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pac_tui.core.config import KubernetesBinding, Repository
from pac_tui.kube.cluster import Clusters
from tests.kube.conftest import apiserver, kubeconfig  # noqa: F401 (fixtures used here)
from tests.kube.fake_apiserver import FakeApiServer
from tests.providers.gitlab_api import FakeGitLab, FakeProject, Session, login

CONTROLLER = "https://pac.example.com/hook"
PROJECT = "group/sub/project"


@dataclass
class World:
    """One logged-in repository, a fake GitLab project, and a cluster reached by kubeconfig."""

    gitlab: FakeGitLab
    project: FakeProject
    session: Session
    apiserver: FakeApiServer
    clusters: Clusters
    kubeconfig: Path

    def bound(self, mode: str = "project-token", **kw: object) -> Repository:
        binding = KubernetesBinding(
            namespace="ci", repository="demo", mode=mode, context="kind-pac"
        )
        return replace(self.session.repo, kubernetes=replace(binding, **kw))  # type: ignore[arg-type]

    def gitlab_writes(self) -> int:
        return sum(
            n for key, n in self.gitlab.requests.items() if not key.startswith(("GET ", "HEAD "))
        )


@pytest.fixture
async def world(
    gitlab: FakeGitLab,
    apiserver: FakeApiServer,  # noqa: F811
    kubeconfig: Path,  # noqa: F811
    tmp_path: Path,
) -> Iterator[World]:
    gitlab.reset()
    project = gitlab.add_project(PROJECT, access_level=40, tekton=["push.yaml", "pull.yaml"])
    session = await login(gitlab, tmp_path / "data", project=PROJECT)
    gitlab.requests.clear()
    clusters = Clusters(str(kubeconfig))
    try:
        yield World(gitlab, project, session, apiserver, clusters, kubeconfig)
    finally:
        clusters.close()
