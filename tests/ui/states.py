"""The deterministic states the snapshot tests pin and `script/screenshots` pictures.

Each state is an app plus the keys that bring it to the state, built on a frozen clock with no
timers, animations or network.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from pac_tui.core.models import ClusterSync, ProjectTokenRecord, TokenRecord
from pac_tui.kube.repositories import PacRepository, PipelineRunStatus, SecretRef
from pac_tui.oauth.device import DeviceAuthorization
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.cluster import ClusterView
from pac_tui.webhooks.journal import Journal
from pac_tui.webhooks.models import Delivery, Verdict
from pac_tui.webhooks.service import journal_path
from pac_tui.webhooks.summary import summarize
from tests.ui.conftest import NOW, make_app, make_context, still, three_repo_context, token_record

SIZE = (140, 36)
AUTHORIZE_URL = (
    "https://gitlab.example.com/oauth/authorize?response_type=code&client_id=app-id"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&scope=api"
    "&state=snapshot-state&code_challenge=snapshot-challenge&code_challenge_method=S256"
)


@dataclass(frozen=True)
class State:
    app: PacTuiApp
    press: tuple[str, ...] = ()
    before: Callable[[Pilot[None]], Awaitable[None]] = still  # runs after the keys are pressed


def _three(tmp_path: Path) -> AppContext:
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    return ctx


def dashboard(tmp_path: Path) -> State:
    """Three repositories: authorized (1h 40m left), expiring (4 min left), needs login."""
    return State(make_app(_three(tmp_path)))


def token_panel(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("down",))


def login_modal(tmp_path: Path) -> State:
    ctx = _three(tmp_path)

    async def waiting_login(repo: Any, store: Any, clock: Any, **kw: Any) -> TokenRecord:
        """Shows a fixed URL and waits, so the picture does not depend on ports or randomness."""
        kw["on_authorize_url"](AUTHORIZE_URL)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx.login = waiting_login
    ctx.open_browser = None
    return State(make_app(ctx), ("down", "down", "l"))


DEVICE_CODE = DeviceAuthorization(
    device_code="snapshot-device-code",
    user_code="WDJB-MJHT",
    verification_uri="https://gitlab.example.com/oauth/device",
    verification_uri_complete="https://gitlab.example.com/oauth/device?user_code=WDJB-MJHT",
    expires_at=NOW + timedelta(seconds=299),
    interval=5,
)


def device_login_modal(tmp_path: Path) -> State:
    """The login dialog switched to the device login (`d`): a fixed code, URL and expiry."""
    ctx = _three(tmp_path)

    async def waiting_login(repo: Any, store: Any, clock: Any, **kw: Any) -> TokenRecord:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def waiting_device_login(repo: Any, store: Any, clock: Any, **kw: Any) -> TokenRecord:
        kw["on_code"](DEVICE_CODE)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx.login = waiting_login
    ctx.device_login = waiting_device_login
    ctx.open_browser = None
    return State(make_app(ctx), ("down", "down", "l", "d"))


def help_screen(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("question_mark",))


def revoke_confirmation(tmp_path: Path) -> State:
    return State(make_app(_three(tmp_path)), ("x",))


def dashboard_with_events(tmp_path: Path) -> State:
    """The three repositories and a journal of real deliveries: accepted, rejected, malformed,
    a merge request and a /retest comment, at fixed times."""
    ctx = _three(tmp_path)
    journal = Journal(journal_path(ctx.store.data_dir))
    fixtures = Path(__file__).parents[1] / "fixtures" / "gitlab-webhooks"
    push = json.loads((fixtures / "go-gitlab/webhooks/push.json").read_bytes())
    push["project"]["path_with_namespace"] = "acme/payments/api"
    mr = json.loads((fixtures / "go-gitlab/webhooks/merge_request.json").read_bytes())
    mr["project"]["path_with_namespace"] = "acme/web/storefront"
    note = json.loads((fixtures / "go-gitlab/webhooks/note_merge_request.json").read_bytes())
    note["project"]["path_with_namespace"] = "acme/web/storefront"
    note["object_attributes"]["note"] = "/retest"
    rows = [
        ("Push Hook", push, Verdict.ACCEPTED, "payments"),
        ("Merge Request Hook", mr, Verdict.UNVERIFIED, "storefront"),
        ("Note Hook", note, Verdict.UNVERIFIED, "storefront"),
        ("Push Hook", push, Verdict.REJECTED, "payments"),
        ("Push Hook", None, Verdict.MALFORMED, None),
    ]

    async def fill() -> None:
        async with journal:
            for i, (kind, payload, verdict, repo) in enumerate(rows):
                summary = summarize(kind, payload) if payload else None
                await journal.append(
                    Delivery(
                        received_at=NOW - timedelta(seconds=50 - 10 * i),
                        kind=kind,
                        verdict=verdict,
                        summary=summary.line if summary else "malformed delivery (not JSON)",
                        headers={"X-Gitlab-Event": kind},
                        body=json.dumps(payload).encode() if payload else b"{oops",
                        repo=repo,
                        project=summary.project if summary else None,
                        pac_event=summary.pac_event if summary else None,
                    )
                )

    asyncio.run(fill())
    return State(make_app(ctx))


def onboarding(tmp_path: Path) -> State:
    """Nothing configured: the walkthrough opens at its first step."""
    return State(make_app(make_context(tmp_path)))


CLUSTER_URL = "https://gitlab.example.com"
CLUSTER_CONFIG = """\
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


