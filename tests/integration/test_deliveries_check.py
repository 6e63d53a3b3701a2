"""`pac-tui check` shows a PAC hook GitLab disabled after repeated failures, and the fix works:
a test event that the controller accepts re-enables the hook."""

from __future__ import annotations

from pac_tui.gitlab.hook_events import send_test_event
from pac_tui.onboard import onboard
from pac_tui.onboard.check import HOOK, run_checks
from tests.gitlab.test_hook_events import Receiver, receiver  # noqa: F401 (a fixture)
from tests.kube.conftest import apiserver, kubeconfig  # noqa: F401 (fixtures)
from tests.onboard.conftest import PROJECT, World, world  # noqa: F401 (a fixture)


async def _hook_line(setup: World) -> tuple[bool, str, str]:
    s = setup.session
    lines = await run_checks(setup.bound(), s.store, s.clock, setup.clusters)
    line = next(line for line in lines if line.name == HOOK)
    return line.ok, line.detail, line.fix


async def test_a_disabled_hook_and_its_fix(world: World, receiver: Receiver) -> None:  # noqa: F811
    s = world.session
    await onboard(world.bound(), s.store, s.clock, world.clusters, controller_url=receiver.url)
    [hook_id] = world.project.hooks
    assert (await _hook_line(world))[0]

    world.project.hooks[hook_id].update(
        alert_status="temporarily_disabled", disabled_until="2026-12-03T15:00:00Z"
    )
    ok, detail, fix = await _hook_line(world)
    assert not ok
    assert detail == (
        f"hook #{hook_id} → {receiver.url}: disabled for now by GitLab after repeated failures "
        "(temporarily_disabled until 2026-12-03 15:00 UTC)"
    )
    assert fix.startswith("see why with: pac-tui deliveries demo --failed; once fixed, send a test")

    world.project.hooks[hook_id].update(alert_status="disabled", disabled_until=None)
    ok, detail, _ = await _hook_line(world)
    assert not ok and detail.endswith(
        "disabled for good by GitLab after repeated failures (disabled)"
    )

    async with s.api() as api:  # the fix: a test event the controller accepts
        await send_test_event(api, PROJECT, hook_id, "push_events")
    assert receiver.seen and (await _hook_line(world))[0]
