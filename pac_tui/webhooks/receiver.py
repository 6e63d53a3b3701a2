"""The webhook receiver: checks X-Gitlab-Token, journals every delivery durably, then answers.

A 2xx goes out only once the delivery is committed to the journal (group commit keeps that cheap
under load). Nothing a client sends can cause a 5xx: bad JSON is a 400, a wrong token a 401, a
body over 25 MB a 413, a body that does not arrive in time a 408, a missing, bad or stale
signature (for a repository with a signing token: signature.py) a 401 saying which, too many
refused deliveries from one address a 429 (limits.py, which also caps what is kept of a delivery
nobody can vouch for, and says what slow or idle clients may hold: `ConnectionLimits`, the cap in
site.py). The token header's value is compared in constant time and never stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import replace

import orjson
from aiohttp import web

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config
from pac_tui.core.errors import PacTuiError
from pac_tui.webhooks import signature
from pac_tui.webhooks.callbacks import MaybeAwaitable, run_callback
from pac_tui.webhooks.journal import JournalWriter
from pac_tui.webhooks.limits import REFUSED, ConnectionLimits, RefusalLimiter, cap_unvouched
from pac_tui.webhooks.models import (
    TOKEN_HEADER,
    Delivery,
    Verdict,
    redact_headers,
    safe_headers,
    safe_text,
)
from pac_tui.webhooks.site import CappedSite, quiet_parse_errors
from pac_tui.webhooks.summary import MAX_LINE, summarize
from pac_tui.webhooks.summary.pac import pac_refusal, with_refusal

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024

OnDelivery = Callable[[Delivery, Mapping[str, str], bytes], MaybeAwaitable]


class Receiver:
    """Turns (headers, body) into a journaled `Delivery`; serves HTTP with aiohttp.

    `on_delivery(delivery, original_headers, body)` runs after the delivery is durable: the
    dashboard feeds its log pane from it and the relay forwards from it (with the original token).
    """

    def __init__(
        self,
        config: Config,
        journal: JournalWriter,
        clock: Clock,
        on_delivery: OnDelivery | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.config = config
        self.limits = limits or ConnectionLimits()
        self.journal = journal
        self.clock = clock
        self.on_delivery = on_delivery
        self.refusals = RefusalLimiter()
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/{tail:.*}", self._handle_post)
        app.router.add_get("/{tail:.*}", self._handle_get)
        return app

    async def start(self, host: str, port: int, sock: socket.socket | None = None) -> str:
        """Listen on host:port (0 = any free port), or on `sock`, a listening socket; returns
        the URL. Raises a clear error."""
        runner = web.AppRunner(
            self.application(),
            handle_signals=False,
            access_log=None,
            keepalive_timeout=self.limits.keepalive_s,
            logger=quiet_parse_errors(),
            # what is left of an unread body (a 408, a 413) is drained at most this long
            lingering_time=self.limits.keepalive_s,
        )
        await runner.setup()
        site = CappedSite(
            runner,
            max_connections=self.limits.max_connections,
            host=host,
            port=port,
            sock=sock,
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise PacTuiError(
                f"cannot listen for webhooks on {host}:{port}: {exc.strerror or exc}; "
                "choose another --port (or [webhook] port) or stop what uses it"
            ) from None
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_get(self, request: web.Request) -> web.Response:
        return web.Response(
            text="pac-tui webhook receiver: point a GitLab project hook here (POST).\n"
        )

    async def _handle_post(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(self.limits.body_s):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response(
                {"error": "payload too large", "limit_bytes": MAX_BODY}, status=413
            )
        except TimeoutError:
            # A body that trickles in holds a connection and a buffer: nothing is stored.
            slow = web.json_response(
                {"error": f"the body did not arrive within {self.limits.body_s:g} s"}, status=408
            )
            slow.force_close()
            return slow
        headers = dict(request.headers)
        delivery = self.judge(headers, body)
        source = request.remote or "unknown"
        if delivery.verdict in REFUSED and not self.refusals.allow(source, self.clock.now()):
            # A source that keeps sending what is refused gets nothing stored: not its junk,
            # and not the disk of everyone else's deliveries.
            return web.json_response(
                {"error": "too many refused deliveries from this address; slow down"},
                status=429,
                headers={"Retry-After": str(self.refusals.retry_after(source))},
            )
        try:
            delivery = await self.store(delivery, headers, body)
        except PacTuiError as exc:
            # The journal could not make the delivery durable: not the sender's fault, and
            # GitLab retries on a 503. The why (a path, an SQLite error) goes to the log only.
            log.warning("webhook delivery not stored: %s", exc)
            return web.json_response(
                {"error": "the delivery could not be stored; retry later"}, status=503
            )
        status = {Verdict.REJECTED: 401, Verdict.MALFORMED: 400}.get(delivery.verdict, 200)
        answer = {"id": delivery.id, "verdict": delivery.verdict.value}
        if "signature" in delivery.extra:  # which signature check failed, in fixed words
            answer["error"] = delivery.extra["signature"]
        return web.Response(
            body=orjson.dumps(answer),
            status=status,
            content_type="application/json",
        )

    async def ingest(
        self, headers: Mapping[str, str], body: bytes, source: str = "http"
    ) -> Delivery:
        """Judge, journal (durably) and announce one delivery; returns it with its journal id."""
        return await self.store(self.judge(headers, body, source), headers, body)

    async def store(self, delivery: Delivery, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Journal (durably) and announce a judged delivery; returns it with its journal id."""
        appended = await self.journal.append(delivery)
        stored = replace(delivery, id=appended.id)
        if self.on_delivery is not None and not appended.duplicate:
            await run_callback(self.on_delivery, stored, headers, body)
        return stored

    def judge(self, headers: Mapping[str, str], body: bytes, source: str = "http") -> Delivery:
        """Everything but the journal: parse, summarize, match the repository, check the token."""
        lowered = {k.lower(): v for k, v in headers.items()}
        # What is stored and shown is safe text (bytes that are not UTF-8 become U+FFFD); the
        # token is compared, and the relay forwards, as received.
        kind = safe_text(lowered.get("x-gitlab-event", ""))
        common = {
            "received_at": self.clock.now(),
            "kind": kind,
            "headers": redact_headers(safe_headers(headers)),
            "idempotency_key": safe_text(lowered.get("idempotency-key") or "") or None,
            "event_uuid": safe_text(lowered.get("x-gitlab-event-uuid") or "") or None,
            "source": source,
        }
        payload = parse_json(body)
        if not isinstance(payload, dict):
            what = (
                "not JSON" if payload is None else f"JSON {type(payload).__name__}, not an object"
            )
            return cap_unvouched(
                Delivery(
                    verdict=Verdict.MALFORMED,
                    summary=f"malformed delivery ({what}, {len(body)} bytes)",
                    body=body,
                    **common,
                )
            )

        summary = summarize(kind, payload)
        repo = (
            self.config.repository_for_project(summary.project, lowered.get("x-gitlab-instance"))
            if summary.project
            else None
        )
        sent = lowered.get(TOKEN_HEADER.lower(), "")
        line, refusal, extra = summary.line, None, {}
        token = repo.webhook_signing_token if repo else None
        unsigned = signature.check(token, lowered, body, self.clock.now())
        if repo is None:
            verdict = Verdict.UNKNOWN_REPO
        elif unsigned is not None:  # a signing token: a valid, fresh signature is needed too
            verdict, refusal, extra = Verdict.REJECTED, str(unsigned), {"signature": str(unsigned)}
            line = signature.rejected_line(summary.line, unsigned, lowered)
        elif repo.webhook_secret is None:
            verdict = Verdict.UNVERIFIED
            refusal = pac_refusal(None, sent)  # PAC refuses what pac-tui cannot check: say so
            line = with_refusal(summary.line, refusal or "", MAX_LINE)
        else:
            good = secrets.compare_digest(
                sent.encode("utf-8", "surrogateescape"), repo.webhook_secret.encode()
            )
            verdict = Verdict.ACCEPTED if good else Verdict.REJECTED
            refusal = pac_refusal(repo.webhook_secret, sent)
        return cap_unvouched(
            Delivery(
                verdict=verdict,
                summary=line,
                body=body,
                repo=repo.name if repo else None,
                project=summary.project,
                pac_event=None if refusal else summary.pac_event,  # what PAC's Validate refuses
                extra=extra,
                **common,
            )
        )


def parse_json(body: bytes) -> object:
    """The JSON value of `body`, None if it is not JSON.

    orjson first (several times faster); what it refuses but Python's json accepts (NaN, integers
    over 64 bits, UTF-16, lone surrogates) goes to json, so verdicts are those of `json.loads`.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None
