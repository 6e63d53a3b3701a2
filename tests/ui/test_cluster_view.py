"""The dashboard beside a cluster: PAC Repository resources, bound or not, the Cluster column,
`s` to sync, and an unreachable cluster that leaves the rest working (fake apiserver)."""

from __future__ import annotations

import base64
from pathlib import Path

from pac_tui.actions.status import State, repo_status
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_pipelinerun, add_repository
from tests.ui.conftest import NOW, make_app, make_context, token_record
from tests.ui.test_dashboard import SIZE, _plain, settle, table_rows

URL = "https://gitlab.example.com"
CONFIG = """\
[gitlab.default]
url = "{url}"
client_id = "app-id"

[[repositories]]
name = "payments"
project = "acme/payments/api"

[repositories.kubernetes]
namespace = "ci"
repository = "payments"
mode = "oauth"

[[repositories]]
name = "docs"
project = "acme/docs"
"""


def cluster_context(tmp_path: Path, kubeconfig: Path) -> AppContext:
    ctx = make_context(
        tmp_path,
        url=URL,
        config_text=CONFIG,
        records={"payments": token_record(URL, 7200, 6000), "docs": token_record(URL, 7200, 5000)},
    )
    ctx.discover_cluster = True
    ctx.kubeconfig = str(kubeconfig)
    return ctx


def seed(apiserver: FakeApiServer) -> None:
    add_repository(
        apiserver, "payments", f"{URL}/acme/payments/api", secret="payments-token", user="oauth2"
    )
    add_repository(apiserver, "legacy", f"{URL}/acme/legacy")
    add_pipelinerun(
        apiserver,
        "payments-run-1",
        "payments",
        created="2026-11-26T11:50:00Z",
        reason="Succeeded",
        status="True",
    )


async def discover(app: PacTuiApp, pilot: object) -> None:
    app.dashboard.cluster.discover()
    await settle(pilot)  # type: ignore[arg-type]


async def test_repositories_from_the_cluster_beside_configured_ones(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    seed(apiserver)
    app = make_app(cluster_context(tmp_path, kubeconfig))
    async with app.run_test(size=SIZE) as pilot:
        await discover(app, pilot)
        rows = table_rows(app)
        assert list(rows) == ["payments", "docs", "ci/legacy"]
        # The binding in the config is the intent: the discovery round wrote the Secret.
        app.dashboard.tick()
        await pilot.pause()
        rows = table_rows(app)
        assert rows["payments"]["cluster"] == "ci/payments ✔ · Succeeded"
        assert rows["docs"]["cluster"] == "—"
        assert rows["ci/legacy"]["state"] == "◌ in cluster"
        assert rows["ci/legacy"]["cluster"] == "unbound"
        stored = apiserver.get_object("", "secrets", "ci", "payments-token")
        assert stored is not None
        record = app.ctx.store.get("payments")
        assert record and record.tokens
        expected = base64.b64encode(record.tokens.access_token.encode()).decode()
        assert stored["data"]["provider.token"] == expected
        status = repo_status(app.ctx.config.repository("payments"), record, NOW)
        assert status.cluster and status.cluster.synced and status.state is State.AUTHORIZED
        panel = _plain(app.dashboard.query_one("#panel"))
        assert "payments-token · key provider.token" in panel
        assert "✔ the Secret holds the newest token" in panel
        assert "Succeeded" in panel and "payments-run-1" in panel

        # `s` syncs on demand: nothing to write now.
        writes = len(apiserver.writes())
        await pilot.press("s")
        await settle(pilot)
        assert any("payments: unchanged" in str(n.message) for n in app._notifications)
        assert len(apiserver.writes()) == writes

        # The unbound one: the panel says what it is and how to bind it; actions explain.
        await pilot.press("j", "j")
        await pilot.pause()
        panel = _plain(app.dashboard.query_one("#panel"))
        assert "ci/legacy" in panel and "Not managed" in panel
        assert 'repository = "legacy"' in panel
        await pilot.press("l")
        await pilot.pause()
        assert any("not managed by pac-tui" in str(n.message) for n in app._notifications)


async def test_an_unreachable_cluster_is_shown_and_the_rest_keeps_working(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    seed(apiserver)
    apiserver.stop()
    app = make_app(cluster_context(tmp_path, kubeconfig))
    async with app.run_test(size=SIZE) as pilot:
        await discover(app, pilot)
        rows = table_rows(app)
        assert rows["payments"]["cluster"] == "ci/payments ✖ unreachable"
        assert rows["docs"]["state"] == "● authorized"  # untouched by the cluster's trouble
        panel = _plain(app.dashboard.query_one("#panel"))
        assert "cannot reach the cluster" in panel

        await pilot.press("s")
        await settle(pilot)
        assert any("not synced, tokens kept locally" in str(n.message) for n in app._notifications)
        record = app.ctx.store.get("payments")
        assert record and record.tokens  # nothing lost

        apiserver.start()  # back: the next discovery round (a minute on) writes the Secret
        app.ctx.clock.advance(60)  # type: ignore[attr-defined]
        await discover(app, pilot)
        assert apiserver.get_object("", "secrets", "ci", "payments-token") is not None
        app.dashboard.tick()
        await pilot.pause()
        assert table_rows(app)["payments"]["cluster"] == "ci/payments ✔ · Succeeded"


async def test_a_failing_automatic_sync_backs_off_and_says_why(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    seed(apiserver)
    apiserver.deny("*", "get", "secrets", "ci")  # RBAC: the Secret cannot be read
    app = make_app(cluster_context(tmp_path, kubeconfig))
    async with app.run_test(size=SIZE) as pilot:
        await discover(app, pilot)
        secret_reads = [r for r in apiserver.requests if "/secrets/" in r.path]
        assert len(secret_reads) == 1
        app.dashboard.tick()
        await pilot.pause()
        panel = _plain(app.dashboard.query_one("#panel"))
        assert "not allowed to read Secret ci/payments-token" in panel
        assert not any("failed" in str(n.title or "") for n in app._notifications)  # quiet

        await discover(app, pilot)  # the next round: still backing off, no new attempt
        assert len([r for r in apiserver.requests if "/secrets/" in r.path]) == 1
        app.ctx.clock.advance(31)  # type: ignore[attr-defined]
        apiserver.allow_all()
        await discover(app, pilot)
        assert apiserver.get_object("", "secrets", "ci", "payments-token") is not None
