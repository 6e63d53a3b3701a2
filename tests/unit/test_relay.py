"""The relay and replay against a real aiohttp server on 127.0.0.1 standing in for PAC."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from pac_tui.core.errors import ProviderUnavailable, UsageError
from pac_tui.webhooks.relay import CLOSE_GRACE, Relay, replay

FIXTURES = Path("/work/shared/fixtures/gitlab-webhooks/go-gitlab/webhooks")
TOKEN = "wh-secret-0123456789"
FAST = (0.01, 0.02)


def push_body() -> bytes:
    return (FIXTURES / "push.json").read_bytes()


def gitlab_headers() -> dict[str, str]:
    return {
        "Host": "pac-tui.example.com:8080",
        "Content-Type": "application/json",
        "Content-Length": "999999",
        "Connection": "close",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": TOKEN,
        "X-Gitlab-Event-UUID": "5b4dc9bb-1b7a-4f1b-9a3e-4a3c0a8a2f11",
        "X-Gitlab-Webhook-UUID": "0d6f1b71-3b3c-4a52-8c8e-7bb1f61b7b55",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "Idempotency-Key": "7f0c4a2e-6f15-4c0e-9d2c-2ab5d0b5a0d1",
    }


class Target:
    """Records every request; answers `fail_first` of them with 503, sleeping `delay` first."""

    def __init__(self, *, fail_first: int = 0, always: int | None = None, delay: float = 0.0):
        self.fail_first = fail_first
        self.always = always
        self.delay = delay
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.always is not None:
            return web.Response(status=self.always)
        if len(self.requests) <= self.fail_first:
            return web.Response(status=503)
        return web.Response(status=200, text="ok")


@asynccontextmanager
async def serve(handler: Callable[[web.Request], object]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", handler)  # type: ignore[arg-type]
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/hook"
    finally:
        await runner.cleanup()


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


class Statuses:
    def __init__(self) -> None:
        self.seen: list[tuple[int | None, str]] = []
        self.changed = asyncio.Event()

    async def __call__(self, delivery_id: int | None, text: str) -> None:
        self.seen.append((delivery_id, text))
        self.changed.set()

    def final(self) -> dict[int | None, str]:
        return {
            did: text
            for did, text in self.seen
            if not text.startswith("retrying")  # the last word per delivery
        }

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


async def test_retries_until_delivered_with_identical_body_and_headers() -> None:
    target = Target(fail_first=2)
    statuses = Statuses()
    async with serve(target.handle) as url:
        relay = Relay(url, on_status=statuses, backoff=FAST)
        await relay.start()
        relay.submit(7, gitlab_headers(), push_body())
        await statuses.wait_for(lambda: any(t.startswith("relayed") for _, t in statuses.seen))
        await relay.close()

    assert statuses.seen == [
        (7, "retrying (attempt 2): HTTP 503 Service Unavailable"),
        (7, "retrying (attempt 3): HTTP 503 Service Unavailable"),
        (7, "relayed 200"),
    ]
    assert len(target.requests) == 3
    sent = gitlab_headers()
    for headers, body in target.requests:
        assert body == push_body()
        for name in (
            "Content-Type",
            "User-Agent",
            "X-Gitlab-Event",
            "X-Gitlab-Token",
            "X-Gitlab-Event-UUID",
            "X-Gitlab-Webhook-UUID",
            "X-Gitlab-Instance",
            "Idempotency-Key",
        ):
            assert headers[name] == sent[name], name
        # Hop-by-hop headers are the relay's own, not GitLab's.
        assert headers["Host"] == url.split("/")[2]
        assert headers["Content-Length"] == str(len(push_body()))
        assert headers.get("Connection", "").lower() != "close"


async def test_target_down_fails_after_max_attempts_without_leaking_the_token() -> None:
    seen: list[tuple[int | None, str]] = []
    done = asyncio.Event()

    def on_status(delivery_id: int | None, text: str) -> None:  # a plain callback works too
        seen.append((delivery_id, text))
        if text.startswith("failed"):
            done.set()

    relay = Relay(closed_port_url(), on_status=on_status, backoff=FAST, max_attempts=3)
    await relay.start()
    relay.submit(None, gitlab_headers(), push_body())
    await asyncio.wait_for(done.wait(), 10)
    await relay.close()

    texts = [text for _, text in seen]
    assert [t.split(":")[0] for t in texts] == [
        "retrying (attempt 2)",
        "retrying (attempt 3)",
        "failed",
    ]
    assert "ConnectError" in texts[-1]
    assert all(TOKEN not in text for text in texts)
    assert {did for did, _ in seen} == {None}


async def test_full_queue_drops_and_reports_instead_of_blocking() -> None:
    target = Target()
    statuses = Statuses()
    async with serve(target.handle) as url:
        relay = Relay(url, on_status=statuses, backoff=FAST, queue_size=2)
        for n in range(1, 6):  # not started yet: nothing leaves the queue
            relay.submit(n, gitlab_headers(), push_body())
        await asyncio.sleep(0)
        assert statuses.seen == [(n, "dropped: relay queue full") for n in (3, 4, 5)]
        await relay.start()
        await statuses.wait_for(lambda: len(statuses.seen) == 5)
        await relay.close()
    assert statuses.final() == {
        1: "relayed 200",
        2: "relayed 200",
        3: "dropped: relay queue full",
        4: "dropped: relay queue full",
        5: "dropped: relay queue full",
    }
    assert len(target.requests) == 2


async def test_submit_never_waits_for_a_slow_target() -> None:
    slow = 0.5  # well inside CLOSE_GRACE, so the sends on the wire finish on a loaded machine too
    target = Target(delay=slow)
    statuses = Statuses()
    async with serve(target.handle) as url:
        relay = Relay(url, on_status=statuses, backoff=FAST)
        await relay.start()
        for n in range(1000):
            relay.submit(n, gitlab_headers(), push_body())
        # All 1,000 were taken while the loop never ran: not one went out, none was waited for.
        # (No stopwatch: a descheduled CI process can take any time over a plain loop.)
        assert target.requests == [] and statuses.seen == []
        await eventually(lambda: len(target.requests) >= 4)

        started = time.perf_counter()
        await relay.close()  # lets the 4 sends on the wire finish, drops the rest
        # Sending the 996 queued ones would take minutes; the bound is generous for CI.
        assert time.perf_counter() - started < CLOSE_GRACE + 10

    final = statuses.final()
    assert len(final) == 1000
    relayed = [did for did, text in final.items() if text == "relayed 200"]
    dropped = [did for did, text in final.items() if text == "dropped: relay stopped"]
    assert len(relayed) == len(target.requests) == 4
    assert len(dropped) == 996


async def test_close_stops_retrying_promptly_and_reports_it() -> None:
    target = Target(always=503)
    statuses = Statuses()
    async with serve(target.handle) as url:
        relay = Relay(url, on_status=statuses, backoff=(30,))
        await relay.start()
        relay.submit(1, gitlab_headers(), push_body())
        await statuses.wait_for(lambda: len(statuses.seen) == 1)
        started = time.perf_counter()
        await relay.close()
        assert time.perf_counter() - started < 10  # not the 30 s backoff (generous for CI)
        relay.submit(2, gitlab_headers(), push_body())
        await asyncio.sleep(0)
        await relay.close()  # twice is harmless
    assert statuses.seen == [
        (1, "retrying (attempt 2): HTTP 503 Service Unavailable"),
        (1, "failed: relay stopped; last error: HTTP 503 Service Unavailable"),
        (2, "dropped: relay stopped"),
    ]
    assert len(target.requests) == 1


async def test_status_callback_errors_do_not_stop_the_relay() -> None:
    target = Target()
    delivered = asyncio.Event()

    def on_status(delivery_id: int | None, text: str) -> None:
        if delivery_id == 2:
            delivered.set()
        raise RuntimeError("journal is broken")

    async with (
        serve(target.handle) as url,
        Relay(url, on_status=on_status, backoff=FAST, workers=1) as relay,
    ):
        relay.submit(1, gitlab_headers(), b"{}")
        relay.submit(2, gitlab_headers(), b"{}")
        await asyncio.wait_for(delivered.wait(), 10)
    assert len(target.requests) == 2


async def test_replay_returns_the_status_and_sends_the_delivery() -> None:
    target = Target(always=202)
    async with serve(target.handle) as url:
        status = await replay(url, gitlab_headers(), push_body())
    assert status == 202
    [(headers, body)] = target.requests
    assert body == push_body()
    assert headers["X-Gitlab-Token"] == TOKEN
    assert json.loads(body)["object_kind"] == "push"


async def test_replay_to_a_closed_port_raises_a_clear_error() -> None:
    url = closed_port_url()
    with pytest.raises(ProviderUnavailable) as caught:
        await replay(url, gitlab_headers(), push_body())
    message = str(caught.value)
    assert url in message
    assert "ConnectError" in message
    assert TOKEN not in message


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", "/hook"])
async def test_replay_rejects_urls_that_are_not_http(url: str) -> None:
    with pytest.raises(UsageError):
        await replay(url, gitlab_headers(), b"{}")


async def test_a_final_4xx_is_not_retried() -> None:
    """PAC answering 401 (wrong token) or 404 (wrong URL) will not change on retry."""
    from aiohttp import web

    from pac_tui.webhooks.relay import Relay

    hits = 0

    async def refuse(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.Response(status=401)

    app = web.Application()
    app.router.add_post("/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    statuses: list[str] = []
    relay = Relay(
        f"http://127.0.0.1:{port}/",
        on_status=lambda _id, text: statuses.append(text),
        backoff=(0.01,),
    )
    await relay.start()
    relay.submit(1, {"X-Gitlab-Event": "Push Hook"}, b"{}")
    await eventually(lambda: bool(statuses), timeout=30)
    await relay.close()
    await runner.cleanup()
    assert hits == 1
    assert statuses == ["failed: HTTP 401 Unauthorized"]
