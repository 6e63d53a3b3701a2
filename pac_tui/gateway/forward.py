"""Forward one request to the upstream and stream the answer back.

Neither body is ever held whole: the request body is piped upstream chunk by chunk as it
arrives, the response body is piped back the same way, and both sides' flow control (aiohttp's
read buffer limits and transport drain) keep memory flat for a download of any size.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from yarl import URL

from .access_log import log_request
from .headers import client_response_headers, upstream_request_headers
from .metrics import Metrics
from .settings import Upstream
from .target import BadTarget, Target, loggable, split_target, take_private_token
from .upstream import Failure, describe

CLIENT_CLOSED = 499


@dataclass
class Outcome:
    """What the access log and the metrics say about a request once it is over."""

    path: str
    status: int = 0
    sent: int = 0
    note: str = ""


def json_error(status: int, body: dict[str, str]) -> web.Response:
    """A one-line JSON error body, as the gateway's own answers (never the upstream's)."""
    return web.Response(
        status=status, body=json.dumps(body).encode(), content_type="application/json"
    )


class Forwarder:
    """The request handler for every path but the gateway's own; one per application."""

    def __init__(self, upstream: Upstream, metrics: Metrics) -> None:
        self.upstream = upstream
        self.metrics = metrics
        self.session: aiohttp.ClientSession | None = None  # set on start-up, closed on cleanup
        self._base = f"{upstream.scheme}://{upstream.host}:{upstream.port}{upstream.path_prefix}"

    def url_for(self, target: Target, query: str) -> URL:
        """The upstream URL: the raw path and query appended, nothing re-encoded."""
        tail = f"{target.path}?{query}" if query else target.path
        return URL(self._base + tail, encoded=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        outcome = Outcome(path="-")
        self.metrics.in_flight.inc()
        try:
            return await self._forward(request, outcome)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.answered(request.method, outcome.status)
            elapsed = time.perf_counter() - started
            log_request(
                request.method, outcome.path, outcome.status, elapsed, outcome.sent, outcome.note
            )

    async def _forward(self, request: web.Request, outcome: Outcome) -> web.StreamResponse:
        try:
            target = split_target(request.raw_path)
        except BadTarget:
            outcome.status = 400
            return json_error(400, {"error": "bad request target: use an origin-form path"})
        outcome.path = loggable(target)
        token, query = take_private_token(target.query)
        headers = upstream_request_headers(request.headers, token)
        data = request.content.iter_any() if request.body_exists else None
        assert self.session is not None, "the gateway's client session is not started"
        sent_at = time.perf_counter()
        try:
            upstream = await self.session.request(
                request.method,
                self.url_for(target, query),
                headers=headers,
                data=data,
                allow_redirects=False,
            )
        except Exception as exc:  # every failure to reach the upstream is answered, none raised
            if request.transport is None or request.transport.is_closing():
                # The client hung up mid-upload: aiohttp cut the upstream request short; there
                # is no one to answer. 499 (nginx's "client closed request") in log and metrics.
                outcome.status = CLIENT_CLOSED
                outcome.note = "client went away"
                return web.Response(status=CLIENT_CLOSED)
            return self._failed(describe(exc), outcome)
        self.metrics.upstream_latency.observe(time.perf_counter() - sent_at)
        try:
            return await self._stream_back(request, upstream, outcome)
        finally:
            upstream.release()

    def _failed(self, failure: Failure, outcome: Outcome) -> web.Response:
        self.metrics.upstream_errors.labels(kind=failure.kind).inc()
        outcome.status = failure.status
        outcome.note = failure.detail
        body = {"error": failure.error, "upstream": self.upstream.origin, "detail": failure.detail}
        return json_error(failure.status, body)

    async def _stream_back(
        self, request: web.Request, upstream: aiohttp.ClientResponse, outcome: Outcome
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=client_response_headers(upstream.headers),
        )
        outcome.status = upstream.status
        try:
            await response.prepare(request)
        except ConnectionError:
            upstream.close()
            outcome.note = "client went away"
            return response
        try:
            async for chunk in upstream.content.iter_any():
                try:
                    await response.write(chunk)
                except ConnectionError:
                    # The client hung up. Drop the upstream connection too (it is mid-body and
                    # cannot go back to the pool); aiohttp sends nothing on a closed transport.
                    upstream.close()
                    outcome.note = "client went away"
                    return response
                outcome.sent += len(chunk)
        except Exception as exc:
            # The upstream failed mid-body: the status line is sent, so the only honest answer
            # is to cut the client's connection, so that it sees a truncated body, not a whole one.
            upstream.close()
            failure = describe(exc)
            self.metrics.upstream_errors.labels(kind=failure.kind).inc()
            outcome.note = f"upstream failed mid-body: {failure.detail}"
            if request.transport is not None:
                request.transport.close()
            return response
        try:
            await response.write_eof()
        except ConnectionError:
            outcome.note = "client went away"
        return response
