"""SVG snapshot of the walkthrough's "Connect to PAC" step after a Preview: frozen clock, no
timers, no animations, a fixed kubeconfig context list and a fixed dry-run result (the onboarding
itself is tested against the fakes in test_onboarding_pac.py and tests/onboard).

Update only in a commit of its own, after looking at it:
    .venv/bin/python -m pytest tests/ui/test_onboarding_pac_snapshot.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from pac_tui.kube.cluster import ContextInfo
from pac_tui.onboard import Item, OnboardResult
from pac_tui.ui.screens.onboarding.pac import ConnectStep
from pac_tui.ui.screens.onboarding.screen import OnboardingScreen
from tests.ui.conftest import make_app, still, three_repo_context

SIZE = (140, 50)
CONTROLLER = "https://pac.example.com/hook"
CONTEXTS = [
    ContextInfo("kind-pac", "kind-pac", "ci", current=True),
    ContextInfo("prod", "prod-eu-1", "default", current=False),
]
REPOSITORY_YAML = """\
apiVersion: pipelinesascode.tekton.dev/v1alpha1
kind: Repository
metadata:
  name: payments
  namespace: ci
spec:
  url: https://gitlab.example.com/acme/payments/api
"""
PREVIEW = OnboardResult(
    repo="payments",
    dry_run=True,
    items=(
        Item("Repository", "ci/payments", "would create"),
        Item(
            "Secret",
            "ci/payments-gitlab",
            "would create",
            "provider token: a project access token minted now (scope api)",
        ),
        Item(
            "Hook",
            CONTROLLER,
            "would create",
            "push, tag push, merge request, note events; SSL verification on",
        ),
    ),
    warnings=(),
    repository_yaml=REPOSITORY_YAML,
    secret_yaml="kind: Secret\n",
    hook={"url": CONTROLLER, "push_events": True, "token": "REDACTED"},
)


async def fixed_preview(*args: Any, **kw: Any) -> OnboardResult:
    return PREVIEW


async def previewed(pilot: Pilot[None]) -> None:
    screen = OnboardingScreen(pilot.app.ctx, connect="payments")  # type: ignore[attr-defined]
    await pilot.app.push_screen(screen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen.query_one("#ob-pac-controller", Input).value = CONTROLLER
    screen.query_one(ConnectStep).run(dry_run=True)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await still(pilot)


def test_connect_to_pac_step_after_a_preview(
    snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pac_tui.kube.cluster.list_contexts", lambda kubeconfig=None: CONTEXTS)
    monkeypatch.setattr("pac_tui.onboard.onboard", fixed_preview)
    ctx = three_repo_context(tmp_path)
    ctx.auto_refresh = False
    assert snap_compare(make_app(ctx), terminal_size=SIZE, run_before=previewed)
