"""The gateway as its own process: 50 MB each way in flat memory, and a graceful SIGTERM."""

from __future__ import annotations

import asyncio
import hashlib
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from tests.gateway.support import BackgroundServer, GatewayProcess, Recorder

SIZE = 50 * 1024 * 1024
BLOCK = bytes(range(256)) * 1024  # 256 KiB, so a wrong or missing block changes the digest
RSS_LIMIT = 100 * 1024 * 1024


def expected_digest() -> str:
    digest = hashlib.sha256()
    for _ in range(SIZE // len(BLOCK)):
        digest.update(BLOCK)
    return digest.hexdigest()


async def archive(request: web.Request) -> web.StreamResponse:
    """A 50 MB 'repository archive', streamed with a Content-Length."""
    response = web.StreamResponse(
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(SIZE)}
    )
    await response.prepare(request)
    for _ in range(SIZE // len(BLOCK)):
        await response.write(BLOCK)
    return response


def gateway_args(upstream: str, *extra: str) -> list[str]:
    return ["--upstream", upstream, "--host", "127.0.0.1", "--port", "0", *extra]


async def test_a_50_mb_download_streams_through_in_flat_memory() -> None:
    with (
        BackgroundServer(archive) as upstream,
        GatewayProcess(*gateway_args(upstream.url)) as gw,
    ):
        digest = hashlib.sha256()
        received = 0
        async with (
            aiohttp.ClientSession(auto_decompress=False) as http,
            http.get(f"{gw.url}/api/v4/projects/1/repository/archive") as answer,
        ):
            assert answer.headers["Content-Length"] == str(SIZE)
            async for chunk in answer.content.iter_chunked(1 << 20):
                digest.update(chunk)
                received += len(chunk)
        peak = gw.peak_rss_bytes()
    assert received == SIZE
    assert digest.hexdigest() == expected_digest()
    print(f"gateway peak RSS {peak / 2**20:.1f} MiB")
    assert peak < RSS_LIMIT, f"peak RSS {peak / 2**20:.1f} MiB"


async def test_a_50_mb_upload_streams_through_in_flat_memory() -> None:
    got = {"bytes": 0, "digest": ""}

    async def sink(request: web.Request) -> web.StreamResponse:
        digest = hashlib.sha256()
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            got["bytes"] += len(chunk)
        got["digest"] = digest.hexdigest()
        return web.json_response({"ok": True})

    async def body() -> AsyncIterator[bytes]:
        for _ in range(SIZE // len(BLOCK)):
            yield BLOCK

    with (
        BackgroundServer(sink) as upstream,
        GatewayProcess(*gateway_args(upstream.url)) as gw,
    ):
        async with aiohttp.ClientSession() as http:
            headers = {"Content-Length": str(SIZE), "Private-Token": "t"}
            async with http.put(f"{gw.url}/api/v4/upload", data=body(), headers=headers) as a:
                assert a.status == 200
        peak = gw.peak_rss_bytes()
    assert got == {"bytes": SIZE, "digest": expected_digest()}
    print(f"gateway peak RSS {peak / 2**20:.1f} MiB")
    assert peak < RSS_LIMIT, f"peak RSS {peak / 2**20:.1f} MiB"


async def test_sigterm_lets_a_download_finish_refuses_new_connections_and_exits_0() -> None:
    blocks = 40  # 10 MiB over ~2 s

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(blocks * len(BLOCK))})
        await response.prepare(request)
        for _ in range(blocks):
            await response.write(BLOCK)
            await asyncio.sleep(0.05)
        return response

    with (
        BackgroundServer(slow) as upstream,
        GatewayProcess(*gateway_args(upstream.url, "--drain-seconds", "20")) as gw,
    ):
        received = 0
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/slow") as answer:
            first = await answer.content.readexactly(len(BLOCK))
            received += len(first)
            gw.process.send_signal(signal.SIGTERM)
            refused = await _refused_soon(gw.port)
            async for chunk in answer.content.iter_chunked(1 << 16):
                received += len(chunk)
        status, _, stderr = await asyncio.to_thread(gw.finish, 30)
    assert refused, "a new connection was still accepted after SIGTERM"
    assert received == blocks * len(BLOCK)
    assert status == 0, stderr
    assert "SIGTERM received" in stderr
    assert "Traceback" not in stderr


async def _refused_soon(port: int, within: float = 15.0) -> bool:
    """Whether connecting to the gateway is refused within `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return True
        writer.close()
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT])
async def test_sigint_stops_an_idle_gateway_cleanly(signum: int) -> None:
    with (
        BackgroundServer(Recorder()) as upstream,
        GatewayProcess(*gateway_args(upstream.url)) as gw,
    ):
        gw.process.send_signal(signum)
        status, _, stderr = await asyncio.to_thread(gw.finish, 30)
    assert status == 0, stderr
    assert "Traceback" not in stderr
