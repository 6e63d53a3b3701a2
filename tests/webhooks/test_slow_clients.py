"""Slow and idle clients cannot hold the receiver (issue 16, item 5): over real sockets.

The timeouts are injected short (`ConnectionLimits`) so the tests are fast; what is asserted is
what happens, never how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import parse_config
from pac_tui.webhooks.limits import ConnectionLimits
from pac_tui.webhooks.service import WebhookService
from tests.webhooks.conftest import CONFIG, SECRET, push_payload

SHORT = ConnectionLimits(keepalive_s=0.5, body_s=0.5, max_connections=1024)
GIVE_UP_S = 20.0  # how long a test waits for what must happen (never reached when it works)


async def started(tmp_path: Path, limits: ConnectionLimits) -> WebhookService:
    config = parse_config(CONFIG, tmp_path / "config.toml")
    service = WebhookService(config, tmp_path / "data", SystemClock(), limits=limits)
    await service.start("127.0.0.1", 0)
    return service


@pytest.fixture
async def short(tmp_path: Path) -> AsyncIterator[WebhookService]:
    service = await started(tmp_path, SHORT)
    yield service
    await service.stop()


def address(service: WebhookService) -> tuple[str, int]:
    parts = urlsplit(service.url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


async def valid_post(service: WebhookService, key: str) -> httpx.Response:
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Idempotency-Key": key}
    async with httpx.AsyncClient(timeout=GIVE_UP_S) as http:
        return await http.post(
            f"{service.url}hooks/x", content=json.dumps(push_payload()).encode(), headers=headers
        )


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closed the connection (EOF or reset), reading whatever it sent."""
    try:
        async with asyncio.timeout(GIVE_UP_S):
            while await reader.read(4096):
                pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


async def trickle(writer: asyncio.StreamWriter, data: bytes, stop: asyncio.Event) -> None:
    """Send `data` a byte at a time, one every 50 ms, as a slowloris does."""
    with contextlib.suppress(ConnectionError, OSError):
        for byte in data:
            if stop.is_set():
                return
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)


async def test_half_sent_heads_are_cut_off_and_a_valid_post_is_accepted(
    short: WebhookService,
) -> None:
    host, port = address(short)
    head = b"POST /hooks/x HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: a\r\n" * 50
    conns = [await asyncio.open_connection(host, port) for _ in range(200)]
    stop = asyncio.Event()
    trickles = [asyncio.create_task(trickle(w, head, stop)) for _, w in conns]
    try:
        answer = await valid_post(short, "through-the-loris")
        assert answer.status_code == 200, answer.text
        stored = short.journal.get(answer.json()["id"])  # type: ignore[attr-defined]
        assert stored is not None and stored.idempotency_key == "through-the-loris"
        closed = await asyncio.gather(*(closed_by_server(r) for r, _ in conns))
        assert all(closed), f"{closed.count(False)} half-sent requests still open"
    finally:
        stop.set()
        await asyncio.gather(*trickles)
        for _, writer in conns:
            writer.close()
    assert [d.idempotency_key for d in short.journal.recent(10)] == ["through-the-loris"]  # type: ignore[attr-defined]


async def test_a_trickling_body_gets_408_and_is_not_stored(short: WebhookService) -> None:
    host, port = address(short)
    body = json.dumps(push_payload()).encode()
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST /hooks/x HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: {SECRET}\r\n"
        f"X-Gitlab-Event: Push Hook\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer.write(head)
    stop = asyncio.Event()
    task = asyncio.create_task(trickle(writer, body, stop))
    try:
        async with asyncio.timeout(GIVE_UP_S):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 408"), status
        assert await closed_by_server(reader)
    finally:
        stop.set()
        await task
        writer.close()
    assert short.journal.recent(10) == []  # type: ignore[attr-defined]


async def test_an_idle_keep_alive_connection_is_closed(short: WebhookService) -> None:
    host, port = address(short)
    body = json.dumps(push_payload()).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                f"POST /hooks/x HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: {SECRET}\r\n"
                f"X-Gitlab-Event: Push Hook\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        async with asyncio.timeout(GIVE_UP_S):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        # Keep-alive: the connection stays open for another request, but not forever.
        assert await closed_by_server(reader)
    finally:
        writer.close()


async def test_connections_over_the_cap_get_503_and_the_others_are_served(
    tmp_path: Path,
) -> None:
    limits = ConnectionLimits(keepalive_s=600, body_s=600, max_connections=20)
    service = await started(tmp_path, limits)
    host, port = address(service)
    try:
        idle = [await asyncio.open_connection(host, port) for _ in range(20)]
        reader, writer = await asyncio.open_connection(host, port)
        async with asyncio.timeout(GIVE_UP_S):
            answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {
            "error": "too many open connections; retry later"
        }
        for _, idle_writer in idle[:5]:
            idle_writer.close()
            await idle_writer.wait_closed()
        async with asyncio.timeout(GIVE_UP_S):
            while True:  # the server sees the closes on its next loop turns
                answer_ok = await valid_post(service, "after-the-cap")
                if answer_ok.status_code != 503:
                    break
                await asyncio.sleep(0.05)
        assert answer_ok.status_code == 200, answer_ok.text
        for _, idle_writer in idle[5:]:
            idle_writer.close()
    finally:
        await service.stop()
