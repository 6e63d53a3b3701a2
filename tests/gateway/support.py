"""Real sockets on 127.0.0.1 for the gateway tests: upstreams in their own thread and loop,
the gateway in the test's loop or as a subprocess, a raw HTTP/1.1 client."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from pac_tui.gateway import GatewaySettings
from pac_tui.gateway.server import serve

ROOT = Path(__file__).parents[2]
LISTENING = re.compile(r"listening on (\S+),")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Seen:
    """One request as the upstream received it, byte for byte where it matters."""

    method: str
    raw_target: str  # the request-target exactly as on the wire
    headers: list[tuple[str, str]]  # names as sent, in order
    body: bytes

    @property
    def raw_path(self) -> str:
        return self.raw_target.partition("?")[0]

    @property
    def raw_query(self) -> str:
        return self.raw_target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


class BackgroundServer:
    """An aiohttp server in a thread of its own, so the test's loop (or a blocking wait on a
    subprocess) never stalls it."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        app = web.Application(handler_args={"auto_decompress": False})
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = site.port

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        return await self.handler(request)

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Recorder:
    """A recording upstream: keeps every request; answers with `respond` (JSON ok by default)."""

    seen: list[Seen] = field(default_factory=list)
    respond: Handler | None = None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Seen(
                method=request.method,
                raw_target=request.raw_path,
                headers=[(k.decode(), v.decode()) for k, v in request.raw_headers],
                body=body,
            )
        )
        if self.respond is not None:
            return await self.respond(request)
        return web.json_response({"ok": True})


@asynccontextmanager
async def gateway(upstream: str, **options: Any) -> AsyncIterator[str]:
    """The gateway in the test's own loop (`serve`), on a free port; yields its URL."""
    settings = GatewaySettings(upstream=upstream, host="127.0.0.1", port=0, **options)
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, ready=ready.set_result, stop=stop))
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what went wrong
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


class GatewayProcess:
    """`tests.gateway.launcher` as a subprocess; its stderr is collected line by line."""

    def __init__(self, *args: str, ready: bool = True) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.launcher", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if ready:
            self.wait_ready()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                self._listening.set()

    def wait_ready(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the gateway did not start: {self.stderr()}")
        return self.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stderr(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        """Wait for the exit; the status, stdout and everything on stderr."""
        status = self.process.wait(timeout)
        self._reader.join(30)  # the last lines (e.g. "SIGTERM received") are read after the exit
        assert self.process.stdout is not None
        return status, self.process.stdout.read(), self.stderr()

    def peak_rss_bytes(self) -> int:
        """The process's peak resident set size (VmHWM), from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        assert kib is not None
        return int(kib.group(1)) * 1024

    def __enter__(self) -> GatewayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._reader.join(30)  # the last lines (e.g. "SIGTERM received") are read after the exit
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


async def raw_exchange(port: int, request: bytes, timeout: float = 10) -> RawResponse:
    """Send bytes as they are, read the answer until the server closes (send Connection: close,
    or rely on the gateway closing), parse status line, headers and body (chunked decoded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _, status, reason = ([*lines[0].split(" ", 2), ""])[:3]
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    parsed = RawResponse(int(status), reason, [(k, v) for k, v in headers], body)
    if (parsed.header("Transfer-Encoding") or "").lower() == "chunked":
        parsed.body = _dechunk(body)
    return parsed


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)
