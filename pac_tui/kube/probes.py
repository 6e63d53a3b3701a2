"""The refresher's HTTP endpoints for the kubelet and Prometheus, in the refresher's own loop:

- `/healthz` (liveness): the loop still turns. Every Kubernetes and GitLab call is bounded, so a
  loop that has not turned for `stale_after` seconds is stuck, and a restart is the cure.
- `/readyz` (readiness): the apiserver answered within `stale_after` seconds (the Lease, or the
  list of Secrets without leader election).
- `/metrics`: `pac_tui.kube.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from pac_tui.kube.metrics import CONTENT_TYPE, RefresherMetrics

DEFAULT_PORT = 8080


class Health:
    """Heartbeats of the refresher's loop and of its last answer from the apiserver."""

    def __init__(
        self, stale_after: float = 300.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.stale_after = stale_after
        self._monotonic = monotonic
        self._beat = monotonic()
        self._contact: float | None = None

    def beat(self) -> None:
        self._beat = self._monotonic()

    def contact(self, at: float | None = None) -> None:
        self._contact = self._monotonic() if at is None else at

    def alive(self) -> bool:
        return self._monotonic() - self._beat < self.stale_after

    def ready(self) -> bool:
        return self._contact is not None and self._monotonic() - self._contact < self.stale_after


class ProbeServer:
    """`/healthz`, `/readyz` and `/metrics` on `host:port` (port 0: any free one)."""

    def __init__(self, health: Health, metrics: RefresherMetrics) -> None:
        self.health = health
        self.metrics = metrics
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        ok = self.health.alive()
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "stuck\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        ok = self.health.ready()
        text = "ok\n" if ok else "no answer from the apiserver yet\n"
        return web.Response(status=200 if ok else 503, text=text)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
