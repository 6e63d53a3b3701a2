"""One unreadable managed Secret (any tenant's, with -A) never stops the refresher for the others:
it is reported (a log line naming it, an Event) and skipped, and nobody overwrites it."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from pac_tui.core.clock import ManualClock
from pac_tui.kube.cluster import connect
from pac_tui.kube.refresher import Refresher
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import bearer_works, secret_value
from tests.kube.refresher_setup import bound_secret, clock, config_for, fake
from tests.providers.gitlab_api import FakeGitLab

__all__ = ["clock", "fake"]  # fixtures

PLANTED = "glpat-planted-value-0123456789"


def broken_secret(
    apiserver: FakeApiServer, name: str, namespace: str, **notes: str
) -> dict[str, object]:
    annotations = {
        "pac-tui.dev/token-key": "provider.token",
        "pac-tui.dev/mode": "project-token",
        "pac-tui.dev/issued-at": "2026-01-01T00:00:00Z",
        "pac-tui.dev/expires-at": "2026-01-02T00:00:00Z",  # long expired: due if readable
        "pac-tui.dev/gitlab-url": "https://gitlab.example.com",
        **{f"pac-tui.dev/{key.replace('_', '-')}": value for key, value in notes.items()},
    }
    return apiserver.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "pac-tui"},
                "annotations": annotations,
            },
            "stringData": {"provider.token": PLANTED},
        }
    )


@pytest.mark.parametrize("namespace", ["ci", None], ids=["namespace", "all-namespaces"])
async def test_an_unreadable_secret_is_reported_and_the_healthy_one_refreshed(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    namespace: str | None,
) -> None:
    s = await bound_secret(fake, apiserver, kubeconfig, tmp_path, clock, "oauth")
    old = s.tokens()
    assert old.expires_at is not None
    clock.set(old.expires_at - timedelta(minutes=5))
    tenant = "default" if namespace is None else "ci"  # with -A, another tenant's namespace
    broken_secret(apiserver, "bad-time", tenant, issued_at="yesterday")
    broken_secret(apiserver, "bad-id", tenant, token_id="²")  # "²".isdigit() is True
    before = fake.provider.token_requests("refresh_token")

    refresher = Refresher(connect(None, str(kubeconfig)), namespace, config_for(s), clock)
    with caplog.at_level(logging.INFO):
        outcomes = {o.secret: o for o in await refresher.run_once()}

    assert outcomes["ci/demo-gitlab"].action == "refreshed"
    new = secret_value(apiserver, "provider.token")
    assert new and new != old.access_token and await bearer_works(s.repo.gitlab, new)
    assert fake.provider.token_requests("refresh_token") == before + 1
    for name, annotation in (("bad-time", "issued-at"), ("bad-id", "token-id")):
        outcome = outcomes[f"{tenant}/{name}"]
        assert outcome.action == "malformed" and f"pac-tui.dev/{annotation}" in outcome.message
        assert f"{tenant}/{name}" in caplog.text
        events = apiserver.objects("", "events", tenant)
        [event] = [e for e in events if e["involvedObject"]["name"] == name]
        assert event["type"] == "Warning" and event["reason"] == "UnreadableSecret"
        assert event["involvedObject"]["kind"] == "Secret"  # no Repository reads it
    assert PLANTED not in caplog.text
    assert not any(PLANTED in str(e) for e in apiserver.objects("", "events", None))
    assert not [r for r in apiserver.writes() if "/secrets/bad-" in r.path]  # left alone

    # The next pass reports them again quietly, and still refreshes nothing else by mistake.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pac_tui.kube.refresher"):
        again = await refresher.run_once()
    assert {o.action for o in again} == {"malformed"}
    assert "bad-time" not in caplog.text  # logged once, not every pass
