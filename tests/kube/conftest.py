"""A running fake apiserver (tests/kube/fake_apiserver.py) and a kubeconfig that points at it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube.fake_apiserver import ADMIN_TOKEN, ADMIN_USER, FakeApiServer, load_crd

# The second identity: pac-tui's own ServiceAccount, as the in-cluster refresher runs.
PAC_TUI_USER = "system:serviceaccount:ci:pac-tui"
PAC_TUI_TOKEN = "pac-tui-token"

# PAC's real Repository CRD: a copy under tests/fixtures if there is one, else the shared one next
# to the checkout.
_CRD_FILE = "pac-crd/300-repositories.yaml"
_CRD_CANDIDATES = (
    Path(__file__).parents[1] / "fixtures" / _CRD_FILE,
    Path(__file__).parents[3] / "shared" / "fixtures" / _CRD_FILE,
)


@functools.cache
def repository_crd() -> dict[str, Any]:
    """PAC's ``repositories.pipelinesascode.tekton.dev`` CRD, parsed once per session."""
    for candidate in _CRD_CANDIDATES:
        if candidate.is_file():
            return load_crd(candidate)
    raise FileNotFoundError(f"no PAC Repository CRD at any of {_CRD_CANDIDATES}")


def pipelinerun_crd() -> dict[str, Any]:
    """A small ``pipelineruns.tekton.dev`` CRD: Tekton's names and versions, an open schema."""
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema = {"openAPIV3Schema": open_object}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pipelineruns.tekton.dev"},
        "spec": {
            "group": "tekton.dev",
            "scope": "Namespaced",
            "names": {
                "kind": "PipelineRun",
                "plural": "pipelineruns",
                "singular": "pipelinerun",
                "shortNames": ["pr", "prs"],
                "categories": ["tekton", "tekton-pipelines"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": schema,
                    "subresources": {"status": {}},
                },
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": False,
                    "schema": schema,
                    "subresources": {"status": {}},
                },
            ],
        },
    }


@pytest.fixture
def apiserver() -> Iterator[FakeApiServer]:
    """A running fake apiserver with the PAC Repository and Tekton PipelineRun CRDs installed,
    namespaces ``default`` and ``ci``, and two users: the admin and pac-tui's ServiceAccount."""
    server = FakeApiServer(users={ADMIN_USER: ADMIN_TOKEN, PAC_TUI_USER: PAC_TUI_TOKEN})
    server.install_crd(repository_crd())
    server.install_crd(pipelinerun_crd())
    for namespace in ("default", "ci"):
        server.put_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    with server:
        yield server
    assert not server.internal_errors, "the fake apiserver failed on a request (a bug in the fake)"


@pytest.fixture
def kubeconfig(apiserver: FakeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig for `apiserver`: contexts ``kind-pac`` (admin, namespace ``ci``, current) and
    ``other`` (pac-tui's ServiceAccount, namespace ``default``). Nothing global is changed."""
    return apiserver.kubeconfig(
        tmp_path / "kubeconfig",
        contexts={"kind-pac": (ADMIN_TOKEN, "ci"), "other": (PAC_TUI_TOKEN, "default")},
        current="kind-pac",
    )
