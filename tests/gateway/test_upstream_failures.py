"""When the upstream cannot be reached, is slow, or breaks off; and when the client does."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web

from tests.gateway.support import BackgroundServer, Recorder, free_port, gateway


class Silent:
    """Accepts connections and reads, never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()


async def test_a_closed_upstream_port_is_a_502_with_a_json_line() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with (
        gateway(dead) as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v4/user", headers={"Private-Token": "tok-502"}) as a,
    ):
        assert a.status == 502
        assert a.content_type == "application/json"
        text = await a.text()
    assert "\n" not in text.strip()
    body = json.loads(text)
    assert body["error"] == "upstream unreachable"
    assert body["upstream"] == dead
    assert body["detail"].startswith("cannot connect")
    assert "tok-502" not in text and "needle" not in text


async def test_an_upstream_that_never_answers_is_a_504_within_the_read_timeout(
    silent: Silent,
) -> None:
    upstream = f"http://127.0.0.1:{silent.port}"
    async with gateway(upstream, read_timeout=0.5) as url, aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.get(f"{url}/api/v4/user") as answer:
            body = await answer.json()
        took = time.monotonic() - started
    assert answer.status == 504
    assert body == {
        "error": "upstream timed out",
        "upstream": upstream,
        "detail": "no answer within the read timeout",
    }
    # Not a speed check: the default read timeout is 60 s, so anything well under it (and over
    # 0.5 s) shows the configured one governs, even on a loaded machine.
    assert 0.4 < took < 30


async def test_the_upstream_breaking_off_mid_body_truncates_the_client_s_body() -> None:
    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        await response.write(b"a" * 1000)
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()  # 99,000 bytes short
        return response

    with BackgroundServer(Recorder(respond=respond)) as server:
        async with gateway(server.url) as url, aiohttp.ClientSession() as http:
            async with http.get(f"{url}/archive") as answer:
                assert answer.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await answer.read()
            # The gateway is fine afterwards.
            async with http.get(f"{url}/healthz") as answer:
                assert answer.status == 200


async def test_a_client_hanging_up_mid_stream_ends_the_upstream_exchange_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream_gone = threading.Event()

    async def respond(request: web.Request) -> web.StreamResponse:
        if request.path != "/big":
            return web.json_response({})
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            # Streams until the gateway drops it (bounded only so a broken gateway cannot keep
            # the test running forever): a fixed ~4 s stream could end first on a slow machine.
            for _ in range(6000):
                await response.write(b"b" * 65536)
                await asyncio.sleep(0.01)
        except ConnectionError:
            upstream_gone.set()
        return response

    caplog.set_level(logging.INFO, logger="pac_tui.gateway")
    with BackgroundServer(Recorder(respond=respond)) as server:
        async with gateway(server.url) as url:
            async with aiohttp.ClientSession() as http:
                answer = await http.get(f"{url}/big")
                await answer.content.readexactly(65536)
                answer.close()  # drops the connection mid-body
            assert await asyncio.to_thread(upstream_gone.wait, 30)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{url}/metrics") as metrics:
                    text = await metrics.text()
                async with http.get(f"{url}/after") as later:
                    assert later.status == 200
    assert "pac_tui_gateway_in_flight_requests 0.0" in text
    assert "client went away" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_client_hanging_up_mid_upload_ends_the_upstream_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome: dict[str, object] = {}
    started, done = threading.Event(), threading.Event()

    async def sink(request: web.Request) -> web.StreamResponse:
        received = 0
        try:
            async for chunk in request.content.iter_any():
                received += len(chunk)
                started.set()
        except Exception as exc:  # the upstream sees the body cut short
            outcome["error"] = type(exc).__name__
        outcome["received"] = received
        done.set()
        return web.json_response({})

    caplog.set_level(logging.INFO, logger="pac_tui.gateway")
    with BackgroundServer(sink) as server:
        async with gateway(server.url) as url:
            port = int(url.rsplit(":", 1)[1])
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"PUT /api/v4/upload HTTP/1.1\r\nHost: x\r\nPrivate-Token: t\r\n"
                b"Content-Length: 10000000\r\n\r\n" + b"u" * 1_000_000
            )
            await writer.drain()
            # Hang up once the upload reaches the upstream (a fixed sleep may be too short).
            assert await asyncio.to_thread(started.wait, 30)
            writer.close()
            assert await asyncio.to_thread(done.wait, 30)
            async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as metrics:
                text = await metrics.text()
    assert outcome["received"] < 10_000_000
    assert "error" in outcome
    assert "pac_tui_gateway_in_flight_requests 0.0" in text
    assert 'pac_tui_gateway_requests_total{code="499",method="PUT"} 1.0' in text
    assert "pac_tui_gateway_upstream_errors_total{" not in text  # not the upstream's fault
    assert "PUT /api/v4/upload 499" in caplog.text and "client went away" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
