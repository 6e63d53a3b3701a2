"""The receiver's listening site: aiohttp's, with a cap on the connections it keeps open.

aiohttp has no connection limit: every accepted socket gets a request handler, so a client that
opens thousands of connections and sends nothing holds thousands of handlers until each one's
keep-alive runs out. `CappedSite` listens like `TCPSite` / `SockSite`, but a connection over
`max_connections` is answered 503 at once and closed, before aiohttp sees it.

A burst of accepts creates several protocols before any of them is counted among the server's
connections (aiohttp counts one in `connection_made`, which runs a loop turn later), so the
protocols made in the current loop turn are counted too.

`quiet_parse_errors` is the server logger the receiver gives aiohttp: a request aiohttp could
not parse (the sender's fault, answered 400) is one debug line instead of an error with a
traceback, so a sender of junk cannot fill the log; any other error is logged as before.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 51\r\n\r\n"
    b'{"error": "too many open connections; retry later"}'
)


class _QuietParseErrors(logging.LoggerAdapter):  # type: ignore[type-arg]
    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.debug(f"{msg} (%s, answered 400)", *args, type(exc_info).__name__)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def quiet_parse_errors() -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """aiohttp's server logger, with what it could not parse logged at debug, in one line."""
    return _QuietParseErrors(logging.getLogger("aiohttp.server"), {})


class _Busy(asyncio.Protocol):
    """A connection over the cap: one 503, then closed (nothing it sends is read)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class _CappedFactory:
    def __init__(self, server: web.Server, max_connections: int) -> None:
        self.server = server
        self.max_connections = max_connections
        self.refused = 0
        self._this_turn = 0  # protocols made since the loop's last turn (not counted yet)

    def __call__(self) -> asyncio.BaseProtocol:
        if len(self.server.connections) + self._this_turn >= self.max_connections:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning(
                    "webhook receiver: %d connections open, the most it keeps; refused %d so far",
                    self.max_connections,
                    self.refused,
                )
            return _Busy()
        if self._this_turn == 0:
            asyncio.get_running_loop().call_soon(self._next_turn)
        self._this_turn += 1
        return self.server()

    def _next_turn(self) -> None:
        self._this_turn = 0


class CappedSite(web.BaseSite):
    """Listen on host:port, or on `sock` (a listening socket), keeping at most
    `max_connections` connections open."""

    def __init__(
        self,
        runner: web.BaseRunner,
        *,
        max_connections: int,
        host: str | None = None,
        port: int = 0,
        sock: socket.socket | None = None,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._sock = sock
        assert runner.server is not None
        self.factory = _CappedFactory(runner.server, max_connections)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}" if self._sock is None else "socket"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        if self._sock is not None:
            self._server = await loop.create_server(
                self.factory, sock=self._sock, backlog=self._backlog
            )
        else:
            self._server = await loop.create_server(
                self.factory,
                self._host,
                self._port,
                backlog=self._backlog,
                reuse_address=False,
            )
