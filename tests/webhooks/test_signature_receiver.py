"""Signed webhooks through the real receiver on a real socket, the real journal and the relay."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from pac_tui.cli.main import main
from pac_tui.core.clock import ManualClock
from pac_tui.core.config import parse_config
from pac_tui.core.config.signing import new_signing_token, signing_key
from pac_tui.webhooks.models import Verdict
from pac_tui.webhooks.service import WebhookService
from pac_tui.webhooks.signature import sign
from tests.unit.test_relay import Target, eventually, serve
from tests.unit.test_smee import gosmee_message, hold_open, open_stream, send, smee_message
from tests.unit.test_smee import serve as serve_channel
from tests.webhooks.conftest import CONFIG, SECRET, fixture

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TOKEN = new_signing_token()  # the "checked" repository's (mike/diaspora)
KEY = signing_key(TOKEN)
# The real payload as GitLab's client library records it, bytes as they are: never re-serialized.
PUSH = fixture("go-gitlab/webhooks/push.json")
SIGNED_CONFIG = CONFIG.replace(
    f'webhook_secret = "{SECRET}"\n',
    f'webhook_secret = "{SECRET}"\nwebhook_signing_token = "{TOKEN}"\n',
)


def gitlab_headers(
    body: bytes = PUSH, *, key: bytes = KEY, at: int | None = None, msg: str = "idem-1"
) -> dict[str, str]:
    """What GitLab sends from a hook with a secret token and a signing token."""
    stamp = int(NOW.timestamp()) if at is None else at
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/19.0.0",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": SECRET,
        "Idempotency-Key": msg,
        "webhook-id": msg,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(key, msg, stamp, body),
    }


@pytest.fixture
async def signed(tmp_path: Path) -> AsyncIterator[WebhookService]:
    config = parse_config(SIGNED_CONFIG, tmp_path / "config.toml")
    assert config.repository("checked").signs_webhooks
    svc = WebhookService(config, tmp_path / "data", ManualClock(NOW))
    await svc.start("127.0.0.1", 0)
    yield svc
    await svc.stop()


async def post(service: WebhookService, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{service.url}hook", content=body, headers=headers)


async def test_a_signed_real_payload_is_accepted_and_journaled(signed: WebhookService) -> None:
    answer = await post(signed, PUSH, gitlab_headers())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": answer.json()["id"], "verdict": "accepted"}
    stored = signed.journal.get(answer.json()["id"])
    assert stored is not None and stored.verdict is Verdict.ACCEPTED
    assert stored.repo == "checked" and stored.pac_event == "push" and stored.body == PUSH
    assert "signature" not in stored.extra and "rejected" not in stored.summary


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("tampered body", "bad signature"),
        ("wrong key", "bad signature"),
        ("stale timestamp", "stale timestamp"),
        ("future timestamp", "future timestamp"),
        ("no signature header", "missing signature"),
        ("no headers at all", "missing signature"),
        ("word for a timestamp", "malformed timestamp"),
    ],
)
async def test_a_bad_signature_is_a_401_that_says_which(
    signed: WebhookService, case: str, why: str
) -> None:
    body, headers = PUSH, gitlab_headers()
    now = int(NOW.timestamp())
    if case == "tampered body":
        body = PUSH.replace(b'"ref": "refs/heads/master"', b'"ref": "refs/heads/evil"')
        assert body != PUSH
    elif case == "wrong key":
        headers = gitlab_headers(key=signing_key(new_signing_token()))
    elif case == "stale timestamp":
        headers = gitlab_headers(at=now - 301)  # signed with the right key, 5 min 1 s ago
    elif case == "future timestamp":
        headers = gitlab_headers(at=now + 301)
    elif case == "no signature header":
        del headers["webhook-signature"]
    elif case == "no headers at all":
        headers = {k: v for k, v in headers.items() if not k.startswith("webhook-")}
    else:
        headers["webhook-timestamp"] = "yesterday"
    answer = await post(signed, body, headers)
    assert answer.status_code == 401, answer.text
    assert answer.json() == {"id": answer.json()["id"], "verdict": "rejected", "error": why}
    stored = signed.journal.get(answer.json()["id"])
    assert stored is not None and stored.verdict is Verdict.REJECTED and stored.pac_event is None
    assert stored.extra["signature"] == why
    assert f"· rejected: {why}" in stored.summary
    if case == "no signature header":
        assert stored.summary.endswith("(no webhook-signature)")


async def test_the_token_is_still_checked_on_a_signed_delivery(signed: WebhookService) -> None:
    headers = {**gitlab_headers(), "X-Gitlab-Token": "not the secret"}
    answer = await post(signed, PUSH, headers)
    assert answer.status_code == 401
    assert answer.json()["verdict"] == "rejected" and "error" not in answer.json()


async def test_an_unsigned_repository_ignores_signature_headers(signed: WebhookService) -> None:
    payload = json.loads(PUSH)
    payload["project"]["path_with_namespace"] = "jsmith/example"  # "open": no signing token
    body = json.dumps(payload).encode()
    headers = {**gitlab_headers(), "webhook-signature": "v1,bm9wZQ=="}
    answer = await post(signed, body, headers)
    assert answer.status_code == 200 and answer.json()["verdict"] == "unverified"


async def test_several_signatures_and_an_asymmetric_one(signed: WebhookService) -> None:
    headers = gitlab_headers()
    other = sign(signing_key(new_signing_token()), "idem-1", int(NOW.timestamp()), PUSH)
    asymmetric = "v1a," + base64.b64encode(bytes(64)).decode()
    headers["webhook-signature"] = f"{asymmetric} {other} {headers['webhook-signature']}"
    answer = await post(signed, PUSH, headers)
    assert answer.status_code == 200 and answer.json()["verdict"] == "accepted"
    headers["webhook-signature"] = f"{asymmetric} {other}"
    headers["Idempotency-Key"] = "idem-2"
    assert (await post(signed, PUSH, headers)).status_code == 401


async def test_the_signing_token_is_in_no_journal_byte_log_or_output(
    signed: WebhookService,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        await post(signed, PUSH, gitlab_headers(msg="ok")),
        await post(signed, PUSH + b" ", gitlab_headers(msg="tampered")),
        await post(signed, PUSH, gitlab_headers(msg="old", at=int(NOW.timestamp()) - 3600)),
    ]
    assert [a.status_code for a in answers] == [200, 401, 401]
    config = tmp_path / "config.toml"
    config.write_text(SIGNED_CONFIG)
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    assert main(["--config", str(config), "events", "--json"]) == 0
    assert main(["--config", str(config), "events"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"verdict": "rejected"') == 2 and "stale timestamp" in out
    await signed.stop()  # every journal byte on disk (WAL checkpointed)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert b"stale timestamp" in stored and b"bad signature" in stored
    seen = stored + (out + err + caplog.text + "".join(a.text for a in answers)).encode()
    for secret in (TOKEN.encode(), TOKEN.removeprefix("whsec_").encode(), KEY):
        assert secret not in seen


async def test_an_accepted_signed_delivery_reaches_pac_with_its_signature(tmp_path: Path) -> None:
    target = Target()
    async with serve(target.handle) as url:
        config = parse_config(SIGNED_CONFIG, tmp_path / "config.toml")
        svc = WebhookService(config, tmp_path / "data", ManualClock(NOW), relay_url=url)
        await svc.start("127.0.0.1", 0)
        try:
            headers = gitlab_headers()
            assert (await post(svc, PUSH, headers)).status_code == 200
            await eventually(lambda: len(target.requests) == 1)
        finally:
            await svc.stop()
    sent, body = target.requests[0]
    assert body == PUSH
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "X-Gitlab-Token"):
        assert sent[name] == headers[name]


async def test_through_gosmee_the_signature_holds_through_smee_io_it_cannot(
    tmp_path: Path,
) -> None:
    """gosmee carries GitLab's exact bytes; smee.io re-encodes the parsed body, so a signature
    over the original bytes no longer matches: that delivery is a bad signature, said plainly."""
    exact, reencoded = gitlab_headers(msg="via-gosmee"), gitlab_headers(msg="via-smee-io")

    async def channel(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await send(response, json.dumps(gosmee_message(exact, PUSH)), id=1)
        await send(response, json.dumps(smee_message(reencoded, PUSH)), id=2)
        await hold_open(request)
        return response

    async with serve_channel(channel) as url:
        config = parse_config(SIGNED_CONFIG, tmp_path / "config.toml")
        svc = WebhookService(config, tmp_path / "data", ManualClock(NOW), smee_url=url)
        await svc.start("127.0.0.1", 0)
        try:
            await eventually(lambda: len(svc.journal.recent(10)) == 2)  # type: ignore[attr-defined]
            by_key = {d.idempotency_key: d for d in svc.journal.recent(10)}  # type: ignore[attr-defined]
        finally:
            await svc.stop()
    assert by_key["via-gosmee"].verdict is Verdict.ACCEPTED
    assert by_key["via-gosmee"].source == "smee"
    assert by_key["via-smee-io"].verdict is Verdict.REJECTED
    assert by_key["via-smee-io"].extra["signature"] == "bad signature"
