"""A TCP proxy in front of a provider that a test can switch to 'down' or '502' at will."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        mode = self.server.mode
        if mode == "down":
            self.request.close()
            return
        if mode == "502":
            self.request.recv(65536)
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.request.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            return
        with socket.create_connection(self.server.upstream) as upstream:
            pumps = [
                threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
                threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
            ]
            for pump in pumps:
                pump.start()
            for pump in pumps:
                pump.join()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode = "forward"
    upstream: tuple[str, int]


@contextlib.contextmanager
def proxy(upstream_port: int) -> Iterator[_Server]:
    """Yields a server whose `.mode` is 'forward', 'down' (connections dropped) or '502'."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.upstream = ("127.0.0.1", upstream_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
