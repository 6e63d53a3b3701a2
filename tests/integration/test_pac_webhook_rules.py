"""PAC's webhook rules (its GitLab `Validate`): a delivery PAC would refuse carries no PAC event,
and one for a repository without a webhook secret says so. The real receiver on a real socket,
with the real journal behind it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import parse_config
from pac_tui.webhooks.models import Verdict
from pac_tui.webhooks.service import WebhookService
from pac_tui.webhooks.summary import MAX_LINE
from pac_tui.webhooks.summary.pac import pac_refusal

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gitlab-webhooks"
SECRET = "hook-secret-for-the-rules"
CONFIG = f"""
[gitlab.default]
url = "https://gitlab.example.com"
client_id = "app"

[[repositories]]
name = "checked"
project = "group/checked"
webhook_secret = "{SECRET}"

[[repositories]]
name = "open"
project = "group/open"
"""
PUSH = {"X-Gitlab-Event": "Push Hook", "Content-Type": "application/json"}


def push(project: str) -> bytes:
    payload = json.loads((FIXTURES / "go-gitlab/webhooks/push.json").read_bytes())
    payload["project"]["path_with_namespace"] = project
    return json.dumps(payload).encode()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[WebhookService]:
    config = parse_config(CONFIG, tmp_path / "config.toml")
    svc = WebhookService(config, tmp_path / "data", SystemClock())
    await svc.start("127.0.0.1", 0)
    yield svc
    await svc.stop()


async def deliver(service: WebhookService, body: bytes, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{service.url}hook", content=body, headers=headers)
    assert answer.status_code in (200, 401), answer.text
    return int(answer.json()["id"])


async def test_unverified_deliveries_carry_no_pac_event(service: WebhookService) -> None:
    """No webhook secret configured: pac-tui takes the delivery (nothing to check it against),
    but PAC would refuse it, with or without a token header."""
    reasons = {}
    for headers in (PUSH, {**PUSH, "X-Gitlab-Token": "anything"}):
        stored = service.journal.get(await deliver(service, push("group/open"), headers))
        assert stored is not None and stored.verdict is Verdict.UNVERIFIED
        assert stored.pac_event is None
        assert stored.summary.startswith("push") and "PAC would refuse it: " in stored.summary
        assert len(stored.summary) <= MAX_LINE
        assert "anything" not in stored.summary
        reasons[len(headers)] = stored.summary.rsplit(": ", 1)[-1]
    assert reasons == {
        len(PUSH): "no X-Gitlab-Token header",
        len(PUSH) + 1: "no webhook secret configured",
    }


async def test_verified_deliveries_keep_their_pac_event(service: WebhookService) -> None:
    ok = service.journal.get(
        await deliver(service, push("group/checked"), {**PUSH, "X-Gitlab-Token": SECRET})
    )
    assert ok is not None and ok.verdict is Verdict.ACCEPTED and ok.pac_event == "push"
    assert "PAC would refuse" not in ok.summary
    refused = service.journal.get(await deliver(service, push("group/checked"), PUSH))
    assert refused is not None and refused.verdict is Verdict.REJECTED
    assert refused.pac_event is None


def test_pac_refusal_follows_pac_validate() -> None:
    assert pac_refusal(None, "") == "no X-Gitlab-Token header"
    assert pac_refusal("s3cret", "") == "no X-Gitlab-Token header"
    assert pac_refusal(None, "x") == "no webhook secret configured"
    assert pac_refusal("", "x") == "no webhook secret configured"
    assert pac_refusal("s3cret", "x") == "the token does not match the webhook secret"
    assert pac_refusal("s3cret", "s3cret") is None
