"""The loopback server that receives the browser's answer to an authorization request.

It listens on 127.0.0.1 (or ::1 for an [::1] redirect URI) only, on the configured port or a free
one, and only while one login waits. A request whose `state` is missing or wrong gets a 400 page and
changes nothing: it may be a stale tab or a forgery, and the real answer may still come.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from pac_tui.core.errors import LoginFailed

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pac-tui · {title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;color:#222}}
h1{{font-size:1.4em}} .ok{{color:#1a7f37}} .fail{{color:#cf222e}}</style></head>
<body><h1 class="{css}">{title}</h1><p>{body}</p></body></html>
"""


@dataclass(frozen=True)
class AuthorizationResponse:
    """What came back to the redirect URI: a code, or an error from the provider."""

    code: str | None
    error: str | None = None
    error_description: str | None = None


def page(title: str, body: str, ok: bool) -> str:
    return _PAGE.format(title=escape(title), body=escape(body), css="ok" if ok else "fail")


class CallbackServer:
    """Serve one redirect URI until the response with the expected `state` arrives."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        parts = urlsplit(redirect_uri)
        self._configured = parts
        self._host = "::1" if parts.hostname == "::1" else "127.0.0.1"
        self._port = parts.port or 0
        self._path = parts.path or "/"
        self._state = state
        self._result: asyncio.Future[AuthorizationResponse] | None = None
        self._runner: web.AppRunner | None = None
        self.redirect_uri = redirect_uri

    async def start(self) -> str:
        """Bind and start serving; returns the redirect URI to send, with the real port."""
        self._result = asyncio.get_running_loop().create_future()
        app = web.Application()
        app.router.add_get(self._path, self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=False)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise LoginFailed(
                    f"port {self._port} on {self._host} is in use, and the redirect URI "
                    f"{urlunsplit(self._configured)} asks for that port: stop what uses it, or "
                    "register http://127.0.0.1/callback (any free port then works)"
                ) from None
            raise LoginFailed(
                f"cannot listen on {self._host}:{self._port} for the login callback: {exc.strerror}"
            ) from None
        self._runner = runner
        port = runner.addresses[0][1]
        host = self._configured.hostname
        netloc = f"[{host}]" if self._host == "::1" else host
        self.redirect_uri = urlunsplit(("http", f"{netloc}:{port}", self._path, "", ""))
        return self.redirect_uri

    async def wait(self) -> AuthorizationResponse:
        assert self._result is not None, "start() first"
        return await asyncio.shield(self._result)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        assert self._result is not None
        query = request.rel_url.query
        state = query.get("state", "")
        if not state or not secrets.compare_digest(state.encode(), self._state.encode()):
            return self._page(
                400,
                "Not the login pac-tui is waiting for",
                "This answer does not carry the one-time state of the login in progress (a stale "
                "tab, or a forged link). Nothing was changed. Start the login again from pac-tui "
                "if it is no longer waiting.",
                ok=False,
            )
        if self._result.done():
            return self._page(
                409,
                "Already answered",
                "This login has already been answered. You can close this tab.",
                ok=False,
            )
        error = query.get("error")
        code = query.get("code")
        if error:
            self._result.set_result(
                AuthorizationResponse(None, error, query.get("error_description"))
            )
            reason = "you denied access" if error == "access_denied" else f"GitLab said {error}"
            return self._page(
                200,
                "Login not completed",
                f"pac-tui was not authorized: {reason}. You can close this tab; pac-tui shows "
                "what to do next.",
                ok=False,
            )
        if not code:
            return self._page(
                400, "Incomplete answer", "The answer has neither a code nor an error.", ok=False
            )
        self._result.set_result(AuthorizationResponse(code))
        return self._page(
            200,
            "pac-tui is authorized",
            "You can close this tab and return to pac-tui, which is finishing the login.",
            ok=True,
        )

    @staticmethod
    def _page(status: int, title: str, body: str, ok: bool) -> web.Response:
        return web.Response(
            status=status,
            text=page(title, body, ok),
            content_type="text/html",
            headers=_HEADERS,
        )
