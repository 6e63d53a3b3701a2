"""The token fingerprint: every token pac-tui writes into a Secret is noted as a keyed hash, and a
token someone else put there reads as foreign. Real sync over the fake apiserver and fake GitLab."""

from __future__ import annotations

import base64
from pathlib import Path

from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import Clusters, connect
from pac_tui.kube.fingerprint import FINGERPRINT, fingerprint, written_by_pac_tui
from pac_tui.kube.secrets import read_secret
from pac_tui.kube.sync import sync
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import secret, secret_value
from tests.kube.refresher_setup import bound_secret, clock, fake
from tests.providers.gitlab_api import FakeGitLab

__all__ = ["clock", "fake"]  # fixtures


def test_the_fingerprint_is_keyed_by_the_secret_s_place() -> None:
    token = "glpat-abcdefghijklmnopqrst"
    one = fingerprint(token, "ci", "demo-gitlab", "provider.token")
    assert one.startswith("v1:") and token not in one and token[6:] not in one
    assert one == fingerprint(token, "ci", "demo-gitlab", "provider.token")
    assert one != fingerprint(token, "ci", "other-gitlab", "provider.token")
    assert one != fingerprint(token, "prod", "demo-gitlab", "provider.token")
    assert written_by_pac_tui(one, token, "ci", "demo-gitlab", "provider.token") is True
    assert written_by_pac_tui(one, token + "x", "ci", "demo-gitlab", "provider.token") is False
    assert written_by_pac_tui(None, token, "ci", "demo-gitlab", "provider.token") is None
    assert written_by_pac_tui("v9:00", token, "ci", "demo-gitlab", "provider.token") is None


async def test_every_written_token_is_fingerprinted_and_a_replaced_one_reads_foreign(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    for mode in ("oauth", "project-token"):
        if secret(apiserver) is not None:
            apiserver.delete_object("", "secrets", "ci", "demo-gitlab")
        await bound_secret(fake, apiserver, kubeconfig, tmp_path / mode, clock, mode)
        value = secret_value(apiserver, "provider.token")
        assert value
        noted = secret(apiserver)["metadata"]["annotations"][FINGERPRINT]  # type: ignore[index]
        assert noted == fingerprint(value, "ci", "demo-gitlab", "provider.token")
        assert value not in noted and value[-12:] not in noted
        cluster = connect("kind-pac", str(kubeconfig))
        stored = read_secret(cluster, "ci", "demo-gitlab", "provider.token")
        assert stored is not None and stored.ours is True and not stored.foreign

        # Someone writes another value into the key PAC reads, leaving the annotations alone.
        body = cluster.core.read_namespaced_secret("demo-gitlab", "ci")
        body.data["provider.token"] = base64.b64encode(b"glpat-someone-else-0000").decode()
        cluster.core.replace_namespaced_secret("demo-gitlab", "ci", body)
        stored = read_secret(cluster, "ci", "demo-gitlab", "provider.token")
        assert stored is not None and stored.foreign


async def test_a_secret_written_before_fingerprints_is_stamped_on_the_next_sync(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "project-token")
    obj = secret(apiserver)
    assert obj is not None
    del obj["metadata"]["annotations"][FINGERPRINT]
    apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **obj})
    cluster = connect("kind-pac", str(kubeconfig))
    stored = read_secret(cluster, "ci", "demo-gitlab", "provider.token")
    assert stored is not None and stored.ours is None and not stored.foreign

    clusters = Clusters(str(kubeconfig))
    try:
        result = await sync(s.repo, s.store, clock, clusters)
    finally:
        clusters.close()
    assert result.action == "written"
    stored = read_secret(cluster, "ci", "demo-gitlab", "provider.token")
    assert stored is not None and stored.ours is True
