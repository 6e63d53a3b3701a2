"""The one HTTP client the gateway uses to reach its upstream, and how its failures are told.

The client never follows redirects (a 3xx goes back to the caller as it came), never
decompresses (``Content-Encoding`` passes through), keeps no cookies (the gateway serves many
callers and must carry nothing from one to another), ignores proxy variables from the
environment, and adds none of aiohttp's default headers.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass

import aiohttp

from .settings import GatewayConfigError, GatewaySettings

# Headers aiohttp's client would invent when the caller sent none; the gateway adds nothing.
NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
# Upstream connections open at once; a request past this waits (within the connect timeout).
POOL_LIMIT = 512


def client_ssl_context(settings: GatewaySettings) -> ssl.SSLContext:
    """Verify the upstream's certificate and host name: the system CAs, or `ca_bundle`."""
    if settings.ca_bundle is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    except ssl.SSLError as exc:
        raise GatewayConfigError(
            f"CA bundle {str(settings.ca_bundle)!r} holds no usable PEM certificate "
            f"({exc.reason or exc})"
        ) from None


def make_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The client session of one gateway (call inside the running loop)."""
    ssl_context = client_ssl_context(settings) if settings.target.scheme == "https" else False
    connector = aiohttp.TCPConnector(limit=POOL_LIMIT, limit_per_host=0, ssl=ssl_context)
    timeout = aiohttp.ClientTimeout(
        total=settings.total_timeout,
        connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        skip_auto_headers=NO_AUTO_HEADERS,
        raise_for_status=False,
    )


@dataclass(frozen=True)
class Failure:
    """How an upstream failure is answered: status, the JSON ``error``, the metric kind, why."""

    status: int
    error: str
    kind: str
    detail: str


UNREACHABLE = "upstream unreachable"
TIMED_OUT = "upstream timed out"


def describe(exc: BaseException) -> Failure:
    """Classify an exception raised while reaching the upstream or reading its answer.

    The detail is short and built here from the exception's type, errno and TLS reason, never
    from its message (aiohttp's messages quote the URL, query included): no token, no value.
    """
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", "") or "certificate rejected"
        return Failure(502, UNREACHABLE, "tls", f"TLS verification failed: {reason}")
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        reason = getattr(exc.os_error, "reason", None) or "handshake failed"
        return Failure(502, UNREACHABLE, "tls", f"TLS handshake failed: {reason}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Failure(502, UNREACHABLE, "dns", f"cannot resolve host {exc.host}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure(504, TIMED_OUT, "timeout", "no connection within the connect timeout")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return Failure(504, TIMED_OUT, "timeout", "no answer within the read timeout")
    if isinstance(exc, asyncio.TimeoutError):  # the total timeout
        return Failure(504, TIMED_OUT, "timeout", "no whole answer within the total timeout")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Failure(502, UNREACHABLE, "connect", f"cannot connect: {_reason(exc.os_error)}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Failure(502, UNREACHABLE, "disconnected", "the upstream closed the connection")
    if isinstance(exc, OSError):
        return Failure(502, UNREACHABLE, "disconnected", f"connection error: {_reason(exc)}")
    return Failure(502, UNREACHABLE, "protocol", f"bad answer ({type(exc).__name__})")


def _reason(error: OSError) -> str:
    """The errno's own words ("connection refused"), or the type's name when there is none."""
    return os.strerror(error.errno).lower() if error.errno else type(error).__name__
