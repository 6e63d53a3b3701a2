"""The "seed's approach" to receiving webhooks: a minimal Flask catch-all that logs each request.

Run: .venv/bin/python -m bench.flask_catchall [--port N]  (0 = any free port; the chosen URL is
printed on stdout as `listening on http://127.0.0.1:PORT/`). `bench.webhook_bench` starts it as the
baseline for `pac-tui webhook serve`.

It is the obvious minimal form: any path, POST, parse the JSON, `app.logger.info(...)` one line per
request (INFO enabled, to stderr), answer 200 — served by Flask's built-in development server
(`app.run`, which is threaded by default, like `flask run`) with Werkzeug's per-request access log
left on, as a seed would have it. It checks no token and stores nothing durably.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

from flask import Flask, request


def create_app() -> Flask:
    app = Flask("flask_catchall")
    app.logger.setLevel(logging.INFO)

    @app.route("/", defaults={"path": ""}, methods=["POST"])
    @app.route("/<path:path>", methods=["POST"])
    def catch_all(path: str) -> tuple[str, int]:
        payload = request.get_json(silent=True) or {}
        project = (payload.get("project") or {}).get("path_with_namespace")
        app.logger.info(
            "webhook /%s %s %s (%d bytes)",
            path,
            request.headers.get("X-Gitlab-Event", "-"),
            project,
            request.content_length or 0,
        )
        return "ok\n", 200

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    port = args.port
    if port == 0:  # Flask's server does not report the port it got: pick a free one first
        with socket.socket() as probe:
            probe.bind((args.host, 0))
            port = probe.getsockname()[1]
    print(f"listening on http://{args.host}:{port}/", flush=True)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    create_app().run(host=args.host, port=port)


if __name__ == "__main__":
    main()
