"""Run the gateway: bind, serve until told to stop, drain the requests in flight, exit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from .access_log import LOGGER_NAME, redact_aiohttp_logs
from .app import build_app
from .settings import GatewayConfigError, GatewaySettings
from .tls import server_ssl_context
from .upstream import client_ssl_context

logger = logging.getLogger(LOGGER_NAME)
BACKLOG = 1024


class ListenError(OSError):
    """The gateway could not bind its address (most often: the port is in use)."""


def listening_url(settings: GatewaySettings, port: int) -> str:
    scheme = "https" if settings.serves_tls else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{scheme}://{host}:{port}"


async def serve(
    settings: GatewaySettings,
    *,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set (forever without one), then drain and return.

    Calls `ready(url)` once the socket listens. On stop the listening socket closes at once
    (new connections are refused), requests in flight get up to ``drain_seconds`` to finish
    (a download keeps streaming), idle keep-alive connections are closed.
    Raises `GatewayConfigError` for unusable TLS files, `ListenError` when it cannot bind.
    """
    server_ssl = server_ssl_context(settings)
    if settings.target.scheme == "https":
        client_ssl_context(settings)  # a bad CA bundle fails here, before listening
    app = build_app(settings)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=settings.drain_seconds
    )
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, ssl_context=server_ssl, backlog=BACKLOG
        )
        try:
            await site.start()
        except OSError as exc:
            # asyncio's strerror repeats the address; the errno's own words are enough.
            reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
            where = f"{settings.host}:{settings.port}"
            raise ListenError(exc.errno, f"cannot listen on {where}: {reason}") from None
        url = listening_url(settings, site.port)
        if settings.target.scheme == "http":
            logger.warning("the upstream is plain http: tokens cross the network unencrypted")
        logger.info("listening on %s, forwarding to %s", url, settings.target.origin)
        if ready is not None:
            ready(url)
        await (stop if stop is not None else asyncio.Event()).wait()
        logger.info(
            "stopping: new connections refused, draining for up to %gs", settings.drain_seconds
        )
    finally:
        await runner.cleanup()
    logger.info("stopped")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # Windows, or a build without it: asyncio's own loop
        return None
    return uvloop.new_event_loop


async def _until_signalled(settings: GatewaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            logger.info("%s received", signal.Signals(signum).name)
        stop.set()

    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await serve(settings, stop=stop)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def run(settings: GatewaySettings) -> int:
    """Serve in this process until SIGTERM or SIGINT, then drain; the process's exit status.

    Errors an operator can fix (a TLS file, a port in use) are one line on stderr and a non-zero
    status, never a traceback: 2 for a setting, 1 when the address cannot be bound.
    """
    redact_aiohttp_logs()
    main: Coroutine[Any, Any, None] = _until_signalled(settings)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main)
    except GatewayConfigError as exc:
        print(f"pac-tui: gateway: {exc}", file=sys.stderr)
        return 2
    except ListenError as exc:
        print(f"pac-tui: gateway: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
