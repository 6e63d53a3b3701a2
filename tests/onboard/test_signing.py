"""`pac-tui onboard` and signed webhooks, against the fake GitLab with and without the feature."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pac_tui.core.clock import ManualClock
from pac_tui.core.config import load_config
from pac_tui.core.config.signing import signing_key
from pac_tui.webhooks.models import Verdict
from pac_tui.webhooks.receiver import Receiver
from pac_tui.webhooks.signature import sign
from tests.onboard.conftest import CONTROLLER, PROJECT, World
from tests.onboard.test_readiness import pac_tui, write_config

ONBOARD = ("onboard", "demo", "-n", "ci", "--controller-url", CONTROLLER, "--context", "kind-pac")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def relayed(world: World, config: Path, extra: str = "") -> None:
    """A config where pac-tui's receiver relays to PAC (so it is in the delivery path)."""
    write_config(world, config, extra)
    text = config.read_text()
    config.write_text(
        text.replace("[[repositories]]", '[webhook]\nrelay = "http://pac:8080"\n\n[[repositories]]')
    )


def the_hook(world: World) -> dict[str, Any]:
    (hook,) = world.project.hooks.values()
    return hook


def judge(config: Path, body: bytes, headers: dict[str, str]) -> Any:
    receiver = Receiver(load_config(config), None, ManualClock(NOW))  # type: ignore[arg-type]
    return receiver.judge({"X-Gitlab-Event": "Push Hook", **headers}, body)


def push() -> bytes:
    payload = {"object_kind": "push", "project": {"path_with_namespace": PROJECT}}
    return json.dumps({**payload, "commits": [{}], "total_commits_count": 1}).encode()


async def test_onboard_signs_the_hook_and_records_the_token(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    world.gitlab.signed_webhooks = True
    config = tmp_path / "config.toml"
    relayed(world, config)

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD)

    assert status == 0, text
    hook = the_hook(world)
    token = hook["signing_token"]
    assert token.startswith("whsec_") and len(signing_key(token)) == 32
    assert "deliveries signed (signing token set)" in text
    assert "Config: webhook_signing_token of demo written to" in text
    assert token not in text and token.removeprefix("whsec_") not in text
    repo = load_config(config).repository("demo")
    assert repo.webhook_signing_token == token and repo.webhook_secret == hook["token"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "# my pac-tui config" in config.read_text()

    # Again: nothing changes anywhere, and the token stays the one GitLab holds.
    world.gitlab.requests.clear()
    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD, "--json")
    assert status == 0, text
    report = json.loads(text)
    assert [item["action"] for item in report["items"]] == ["unchanged"] * 3
    assert report["webhook_signing_token_recorded"] is False and not report["config_updated"]
    assert "deliveries signed" in report["items"][2]["detail"]
    assert world.gitlab_writes() == 0 and the_hook(world)["signing_token"] == token
    assert token not in text

    # The receiver now requires what GitLab sends: signed with the hook's token, it passes.
    stamp = int(NOW.timestamp())
    signed = {
        "X-Gitlab-Token": hook["token"],
        "webhook-id": "idem-1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(signing_key(token), "idem-1", stamp, push()),
    }
    assert judge(config, push(), signed).verdict is Verdict.ACCEPTED
    unsigned = judge(config, push(), {"X-Gitlab-Token": hook["token"]})
    assert (
        unsigned.verdict is Verdict.REJECTED and unsigned.extra["signature"] == "missing signature"
    )


async def test_an_instance_without_signed_webhooks_is_skipped_with_a_note(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    config = tmp_path / "config.toml"
    relayed(world, config)  # the fake GitLab ignores signing_token, as an older GitLab does

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD)

    assert status == 0, text
    assert "this GitLab does not sign webhooks: it ignored the signing token" in text
    assert "warning" not in text  # nothing asked for signing: a note, not a warning
    assert "signing_token" not in the_hook(world)
    repo = load_config(config).repository("demo")
    assert repo.webhook_signing_token is None and repo.webhook_secret is not None
    delivery = judge(config, push(), {"X-Gitlab-Token": repo.webhook_secret})
    assert delivery.verdict is Verdict.ACCEPTED  # deliveries keep coming in, unsigned

    world.gitlab.requests.clear()
    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD, "--json")
    assert status == 0 and world.gitlab_writes() == 0, world.gitlab.requests


async def test_a_configured_token_an_instance_ignores_is_a_warning(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    token = "whsec_" + "QUJD" * 8  # "ABC" * 8: 24 bytes
    config = tmp_path / "config.toml"
    write_config(world, config, f'webhook_signing_token = "{token}"\n')

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD)

    assert status == 0, text
    assert "warning: GitLab ignored the hook's signing token" in text
    assert "rejects them while demo has a webhook_signing_token" in text
    assert token not in text and "QUJD" not in text


async def test_without_pac_tui_in_the_path_no_signing_token_is_set(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    world.gitlab.signed_webhooks = True
    config = tmp_path / "config.toml"
    write_config(world, config)

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD, "--json")

    assert status == 0, text
    assert "signing_token" not in the_hook(world)  # PAC ignores signatures: nothing to keep
    assert json.loads(text)["webhook_signing_token_recorded"] is False
    assert "webhook_signing_token" not in config.read_text()


async def test_a_hook_onboarded_before_gets_a_signing_token(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    world.gitlab.signed_webhooks = True
    config = tmp_path / "config.toml"
    write_config(world, config)
    assert (await pac_tui(world, tmp_path, monkeypatch, *ONBOARD))[0] == 0
    relayed(world, config, '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\n')

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD, "--dry-run")
    assert status == 0, text
    assert "would update  (hook #" in text and "signing token to set" in text
    assert "#   signing_token: REDACTED" in text
    assert "signing_token" not in the_hook(world)

    status, text = await pac_tui(world, tmp_path, monkeypatch, *ONBOARD)
    assert status == 0, text
    assert "fixed signing token set; deliveries signed" in text
    token = the_hook(world)["signing_token"]
    assert load_config(config).repository("demo").webhook_signing_token == token
    assert token not in text