def _pac(namespace: str, name: str, project: str, run: PipelineRunStatus) -> PacRepository:
    return PacRepository(
        namespace=namespace,
        name=name,
        url=f"{CLUSTER_URL}/{project}",
        instance=CLUSTER_URL,
        project=project,
        provider_type="gitlab",
        user=None,
        secret=SecretRef(f"{name}-gitlab", "provider.token"),
        webhook_secret=SecretRef(f"{name}-gitlab", "webhook.secret"),
        resource_version="42",
        last_run=run,
    )


def _run(name: str, status: str, ok: bool | None, minutes: int) -> PipelineRunStatus:
    at = NOW - timedelta(minutes=minutes)
    return PipelineRunStatus(name, status, ok, at if ok is not None else None, at)


def dashboard_with_cluster(tmp_path: Path) -> State:
    """Beside a cluster: a project-token repository in sync with its last run, an oauth one whose
    cluster is unreachable, an unbound Repository resource. The discovery result is set directly
    (no apiserver), so the picture is deterministic."""
    minted = NOW - timedelta(days=3)
    payments = token_record(CLUSTER_URL, 7200, 6000).with_(
        project_token=ProjectTokenRecord(4711, "glpat-" + "z" * 20, minted + timedelta(30), minted),
        cluster=ClusterSync(NOW - timedelta(minutes=1), minted),
    )
    storefront = token_record(CLUSTER_URL, 7200, 3000).with_(
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
        url=CLUSTER_URL,
        config_text=CLUSTER_CONFIG,
        records={"payments": payments, "storefront": storefront},
    )
    ctx.auto_refresh = False
    view = ClusterView(
        repositories={
            (None, "ci/payments"): _pac(
                "ci", "payments", "acme/payments/api", _run("payments-x7k2p", "Succeeded", True, 12)
            ),
            (None, "ci/legacy"): _pac(
                "ci", "legacy", "acme/legacy", _run("legacy-9qw1c", "Failed", False, 95)
            ),
        },
        errors={"kind-pac": "cannot reach the cluster at https://127.0.0.1:6443 (kind-pac)"},
        at=NOW,
    )

    async def with_cluster(pilot: Pilot[None]) -> None:
        pilot.app.dashboard.cluster.view = view  # type: ignore[attr-defined]
        # What a discovery round's ClusterDiscovered does, without the syncs it may start.
        pilot.app.dashboard.reload()  # type: ignore[attr-defined]
        await still(pilot)

    return State(make_app(ctx), before=with_cluster)


STATES: dict[str, Callable[[Path], State]] = {
    "dashboard": dashboard,
    "token-panel": token_panel,
    "login-modal": login_modal,
    "device-login-modal": device_login_modal,
    "help": help_screen,
    "dashboard-with-events": dashboard_with_events,
    "revoke-confirmation": revoke_confirmation,
    "onboarding": onboarding,
    "dashboard-with-cluster": dashboard_with_cluster,
}
