"""The gateway only ever connects to its one upstream, whatever the request names."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.gateway.support import BackgroundServer, Recorder, gateway, raw_exchange


class Victim:
    """A listener on 127.0.0.1 that counts the connections it is offered."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def victim() -> Iterator[Victim]:
    victim = Victim()
    yield victim
    victim.close()


@pytest.fixture
def upstream() -> Iterator[tuple[Recorder, BackgroundServer]]:
    recorder = Recorder()
    with BackgroundServer(recorder) as server:
        yield recorder, server


async def test_absolute_form_and_forged_host_never_reach_another_server(
    upstream: tuple[Recorder, BackgroundServer], victim: Victim
) -> None:
    rec, server = upstream
    elsewhere = f"127.0.0.1:{victim.port}".encode()
    async with gateway(server.url) as url:
        port = int(url.rsplit(":", 1)[1])
        attempts = [
            b"GET http://" + elsewhere + b"/secret?x=1 HTTP/1.1\r\nHost: " + elsewhere,
            b"GET https://" + elsewhere + b"/secret HTTP/1.1\r\nHost: " + elsewhere,
            b"GET http://" + elsewhere + b" HTTP/1.1\r\nHost: " + elsewhere,
            b"GET /secret HTTP/1.1\r\nHost: " + elsewhere,
            b"GET /secret HTTP/1.1\r\nHost: " + elsewhere + b"\r\nX-Forwarded-Host: " + elsewhere,
        ]
        answers = [
            await raw_exchange(port, attempt + b"\r\nConnection: close\r\n\r\n")
            for attempt in attempts
        ]
    assert victim.connections == 0
    assert [a.status for a in answers] == [200] * len(attempts)
    # Each went to the configured upstream, with its path only, and the upstream's Host.
    assert [seen.raw_target for seen in rec.seen] == [
        "/secret?x=1",
        "/secret",
        "/",
        "/secret",
        "/secret",
    ]
    assert {seen.header("Host") for seen in rec.seen} == {f"127.0.0.1:{server.port}"}


async def test_connect_is_refused(
    upstream: tuple[Recorder, BackgroundServer], victim: Victim
) -> None:
    rec, server = upstream
    async with gateway(server.url) as url:
        port = int(url.rsplit(":", 1)[1])
        request = (
            f"CONNECT 127.0.0.1:{victim.port} HTTP/1.1\r\nHost: 127.0.0.1:{victim.port}\r\n\r\n"
        )
        answer = await raw_exchange(port, request.encode())
    assert answer.status == 405
    assert b"CONNECT" in answer.body
    assert victim.connections == 0
    assert rec.seen == []


async def test_an_asterisk_target_is_refused(upstream: tuple[Recorder, BackgroundServer]) -> None:
    rec, server = upstream
    async with gateway(server.url) as url:
        port = int(url.rsplit(":", 1)[1])
        answer = await raw_exchange(
            port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    assert answer.status == 400
    assert rec.seen == []
