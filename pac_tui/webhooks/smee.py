"""Receive webhooks through a smee.io or gosmee channel (Server-Sent Events) instead of a port.

Wire format (smee.io `lib/server.js`; gosmee `gosmee/server.go`, `gosmee/client.go`):

- The client GETs the channel URL with `Accept: text/event-stream` (smee.io checks the exact value).
- smee.io sends `event: ready` and, every 30 s, `event: ping`, both with `data: {}`. Older gosmee
  servers send `data: ready` with no event name; newer ones `data: {"message":"ready"}` (and
  `{"message":"connected"}`). All of these are control messages, not deliveries.
- A delivery is an unnamed event whose data is one JSON object: the original request headers as
  top-level keys, lowercased (`x-gitlab-event`, `x-gitlab-token`, `content-type`, `host`, …),
  beside `timestamp` (ms since the epoch) and the body. smee.io puts the *parsed* body under `body`
  (plus `query`); gosmee puts the raw bytes, base64-encoded, under `bodyB`.

From smee.io the body bytes are therefore a compact re-encoding, not GitLab's exact bytes; from
gosmee they are exact. Old gosmee servers stream only to a User-Agent containing "gosmee", so ours
says "gosmee-compatible".
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from pac_tui import __version__
from pac_tui.webhooks.models import printable
from pac_tui.webhooks.relay import HOP_BY_HOP

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[dict[str, str], bytes], Awaitable[None]]

USER_AGENT = f"pac-tui/{__version__} (gosmee-compatible)"

# Keys of a smee/gosmee message that are not request headers.
NOT_HEADERS = frozenset({"body", "bodyb", "query", "timestamp"})

# GitLab's spelling of headers that plain title-casing gets wrong.
CANONICAL_NAMES = {
    "x-gitlab-event-uuid": "X-Gitlab-Event-UUID",
    "x-gitlab-webhook-uuid": "X-Gitlab-Webhook-UUID",
}

CONTROL_DATA = frozenset({"", "ready", "{}"})
CONTROL_EVENTS = frozenset({"ready", "ping"})

# No read timeout: the stream is silent between webhooks (see IDLE_TIMEOUT).
STREAM_TIMEOUT = httpx.Timeout(10.0, read=None)
IDLE_TIMEOUT = 90.0  # reconnect after this long without data, once the server has been seen pinging


class NotADelivery(ValueError):
    """A message on the channel that carries no webhook (a control message or garbage)."""


def header_name(key: str) -> str:
    """`x-gitlab-event` -> `X-Gitlab-Event`. Header names are case-insensitive: this is for show."""
    lowered = key.lower()
    if lowered in CANONICAL_NAMES:
        return CANONICAL_NAMES[lowered]
    return "-".join(part[:1].upper() + part[1:] for part in lowered.split("-"))


def _header_value(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)  # Node joins repeated headers into a list for a few names
    return None


def parse_message(data: str) -> tuple[dict[str, str], bytes]:
    """Turn one SSE `data` field into (headers, body). Raises NotADelivery for anything else."""
    text = data.strip()
    if text in CONTROL_DATA:
        raise NotADelivery("control message")
    try:
        payload = json.loads(text)
    except ValueError:
        raise NotADelivery("not JSON") from None
    if not isinstance(payload, dict):
        raise NotADelivery("not a JSON object")
    if "ciphertext" in payload:
        raise NotADelivery("encrypted gosmee channel (not supported)")
    if "bodyB" in payload:
        try:
            body = base64.b64decode(payload["bodyB"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise NotADelivery("bodyB is not base64") from None
    elif "body" in payload:
        raw = payload["body"]
        if isinstance(raw, str):
            body = raw.encode()  # a text body, kept as sent
        else:
            body = json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        raise NotADelivery("no body")  # e.g. {"message": "ready"}

    headers: dict[str, str] = {}
    for key, value in payload.items():
        if not isinstance(key, str) or key.lower() in NOT_HEADERS:
            continue
        if key.lower() in HOP_BY_HOP:
            continue
        text_value = _header_value(value)
        if text_value is not None:
            headers[header_name(key)] = text_value
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return headers, body


class _Disconnected(Exception):
    """The stream ended or could not be opened; the text says why."""

    def __init__(self, reason: str, got_events: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.got_events = got_events


class SmeeSource:
    """Subscribe to a smee/gosmee channel and hand each webhook to `on_delivery`.

    `run()` runs until cancelled, reconnecting with `backoff` (the delay index resets once a
    connection has delivered an event). `on_state` hears "connected" and
    "reconnecting in Ns: <reason>".
    """

    def __init__(
        self,
        url: str,
        on_delivery: DeliveryCallback,
        *,
        backoff: Sequence[float] = (1, 2, 5, 10, 30),
        on_state: Callable[[str], None] | None = None,
        client: httpx.AsyncClient | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.url = url
        self._on_delivery = on_delivery
        self._backoff = tuple(float(d) for d in backoff) or (1.0,)
        self._on_state = on_state
        self._client = client
        self._idle_timeout = idle_timeout
        self.delivered = 0

    async def run(self) -> None:
        client = self._client or httpx.AsyncClient()
        failures = 0
        try:
            while True:
                try:
                    got_events = await self._stream(client)
                    reason = "stream ended"
                except _Disconnected as exc:
                    got_events, reason = exc.got_events, exc.reason
                except httpx.HTTPError as exc:  # SSEError is one too
                    got_events, reason = False, _error_reason(exc)
                except Exception as exc:
                    log.exception("smee channel: unexpected error")
                    got_events, reason = False, _error_reason(exc)
                if got_events:
                    failures = 0
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                self._state(f"reconnecting in {delay:g}s: {reason}")
                await asyncio.sleep(delay)
        finally:
            if self._client is None:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _stream(self, client: httpx.AsyncClient) -> bool:
        """Read one connection until it ends. Returns whether it delivered any event."""
        got_events = False
        idle_limit: float | None = None  # only once the server has shown that it pings
        async with aconnect_sse(
            client, "GET", self.url, headers={"User-Agent": USER_AGENT}, timeout=STREAM_TIMEOUT
        ) as source:
            response = source.response
            if response.status_code != 200:
                phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
                raise _Disconnected(f"HTTP {response.status_code}{phrase}", False)
            content_type = response.headers.get("content-type", "").partition(";")[0].strip()
            if content_type != "text/event-stream":
                raise _Disconnected(f"not an event stream ({content_type or 'no type'})", False)
            self._state("connected")
            events = source.aiter_sse()
            try:
                while True:
                    try:
                        async with asyncio.timeout(idle_limit):
                            event = await anext(events)
                    except StopAsyncIteration:
                        return got_events
                    except TimeoutError:
                        raise _Disconnected(f"no data for {idle_limit:g}s", got_events) from None
                    got_events = True
                    if event.event == "ping":
                        idle_limit = self._idle_timeout
                    if event.event in CONTROL_EVENTS:
                        continue
                    await self._handle(event.data)
            finally:
                await events.aclose()

    async def _handle(self, data: str) -> None:
        try:
            headers, body = parse_message(data)
        except NotADelivery as exc:
            if str(exc) not in ("control message", "no body"):
                log.warning("smee channel: ignored a message: %s", exc)
            return
        try:
            await self._on_delivery(headers, body)
        except Exception:
            log.exception("smee channel: handling a delivery failed")
        else:
            self.delivered += 1

    def _state(self, text: str) -> None:
        if self._on_state is None:
            return
        try:
            self._on_state(printable(text))  # a reason may quote what the server sent
        except Exception:
            log.exception("smee state callback failed")


def _error_reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name
