"""/healthz and /metrics belong to the gateway and are never forwarded."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from pac_tui.gateway import GatewaySettings
from pac_tui.gateway.app import build_app
from tests.gateway.support import BackgroundServer, Recorder, free_port, gateway


@pytest.fixture
def upstream() -> Iterator[tuple[Recorder, BackgroundServer]]:
    recorder = Recorder()
    with BackgroundServer(recorder) as server:
        yield recorder, server


async def test_healthz_is_answered_here(upstream: tuple[Recorder, BackgroundServer]) -> None:
    rec, server = upstream
    async with gateway(server.url) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as answer:
            assert answer.status == 200
            assert await answer.json() == {"status": "ok"}
        async with http.post(f"{url}/healthz") as answer:
            assert answer.status == 405
    assert rec.seen == []


async def test_healthz_does_not_depend_on_the_upstream() -> None:
    async with (
        gateway(f"http://127.0.0.1:{free_port()}") as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/healthz") as answer,
    ):
        assert answer.status == 200


async def test_metrics_count_requests_by_status_and_method_and_upstream_errors(
    upstream: tuple[Recorder, BackgroundServer],
) -> None:
    rec, server = upstream

    async def respond(request: web.Request) -> web.StreamResponse:
        return web.json_response({}, status=404 if request.path.endswith("missing") else 200)

    rec.respond = respond
    async with gateway(server.url) as url, aiohttp.ClientSession() as http:
        for path in ("/api/v4/a", "/api/v4/b", "/api/v4/missing"):
            async with http.get(f"{url}{path}"):
                pass
        async with http.post(f"{url}/api/v4/c", data=b"{}"):
            pass
        async with http.request("PROPFIND", f"{url}/api/v4/dav"):
            pass
        async with http.get(f"{url}/healthz"):
            pass
        async with http.get(f"{url}/metrics") as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await answer.text()
    assert 'pac_tui_gateway_requests_total{code="200",method="GET"} 2.0' in text
    assert 'pac_tui_gateway_requests_total{code="404",method="GET"} 1.0' in text
    assert 'pac_tui_gateway_requests_total{code="200",method="POST"} 1.0' in text
    assert 'pac_tui_gateway_requests_total{code="200",method="other"} 1.0' in text
    assert "pac_tui_gateway_upstream_latency_seconds_count 5.0" in text
    assert "pac_tui_gateway_in_flight_requests 0.0" in text
    counted = [line for line in text.splitlines() if line.startswith("pac_tui_gateway_requests_t")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in counted) == 5  # not /healthz, /metrics
    assert len(rec.seen) == 5


async def test_upstream_errors_are_counted_by_kind_on_the_given_registry() -> None:
    registry = CollectorRegistry()
    app = build_app(GatewaySettings(upstream=f"http://127.0.0.1:{free_port()}"), registry=registry)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/api/v4/user")
        assert answer.status == 502
    value = registry.get_sample_value
    assert value("pac_tui_gateway_upstream_errors_total", {"kind": "connect"}) == 1.0
    assert value("pac_tui_gateway_requests_total", {"code": "502", "method": "GET"}) == 1.0
