"""The gateway's command-line options and logging, for `pac-tui gateway` (argparse only).

Importing this is cheap: `pac-tui --help` builds these options without loading the server.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .settings import DEFAULT_PORT, GatewaySettings

DESCRIPTION = (
    "Forward GitLab API requests to one GitLab, turning Private-Token into "
    "Authorization: Bearer, so that Pipelines-as-Code can use OAuth access tokens."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gateway's options. --upstream, --host, --port and the TLS files may come from the
    config's `[gateway]` table instead, so they default to None and `pac-tui gateway` fills them
    in."""
    defaults = GatewaySettings(upstream="https://gitlab.com")
    add = parser.add_argument
    add(
        "--upstream",
        help="the GitLab to forward to, e.g. https://gitlab.com (default: [gateway] upstream, "
        "else the one [gitlab] instance)",
    )
    add(
        "--host",
        default=None,
        help=f"address to listen on (default: {defaults.host})",
    )
    add(
        "--port",
        type=int,
        default=None,
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    add("--ca-bundle", type=Path, help="PEM file of the CAs that sign the upstream's certificate")
    add("--tls-cert", type=Path, help="serve HTTPS with this PEM certificate (needs --tls-key)")
    add("--tls-key", type=Path, help="the PEM private key of --tls-cert")
    add("--connect-timeout", type=float, default=defaults.connect_timeout, metavar="SECONDS")
    add("--read-timeout", type=float, default=defaults.read_timeout, metavar="SECONDS")
    add("--total-timeout", type=float, default=defaults.total_timeout, metavar="SECONDS")
    add(
        "--drain-seconds",
        type=float,
        default=defaults.drain_seconds,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may still take (default: %(default)s)",
    )
    add("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def configure_logging(level: str) -> None:
    """One line per record on stderr, where a container's logs are collected."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
