"""SVG snapshot of the dashboard beside a cluster: bound repositories in both modes (one in
sync, one lagging), an unbound PAC Repository, last PipelineRuns, and the token panel's Cluster
part. The discovery result is set directly (no apiserver), so the picture is deterministic.

Update only in a commit of its own, after looking at the report:
    .venv/bin/python -m pytest tests/ui/test_cluster_snapshot.py --snapshot-update
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from pac_tui.kube.repositories import PacRepository, PipelineRunStatus, SecretRef
from pac_tui.models import ClusterSync, ProjectTokenRecord
from pac_tui.ui.cluster_feed import ClusterView
from tests.ui.conftest import NOW, make_app, make_context, still, token_record

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

[[repositories]]
name = "storefront"
project = "acme/web/storefront"

[repositories.kubernetes]
context = "kind-pac"
namespace = "web"
repository = "storefront"
mode = "oauth"

[[repositories]]
name = "docs"
project = "acme/docs"
"""


def pac(namespace: str, name: str, project: str, run: PipelineRunStatus | None) -> PacRepository:
    return PacRepository(
        namespace=namespace,
        name=name,
        url=f"{URL}/{project}",
        instance=URL,
        project=project,
        provider_type="gitlab",
        user=None,
        secret=SecretRef(f"{name}-gitlab", "provider.token"),
        webhook_secret=SecretRef(f"{name}-gitlab", "webhook.secret"),
        resource_version="42",
        last_run=run,
    )


def run(name: str, status: str, ok: bool | None, minutes: int) -> PipelineRunStatus:
    at = NOW - timedelta(minutes=minutes)
    return PipelineRunStatus(name, status, ok, at if ok is not None else None, at)


def test_dashboard_with_cluster(snap_compare: Any, tmp_path: Path) -> None:
    payments = token_record(URL, 7200, 6000)
    minted = NOW - timedelta(days=3)
    payments = payments.with_(
        project_token=ProjectTokenRecord(4711, "glpat-" + "z" * 20, minted + timedelta(30), minted),
        cluster=ClusterSync(NOW - timedelta(minutes=1), minted),
    )
    storefront = token_record(URL, 7200, 3000)
    storefront = storefront.with_(
        cluster=ClusterSync(
            NOW,
            None,
            "storefront: not synced, tokens kept locally: cannot reach the cluster at "
            "https://127.0.0.1:6443 (context kind-pac) to read PAC Repository web/storefront: "
            "connection refused",
        )
    )
    ctx = make_context(
        tmp_path,
        url=URL,
        config_text=CONFIG,
        records={"payments": payments, "storefront": storefront},
    )
    ctx.auto_refresh = False
    view = ClusterView(
        repositories={
            (None, "ci/payments"): pac(
                "ci", "payments", "acme/payments/api", run("payments-x7k2p", "Succeeded", True, 12)
            ),
            (None, "ci/legacy"): pac(
                "ci", "legacy", "acme/legacy", run("legacy-9qw1c", "Failed", False, 95)
            ),
        },
        errors={
            "kind-pac": "cannot reach the cluster at https://127.0.0.1:6443 (context kind-pac)"
        },
        at=NOW,
    )

    async def with_cluster(pilot: Pilot[None]) -> None:
        pilot.app.dashboard.cluster.view = view  # type: ignore[attr-defined]
        pilot.app.dashboard.tick()  # type: ignore[attr-defined]
        await still(pilot)

    app = make_app(ctx)
    assert snap_compare(app, terminal_size=(150, 40), run_before=with_cluster)
