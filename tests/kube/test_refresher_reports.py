"""What the refresher tells people: Events on the PAC Repository (found as `kubectl describe`
finds them), and `/metrics`, `/healthz`, `/readyz`; never a token value."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import httpx
from kubernetes import client, config

from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import connect
from pac_tui.kube.probes import ProbeServer
from pac_tui.kube.refresher import Refresher
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import secret_value
from tests.kube.refresher_setup import bound_secret, clock, config_for, elector, fake
from tests.providers.gitlab_api import FakeGitLab

__all__ = ["clock", "fake"]  # fixtures


async def test_kubectl_describe_repository_shows_the_sync_and_the_refresh(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    old = s.tokens()
    assert old.expires_at is not None
    clock.set(old.expires_at - timedelta(minutes=5))
    refresher = Refresher(connect(None, str(kubeconfig)), "ci", config_for(s), clock)
    assert [o.action for o in await refresher.run_once()] == ["refreshed"]

    repository = apiserver.get_object("pipelinesascode.tekton.dev", "repositories", "ci", "demo")
    assert repository is not None
    uid = repository["metadata"]["uid"]
    api = config.new_client_from_config(config_file=str(kubeconfig), context="kind-pac")
    try:
        found = client.CoreV1Api(api).list_namespaced_event(
            "ci",
            field_selector=(
                f"involvedObject.name=demo,involvedObject.namespace=ci,"
                f"involvedObject.kind=Repository,involvedObject.uid={uid}"
            ),
        )
    finally:
        api.close()
    by_reason = {e.reason: e for e in found.items}
    assert set(by_reason) == {"TokenSynced", "TokenRefreshed"}
    assert by_reason["TokenSynced"].reporting_component == "pac-tui"
    refreshed = by_reason["TokenRefreshed"]
    assert refreshed.type == "Normal" and refreshed.reporting_component == "pac-tui-refresher"
    assert refreshed.involved_object.api_version == "pipelinesascode.tekton.dev/v1alpha1"
    new = secret_value(apiserver, "provider.token")
    refresh = secret_value(apiserver, "pac-tui.refresh-token")
    values = {old.access_token, old.refresh_token, new, refresh}
    for event in apiserver.objects("", "events", None):
        assert not any(value and value in str(event) for value in values)


async def test_metrics_and_probes(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path, clock: ManualClock
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    old = s.tokens()
    assert old.expires_at is not None
    clock.set(old.expires_at - timedelta(minutes=5))
    refresher = Refresher(
        connect(None, str(kubeconfig)),
        "ci",
        config_for(s),
        clock,
        elector=elector(kubeconfig, "pod-1"),
        interval=0.2,
    )
    probes = ProbeServer(refresher.health, refresher.metrics)
    port = await probes.start("127.0.0.1", 0)
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as web:
            assert (await web.get("/healthz")).status_code == 200
            assert (await web.get("/readyz")).status_code == 503  # no answer from the apiserver yet
            running = asyncio.create_task(refresher.run(stop))
            refreshed = 'outcome="refreshed",secret="demo-gitlab"} 1.0'
            metrics = ""
            for _ in range(300):  # the pass writes the Secret, then counts its outcome
                await asyncio.sleep(0.1)
                if secret_value(apiserver, "provider.token") != old.access_token:
                    metrics = (await web.get("/metrics")).text
                    if refreshed in metrics:
                        break
            assert (await web.get("/readyz")).status_code == 200
            stop.set()
            await asyncio.wait_for(running, 30)
            after = (await web.get("/metrics")).text
    finally:
        await probes.stop()

    expiry = re.search(
        r'^pac_tui_token_expiry_seconds\{mode="oauth",namespace="ci",secret="demo-gitlab"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert expiry is not None and 7000 < float(expiry[1]) <= 7200  # the new grant, from the Secret
    assert (
        'pac_tui_refresher_outcomes_total{namespace="ci",outcome="refreshed",secret="demo-gitlab"}'
        " 1.0" in metrics
    )
    assert "pac_tui_refresher_leader 1.0" in metrics
    assert "pac_tui_refresher_unwritten_tokens 0.0" in metrics
    assert "pac_tui_refresher_leader 0.0" in after  # released on stop
    new = secret_value(apiserver, "provider.token")
    assert new and new not in metrics and old.access_token not in metrics
