"""The smee source against real aiohttp servers on 127.0.0.1 speaking smee.io's and gosmee's SSE."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pac_tui.webhooks.smee import NotADelivery, SmeeSource, header_name, parse_message

FIXTURES = Path("/work/shared/fixtures/gitlab-webhooks/go-gitlab/webhooks")
TOKEN = "wh-secret-0123456789"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gitlab_headers(event: str, n: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": TOKEN,
        "X-Gitlab-Event-UUID": f"5b4dc9bb-1b7a-4f1b-9a3e-4a3c0a8a2f1{n}",
        "X-Gitlab-Webhook-UUID": "0d6f1b71-3b3c-4a52-8c8e-7bb1f61b7b55",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "Idempotency-Key": f"7f0c4a2e-6f15-4c0e-9d2c-2ab5d0b5a0d{n}",
        "X-Forwarded-For": "203.0.113.7",
    }


def smee_message(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    """What smee.io publishes for a POST: lowercased headers, the parsed body, query, timestamp."""
    return {
        **{name.lower(): value for name, value in headers.items()},
        "host": "smee.io",
        "connection": "close",
        "content-length": str(len(raw)),
        "accept-encoding": "gzip, deflate",
        "body": json.loads(raw),
        "query": {},
        "timestamp": 1735000000000,
    }


def gosmee_message(headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    """What gosmee server publishes: lowercased headers, the raw body base64 in bodyB, timestamp."""
    return {
        **{name.lower(): value for name, value in headers.items()},
        "content-length": str(len(raw)),
        "bodyB": base64.b64encode(raw).decode(),
        "timestamp": 1735000000000,
    }


def compact(raw: bytes) -> bytes:
    return json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{channel}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/aBcDeFgHiJkLmN"
    finally:
        await runner.cleanup()


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    return response


async def send(response: web.StreamResponse, data: str, *, event: str = "", id: int = 0) -> None:
    frame = f"id: {id}\n" + (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
    await response.write(frame.encode())


async def hold_open(request: web.Request, until: asyncio.Event | None = None) -> None:
    """Keep a stream open until the client goes away (or `until` is set)."""
    while request.transport is not None and not request.transport.is_closing():
        if until is not None and until.is_set():
            return
        await asyncio.sleep(0.02)


class Recorder:
    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.states: list[str] = []

    async def on_delivery(self, headers: dict[str, str], body: bytes) -> None:
        self.deliveries.append((headers, body))

    def on_state(self, text: str) -> None:
        self.states.append(text)


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def stop(task: asyncio.Task[None]) -> float:
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    return time.perf_counter() - started


async def test_delivers_messages_reconnects_and_delivers_after_reconnection() -> None:
    push, mr = fixture("push.json"), fixture("merge_request.json")
    note = fixture("note_commit.json")
    push_headers = gitlab_headers("Push Hook", 1)
    mr_headers = gitlab_headers("Merge Request Hook", 2)
    note_headers = gitlab_headers("Note Hook", 3)
    connections: list[dict[str, str]] = []
    later = asyncio.Queue[dict[str, Any]]()

    async def channel(request: web.Request) -> web.StreamResponse:
        connections.append(dict(request.headers))
        if request.headers.get("Accept") != "text/event-stream":  # smee.io's own test
            return web.Response(text="<html>webhooks</html>", content_type="text/html")
        response = await open_stream(request)
        if len(connections) == 1:  # smee.io style, then the connection drops
            await send(response, "{}", event="ready", id=0)
            await send(response, "{}", event="ping", id=1)
            await send(response, json.dumps(smee_message(push_headers, push)), id=2)
            await send(response, json.dumps(smee_message(mr_headers, mr)), id=3)
            return response
        # gosmee style: control messages in the data, the body as base64
        await send(response, "ready")
        await send(response, json.dumps({"message": "ready"}))
        message = await later.get()
        await send(response, json.dumps(message))
        await hold_open(request)
        return response

    recorder = Recorder()
    async with serve(channel) as url:
        source = SmeeSource(url, recorder.on_delivery, backoff=(0.05,), on_state=recorder.on_state)
        task = asyncio.create_task(source.run())
        await eventually(lambda: recorder.states.count("connected") == 2)
        await later.put(gosmee_message(note_headers, note))
        await eventually(lambda: len(recorder.deliveries) == 3)
        assert await stop(task) < 10  # cancelling is prompt (a bound generous for CI)

    assert recorder.states == ["connected", "reconnecting in 0.05s: stream ended", "connected"]
    assert all(c["Accept"] == "text/event-stream" for c in connections)
    assert all("gosmee" in c["User-Agent"] for c in connections)

    (h1, b1), (h2, b2), (h3, b3) = recorder.deliveries
    # Host, Connection and Content-Length describe smee's hop and are gone; the rest is kept.
    assert h1 == {**push_headers, "Accept-Encoding": "gzip, deflate"}
    assert h2 == {**mr_headers, "Accept-Encoding": "gzip, deflate"}
    assert h3 == note_headers
    assert b1 == compact(push) and json.loads(b1) == json.loads(push)
    assert b2 == compact(mr) and json.loads(b2) == json.loads(mr)
    assert b3 == note  # gosmee carries the exact bytes
    assert source.delivered == 3


async def test_backoff_grows_while_the_channel_fails_and_states_say_why() -> None:
    async def channel(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="no such channel")

    recorder = Recorder()
    async with serve(channel) as url:
        source = SmeeSource(
            url, recorder.on_delivery, backoff=(0.01, 0.02, 0.03), on_state=recorder.on_state
        )
        task = asyncio.create_task(source.run())
        await eventually(lambda: len(recorder.states) >= 4)
        await stop(task)
    assert recorder.states[:4] == [
        "reconnecting in 0.01s: HTTP 404 Not Found",
        "reconnecting in 0.02s: HTTP 404 Not Found",
        "reconnecting in 0.03s: HTTP 404 Not Found",
        "reconnecting in 0.03s: HTTP 404 Not Found",
    ]


async def test_html_page_instead_of_a_stream_is_reported() -> None:
    async def channel(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>webhooks</html>", content_type="text/html")

    recorder = Recorder()
    async with serve(channel) as url:
        source = SmeeSource(url, recorder.on_delivery, backoff=(5,), on_state=recorder.on_state)
        task = asyncio.create_task(source.run())
        await eventually(lambda: len(recorder.states) >= 1)
        await stop(task)
    assert recorder.states == ["reconnecting in 5s: not an event stream (text/html)"]


async def test_silent_stream_after_pings_is_reconnected() -> None:
    async def channel(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await send(response, "{}", event="ready")
        await send(response, "{}", event="ping")
        await hold_open(request)  # then nothing, as a dead NAT mapping would look
        return response

    recorder = Recorder()
    async with serve(channel) as url:
        source = SmeeSource(
            url,
            recorder.on_delivery,
            backoff=(0.01,),
            on_state=recorder.on_state,
            idle_timeout=0.2,
        )
        task = asyncio.create_task(source.run())
        await eventually(lambda: len(recorder.states) >= 3)
        await stop(task)
    assert recorder.states[:3] == [
        "connected",
        "reconnecting in 0.01s: no data for 0.2s",
        "connected",
    ]


async def test_server_down_is_reported_and_cancellation_is_prompt() -> None:
    recorder = Recorder()
    source = SmeeSource(
        "http://127.0.0.1:9/aBcDeFgHiJkLmN",
        recorder.on_delivery,
        backoff=(30,),
        on_state=recorder.on_state,
    )
    task = asyncio.create_task(source.run())
    await eventually(lambda: len(recorder.states) >= 1)
    assert await stop(task) < 10  # not the 30 s backoff (generous for CI)
    assert recorder.states[0].startswith("reconnecting in 30s: ConnectError")


async def test_a_failing_delivery_handler_does_not_end_the_subscription() -> None:
    push = fixture("push.json")

    async def channel(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await send(response, "{}", event="ready")
        for n in range(2):
            await send(response, json.dumps(smee_message(gitlab_headers("Push Hook", n), push)))
        await hold_open(request)
        return response

    seen: list[dict[str, str]] = []

    async def on_delivery(headers: dict[str, str], body: bytes) -> None:
        seen.append(headers)
        if len(seen) == 1:
            raise RuntimeError("journal is full")

    async with serve(channel) as url:
        source = SmeeSource(url, on_delivery, backoff=(5,))
        task = asyncio.create_task(source.run())
        await eventually(lambda: len(seen) == 2)
        await stop(task)
    assert source.delivered == 1


def test_parse_message_skips_control_messages() -> None:
    for data in ("", "ready", "{}", '{"message":"connected"}', '{"message":"ready"}', "[1]"):
        with pytest.raises(NotADelivery):
            parse_message(data)
    with pytest.raises(NotADelivery, match="encrypted"):
        parse_message('{"ciphertext":"abc"}')


def test_parse_message_header_values_and_names() -> None:
    headers, body = parse_message(
        json.dumps(
            {
                "x-gitlab-event": "Note Hook",
                "x-gitlab-event-uuid": "u-1",
                "x-multi": ["a", "b"],
                "x-number": 3,
                "x-object": {"no": "thanks"},
                "transfer-encoding": "chunked",
                "body": {"object_kind": "note", "text": "/retest é"},
                "query": {"a": "1"},
                "timestamp": 1,
            }
        )
    )
    assert headers == {
        "X-Gitlab-Event": "Note Hook",
        "X-Gitlab-Event-UUID": "u-1",
        "X-Multi": "a, b",
        "X-Number": "3",
        "Content-Type": "application/json",
    }
    assert body == '{"object_kind":"note","text":"/retest é"}'.encode()
    assert header_name("idempotency-key") == "Idempotency-Key"


UNSAFE_BYTES = b"\xc2\x9b31m red \xe2\x80\xae evil \xc2\x9d0;title\xc2\x9c \xe2\x81\xa6"


async def test_what_the_channel_server_sent_is_printable_in_the_state_lines() -> None:
    """A reason phrase and a content type are the server's words: C1 controls (U+009B is a
    one-character CSI, U+009D an OSC) and BiDi overrides in them never reach the terminal."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/"
            + UNSAFE_BYTES
            + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    recorder = Recorder()
    try:
        source = SmeeSource(
            f"http://127.0.0.1:{port}/chan",
            recorder.on_delivery,
            backoff=(5,),
            on_state=recorder.on_state,
        )
        task = asyncio.create_task(source.run())
        await eventually(lambda: len(recorder.states) >= 1)
        await stop(task)
    finally:
        server.close()
        await server.wait_closed()
    (state,) = recorder.states
    assert state.startswith("reconnecting in 5s: not an event stream"), state
    assert "red" in state and "evil" in state, "the words stay, the controls go"
    assert all(ch.isprintable() for ch in state), ascii(state)
