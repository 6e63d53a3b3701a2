"""The aiohttp application: the gateway's own two paths, and everything else forwarded.

``/healthz`` and ``/metrics`` at the root are the gateway's; GitLab serves its API under
``/api/v4`` (and its web pages elsewhere), and has no API at either root path, so nothing a
GitLab client asks for is shadowed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from .access_log import log_request
from .forward import Forwarder, json_error
from .metrics import Metrics
from .settings import GatewaySettings
from .upstream import make_session

HEALTHZ = "/healthz"
METRICS = "/metrics"
OWN_PATHS = frozenset({HEALTHZ, METRICS})
# Every other path is forwarded, raw: "[\s\S]" also matches a newline (a decoded %0A), which
# ".*" would not. The router only picks the handler; the forwarder reads the raw target.
ANY_PATH = r"/{tail:[\s\S]*}"
# A request line or header field may be this long (aiohttp's default is 8190).
MAX_HEADER_LINE = 16384

FORWARDER = web.AppKey("forwarder", Forwarder)
METRICS_KEY = web.AppKey("metrics", Metrics)
SETTINGS = web.AppKey("settings", GatewaySettings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[METRICS_KEY].exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _forward(request: web.Request) -> web.StreamResponse:
    if request.path in OWN_PATHS:  # POST /healthz: the gateway's path, not a method it answers
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    return await request.app[FORWARDER].handle(request)


@web.middleware
async def _unrouted(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What the catch-all route cannot match, a target without a leading "/": CONNECT's
    ``host:port`` is refused here (405), anything else (``OPTIONS *``) by the forwarder (400)."""
    if request.match_info.http_exception is None:
        return await handler(request)
    if request.method == "CONNECT":
        request.app[METRICS_KEY].answered("CONNECT", 405)
        log_request("CONNECT", "-", 405, 0.0, 0, "not a proxy")
        response = json_error(405, {"error": "CONNECT is not allowed: this is not a proxy"})
        response.headers["Allow"] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        response.force_close()
        return response
    return await request.app[FORWARDER].handle(request)


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    """Open the upstream client when the server starts; close it after the last request."""
    forwarder = app[FORWARDER]
    forwarder.session = make_session(app[SETTINGS])
    yield
    await forwarder.session.close()
    forwarder.session = None


def build_app(
    settings: GatewaySettings, *, registry: CollectorRegistry | None = None
) -> web.Application:
    """The gateway's application for `settings`; its metrics go to `registry` (a fresh one by
    default, so two gateways in one process never share counters)."""
    metrics = Metrics(registry)
    protocol = {
        "auto_decompress": False,  # a gzip upload goes upstream as it came
        "keepalive_timeout": settings.keepalive_seconds,
        "max_line_size": MAX_HEADER_LINE,
        "max_field_size": MAX_HEADER_LINE,
    }
    app = web.Application(middlewares=[_unrouted], handler_args=protocol)
    app[SETTINGS] = settings
    app[METRICS_KEY] = metrics
    app[FORWARDER] = Forwarder(settings.target, metrics)
    app.router.add_get(HEALTHZ, _healthz)
    app.router.add_get(METRICS, _metrics)
    app.router.add_route("*", ANY_PATH, _forward)
    app.cleanup_ctx.append(_client_session)
    return app
