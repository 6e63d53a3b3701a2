"""Discovery of PAC Repository resources through the official client, and `pac-tui repos`."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from pac_tui.cli import main
from pac_tui.core.errors import ClusterRefused, ClusterUnavailable, UsageError
from pac_tui.kube.cluster import connect, list_contexts
from pac_tui.kube.repositories import list_repositories, split_project_url
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_pipelinerun, add_repository


def test_split_project_url() -> None:
    assert split_project_url("https://gitlab.com/group/sub/app") == (
        "https://gitlab.com",
        "group/sub/app",
    )
    assert split_project_url("https://host/gitlab/group/app.git", "https://host/gitlab/") == (
        "https://host/gitlab",
        "group/app",
    )
    # A provider URL on another host does not cut the path.
    assert split_project_url("https://a.example/g/p", "https://b.example") == (
        "https://a.example",
        "g/p",
    )


def test_contexts_and_namespaces(kubeconfig: Path) -> None:
    contexts = {c.name: c for c in list_contexts(str(kubeconfig))}
    assert contexts["kind-pac"].current and contexts["kind-pac"].namespace == "ci"
    assert contexts["other"].namespace == "default"
    assert connect(None, str(kubeconfig)).context == "kind-pac"
    assert connect("other", str(kubeconfig)).namespace == "default"
    with pytest.raises(UsageError, match=r"no context 'nope'.*kind-pac, other"):
        connect("nope", str(kubeconfig))


def test_lists_repositories_with_secrets_and_last_run(
    apiserver: FakeApiServer, kubeconfig: Path
) -> None:
    add_repository(apiserver, "demo", "https://gitlab.example.com/group/sub/project")
    add_repository(
        apiserver,
        "self-managed",
        "https://git.corp/gitlab/team/app",
        provider_url="https://git.corp/gitlab",
        secret="corp-token",
        key="token",
        user="oauth2",
    )
    add_repository(apiserver, "nosecret", "https://gitlab.com/a/b", secret=None)
    add_repository(apiserver, "elsewhere", "https://gitlab.com/x/y", namespace="default")
    add_pipelinerun(
        apiserver,
        "demo-old",
        "demo",
        created="2026-11-26T10:00:00Z",
        reason="Failed",
        status="False",
    )
    add_pipelinerun(
        apiserver,
        "demo-new",
        "demo",
        created="2026-11-26T11:00:00Z",
        reason="Succeeded",
        status="True",
    )

    cluster = connect(None, str(kubeconfig))
    repos = {r.name: r for r in list_repositories(cluster, "ci")}
    assert set(repos) == {"demo", "self-managed", "nosecret"}
    demo = repos["demo"]
    assert (demo.instance, demo.project) == ("https://gitlab.example.com", "group/sub/project")
    assert demo.secret and (demo.secret.name, demo.secret.key) == ("demo-gitlab", "provider.token")
    assert demo.webhook_secret and demo.webhook_secret.key == "webhook.secret"
    assert demo.last_run and demo.last_run.name == "demo-new" and demo.last_run.succeeded
    corp = repos["self-managed"]
    assert (corp.instance, corp.project, corp.user) == (
        "https://git.corp/gitlab",
        "team/app",
        "oauth2",
    )
    assert corp.secret and corp.secret.key == "token"
    assert repos["nosecret"].secret is None and repos["nosecret"].last_run is None

    everywhere = list_repositories(cluster, None)
    assert [r.key for r in everywhere] == [
        "ci/demo",
        "ci/nosecret",
        "ci/self-managed",
        "default/elsewhere",
    ]


def test_without_tekton_the_runs_are_empty(apiserver: FakeApiServer, kubeconfig: Path) -> None:
    apiserver.uninstall_crd("pipelineruns.tekton.dev")
    add_repository(apiserver, "demo", "https://gitlab.com/g/p")
    [repo] = list_repositories(connect(None, str(kubeconfig)), "ci")
    assert repo.last_run is None


def run_cli(*args: str, tmp_path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text(
            '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "x"\n\n'
            '[[repositories]]\nname = "demo"\nproject = "group/sub/project"\n\n'
            '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\n'
        )
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), *args])
    return code, out.getvalue(), err.getvalue()


def test_repos_command_marks_bound_ones(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    add_repository(apiserver, "demo", "https://gitlab.example.com/group/sub/project")
    add_repository(apiserver, "other", "https://gitlab.example.com/group/other")
    code, out, err = run_cli("repos", "--kubeconfig", str(kubeconfig), "--json", tmp_path=tmp_path)
    assert (code, err) == (0, "")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["demo"]["bound"] == "demo (project-token)"
    assert rows["other"]["bound"] is None
    assert rows["demo"]["secret"] == {"name": "demo-gitlab", "key": "provider.token"}

    code, out, _ = run_cli("repos", "--kubeconfig", str(kubeconfig), tmp_path=tmp_path)
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "PROJECT",
        "GITLAB",
        "SECRET",
        "BOUND",
        "LAST",
        "RUN",
    ]
    assert "demo (project-token)" in first and second.split()[1] == "other"


def test_missing_crd_rbac_and_unreachable_are_explained(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    cluster = connect("other", str(kubeconfig))
    apiserver.deny("*", "list", "repositories.pipelinesascode.tekton.dev", "default")
    with pytest.raises(ClusterRefused, match=r"not allowed to list PAC Repositories.*forbidden"):
        list_repositories(cluster, "default")

    apiserver.uninstall_crd("repositories.pipelinesascode.tekton.dev")
    with pytest.raises(
        ClusterRefused, match="Pipelines-as-Code is not installed in context kind-pac"
    ):
        list_repositories(connect(None, str(kubeconfig)), "ci")
    code, _, err = run_cli("repos", "--kubeconfig", str(kubeconfig), tmp_path=tmp_path)
    assert code == 1 and "Pipelines-as-Code is not installed" in err

    apiserver.stop()
    started = time.monotonic()
    with pytest.raises(
        ClusterUnavailable,
        match=r"cannot reach the cluster at http://127.0.0.1:.*connection refused",
    ):
        list_repositories(connect(None, str(kubeconfig)), "ci")
    # Refused at once; two connect timeouts (2 x 5 s) would take 10 s. Generous for a loaded CI.
    assert time.monotonic() - started < 9
    code, _, err = run_cli("repos", "--kubeconfig", str(kubeconfig), tmp_path=tmp_path)
    assert code == 1 and "cannot reach the cluster" in err and "Traceback" not in err


def test_in_cluster_configuration_is_used_inside_a_pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No kubeconfig and KUBERNETES_SERVICE_HOST set: the pod's service account, as kubectl."""
    from kubernetes.config import incluster_config

    from pac_tui.kube import cluster as cluster_module

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token")
    (account / "ca.crt").write_text("not used before a request")
    (account / "namespace").write_text("pipelines\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(account / "ca.crt"))
    monkeypatch.setattr(cluster_module, "SERVICE_ACCOUNT_NAMESPACE", account / "namespace")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the official loader reads os.environ itself
    monkeypatch.delenv("KUBECONFIG", raising=False)

    inside = connect(env=env)
    assert (inside.context, inside.namespace) == ("in-cluster", "pipelines")
    assert inside.server == "https://10.96.0.1:443"

    (account / "token").unlink()
    with pytest.raises(UsageError, match="cannot use the in-cluster service account"):
        connect(env=env)
