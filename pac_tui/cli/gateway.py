"""`pac-tui gateway`: the in-cluster token gateway (Private-Token → Bearer, one upstream GitLab).

Options come from the flags, else the config's `[gateway]` table; the upstream, else the one
`[gitlab]` instance when exactly one is configured.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pac_tui.core.errors import UsageError

if TYPE_CHECKING:
    from pac_tui.cli.context import Context


def add_parsers(sub: Any) -> None:
    from pac_tui.gateway.options import DESCRIPTION, add_arguments

    p = sub.add_parser(
        "gateway",
        help="the token gateway PAC reaches GitLab through in oauth mode (runs in the cluster)",
        description=DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(run=cmd_gateway)


def cmd_gateway(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.gateway import GatewayConfigError, GatewaySettings
    from pac_tui.gateway.options import configure_logging
    from pac_tui.gateway.server import run

    table = ctx.config.gateway
    upstream = args.upstream or table.upstream or _only_instance(ctx)
    try:
        settings = GatewaySettings(
            upstream=upstream,
            host=args.host or table.host,
            port=table.port if args.port is None else args.port,
            ca_bundle=args.ca_bundle or table.ca_bundle,
            tls_cert=args.tls_cert or table.tls_cert,
            tls_key=args.tls_key or table.tls_key,
            connect_timeout=args.connect_timeout,
            read_timeout=args.read_timeout,
            total_timeout=args.total_timeout,
            drain_seconds=args.drain_seconds,
        )
    except GatewayConfigError as exc:
        raise UsageError(f"gateway: {exc}") from None
    configure_logging(args.log_level)
    return run(settings)


def _only_instance(ctx: Context) -> str:
    urls = sorted({app.url for app in ctx.config.gitlab.values()})
    if len(urls) == 1:
        return urls[0]
    known = f" (configured: {', '.join(urls)})" if urls else ""
    raise UsageError(
        "gateway: which GitLab? give --upstream URL or [gateway] upstream in the config" + known
    )
