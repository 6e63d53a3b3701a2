"""``pac-tui gateway``: the command line of the gateway (argparse, no other pac_tui import).

`add_arguments` and `settings_from_args` let the main CLI mount this as a sub-command;
`main` is a whole program (``python -m pac_tui.gateway``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .server import run
from .settings import DEFAULT_PORT, GatewayConfigError, GatewaySettings

DESCRIPTION = (
    "Forward GitLab API requests to one GitLab, turning Private-Token into "
    "Authorization: Bearer, so that Pipelines-as-Code can use OAuth access tokens."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = GatewaySettings(upstream="https://gitlab.com")
    add = parser.add_argument
    add("--upstream", required=True, help="the GitLab to forward to, e.g. https://gitlab.com")
    add("--host", default=defaults.host, help="address to listen on (default: %(default)s)")
    add("--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)")
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


def settings_from_args(args: argparse.Namespace) -> GatewaySettings:
    """The settings the parsed arguments describe; raises `GatewayConfigError`."""
    return GatewaySettings(
        upstream=args.upstream,
        host=args.host,
        port=args.port,
        ca_bundle=args.ca_bundle,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        total_timeout=args.total_timeout,
        drain_seconds=args.drain_seconds,
    )


def configure_logging(level: str) -> None:
    """One line per record on stderr, where a container's logs are collected."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pac-tui gateway", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        settings = settings_from_args(args)
    except GatewayConfigError as exc:
        print(f"pac-tui gateway: {exc}", file=sys.stderr)
        return 2
    return run(settings)
