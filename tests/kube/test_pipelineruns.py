"""The PipelineRuns PAC created for a Repository, read by PAC's labels through the client."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pac_tui.core.errors import ClusterRefused
from pac_tui.kube.cluster import connect
from pac_tui.kube.pipelineruns import clean_label_value, list_pipelineruns
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac_pipelineruns import add_pac_pipelinerun

SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def test_clean_label_value_as_pac() -> None:
    assert clean_label_value("Merge Request") == "Merge_Request"
    assert clean_label_value("group/sub") == "group-sub"
    assert clean_label_value(" -x- ") == "x"
    assert len(clean_label_value("a" * 80)) == 62


def test_runs_of_one_repository_newest_first(apiserver: FakeApiServer, kubeconfig: Path) -> None:
    add_pac_pipelinerun(
        apiserver, "app-on-push-abcde", "app", sha=SHA, event_type="push",
        created="2026-12-03T10:00:05Z",
    )  # fmt: skip
    add_pac_pipelinerun(
        apiserver, "app-on-mr-fghij", "app", sha=SHA, event_type="Merge Request",
        created="2026-12-03T10:02:00Z", original="on-merge-request", reason="Failed",
        status="False",
    )  # fmt: skip
    add_pac_pipelinerun(
        apiserver, "app-running", "app", sha="0" * 40, event_type="retest-comment",
        created="2026-12-03T10:03:00Z", reason="Running", status="Unknown",
    )  # fmt: skip
    add_pac_pipelinerun(  # another Repository in the same namespace
        apiserver, "other-on-push", "other", sha=SHA, event_type="push",
        created="2026-12-03T10:04:00Z",
    )  # fmt: skip
    cluster = connect(None, str(kubeconfig))
    runs = list_pipelineruns(cluster, "ci", "app")
    assert [r.name for r in runs] == ["app-running", "app-on-mr-fghij", "app-on-push-abcde"]
    running, failed, passed = runs
    assert failed.event_type == "Merge Request"  # the annotation, not the cleaned label
    assert failed.original_name == "on-merge-request" and failed.state == "failed"
    assert (failed.outcome.status, failed.outcome.succeeded) == ("Failed", False)
    assert passed.sha == SHA and passed.outcome.succeeded is True and passed.state == "completed"
    assert passed.created_at == datetime(2026, 12, 3, 10, 0, 5, tzinfo=UTC)
    assert running.outcome.succeeded is None and running.state == "started"
    assert passed.to_json()["pipelinerun"] == "on-push"
    assert list_pipelineruns(cluster, "default", "app") == []


def test_without_tekton_and_without_rights(apiserver: FakeApiServer, kubeconfig: Path) -> None:
    add_pac_pipelinerun(
        apiserver, "app-on-push", "app", sha=SHA, event_type="push", created="2026-12-03T10:00:00Z"
    )
    apiserver.deny("kubernetes-admin", "list", "pipelineruns.tekton.dev", "ci")
    cluster = connect(None, str(kubeconfig))
    with pytest.raises(ClusterRefused, match="list the PipelineRuns of Repository ci/app"):
        list_pipelineruns(cluster, "ci", "app")
    apiserver.allow_all()
    apiserver.uninstall_crd("pipelineruns.tekton.dev")
    assert list_pipelineruns(cluster, "ci", "app") == []
