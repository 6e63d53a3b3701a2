"""`pac-tui repos`, `pac-tui sync` and `pac-tui refresher`: PAC on Kubernetes, headless.

The `kubernetes` client is imported inside each command, so `pac-tui --help` and the other
commands never pay for it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from pac_tui.cli.context import Context, add_repo_or_all, for_each
from pac_tui.cli.output import Report, print_json, print_table
from pac_tui.core.errors import UsageError

if TYPE_CHECKING:
    from pac_tui.core.config import Repository
    from pac_tui.kube.repositories import PacRepository


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("repos", help="list PAC Repository resources in the cluster")
    _cluster_args(p)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=cmd_repos)

    p = sub.add_parser("sync", help="write a bound repository's token into its PAC Secret")
    add_repo_or_all(p, "repository name from the config", "every bound repository")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=cmd_sync)

    p = sub.add_parser(
        "refresher", help="keep managed Secrets fresh from inside the cluster (leader-elected)"
    )
    _cluster_args(p)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace to watch (default: the context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("--lease-namespace", help="namespace of the Lease (default: the context's)")
    p.add_argument("--lease-name", default="pac-tui-refresher", help="name of the Lease")
    p.add_argument("--identity", help="this replica's name in the Lease (default: pod name)")
    p.add_argument("--no-leader-election", action="store_true", help="for a single replica")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    p.add_argument("--lease-duration", type=int, default=15, help="seconds (default 15)")
    p.add_argument("--renew-deadline", type=int, default=10, help="seconds (default 10)")
    p.add_argument("--retry-period", type=int, default=2, help="seconds (default 2)")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument(
        "--json",
        action="store_true",
        help="with --once: print a JSON list, one object per Secret (the log stays on stderr)",
    )
    p.add_argument(
        "--flush-seconds",
        type=float,
        default=20.0,
        help="how long to keep retrying a new token not yet written, on SIGTERM or after --once "
        "(default 20; keep it below the pod's terminationGracePeriodSeconds)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=8080,  # pac_tui.kube.probes.DEFAULT_PORT, not imported: --help stays light
        help="port of /metrics, /healthz and /readyz (default 8080; 0: none)",
    )
    p.add_argument("--metrics-address", default="0.0.0.0", help="address to listen on")  # noqa: S104
    p.set_defaults(run=cmd_refresher)


def _cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")


def cmd_repos(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.kube.repositories import list_repositories

    cluster = ctx.clusters.get(args.context)
    namespace = None if args.all_namespaces else (args.namespace or cluster.namespace)
    repos = list_repositories(cluster, namespace)
    bound = bound_names(ctx, repos, cluster.context)
    if args.json:
        print_json(ctx.out, [repo_json(r, bound.get(r.key)) for r in repos])
        return 0
    if not repos:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        print(f"No PAC Repository resources in {where} (context {cluster.context}).", file=ctx.out)
        return 0
    rows = [("NAMESPACE", "NAME", "PROJECT", "GITLAB", "SECRET", "BOUND", "LAST RUN")]
    for repo in repos:
        secret = f"{repo.secret.name}:{repo.secret.key}" if repo.secret else "—"
        run = repo.last_run.status if repo.last_run else "—"
        host = repo.instance.split("://", 1)[-1]
        rows.append(
            (repo.namespace, repo.name, repo.project, host, secret, bound.get(repo.key, "—"), run)
        )
    print_table(ctx.out, rows)
    return 0


def bound_names(ctx: Context, repos: list[PacRepository], context: str) -> dict[str, str]:
    """namespace/name of a Repository resource → the config's repository bound to it."""
    keys = {r.key for r in repos}
    bound = {}
    for repo in ctx.config.repositories:
        binding = repo.kubernetes
        if binding is None or (binding.context not in (None, context)):
            continue
        if binding.key in keys:
            bound[binding.key] = f"{repo.name} ({binding.mode})"
    return bound


def repo_json(repo: PacRepository, bound: str | None) -> dict[str, Any]:
    from pac_tui.core.models import iso_utc

    run = repo.last_run
    return {
        "namespace": repo.namespace,
        "name": repo.name,
        "url": repo.url,
        "gitlab": repo.instance,
        "project": repo.project,
        "user": repo.user,
        "secret": {"name": repo.secret.name, "key": repo.secret.key} if repo.secret else None,
        "webhook_secret": (
            {"name": repo.webhook_secret.name, "key": repo.webhook_secret.key}
            if repo.webhook_secret
            else None
        ),
        "bound": bound,
        "last_run": (
            {"name": run.name, "status": run.status, "finished_at": iso_utc(run.finished_at)}
            if run
            else None
        ),
    }


def cmd_sync(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.kube.sync import sync

    if args.all:
        repos = [r for r in ctx.config.repositories if r.kubernetes is not None]
        if not repos:
            raise UsageError("no repository in the config has a [repositories.kubernetes] table")
    else:
        repos = [ctx.config.repository(args.repo)]

    report = Report(SYNC_KEYS) if args.json else None

    async def one(repo: Repository) -> bool:
        result = await sync(repo, ctx.store, ctx.clock, ctx.clusters)
        if report is not None:
            report.add(**result.to_json())
        else:
            print(result.describe(), file=ctx.out)
        for warning in result.warnings:
            print(f"pac-tui: {repo.name}: warning: {warning}", file=ctx.err)
        return True

    status = asyncio.run(for_each(ctx, repos, args.all, one, report))
    if report is not None:
        report.print(ctx.out)
    return status


# The keys of the --json objects of `sync` and `refresher --once` (README, "JSON output").
SYNC_KEYS = ("repo", "action", "secret", "expires_at", "warnings", "error")
REFRESHER_KEYS = ("secret", "action", "message", "error")


def cmd_refresher(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.kube.lease import LeaderElector
    from pac_tui.kube.refresher import Refresher

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    if args.json and not args.once:
        raise UsageError("--json goes with --once (a running refresher reports through its log)")
    cluster = ctx.clusters.get(args.context)
    namespace = None if args.all_namespaces else (args.namespace or cluster.namespace)
    elector = None
    if not args.no_leader_election and not args.once:
        identity = args.identity or os.environ.get("POD_NAME") or socket.gethostname()
        elector = LeaderElector(
            cluster,
            args.lease_namespace or cluster.namespace,
            identity,
            name=args.lease_name,
            lease_duration=args.lease_duration,
            renew_deadline=args.renew_deadline,
            retry_period=args.retry_period,
        )
    refresher = Refresher(
        cluster,
        namespace,
        ctx.config,
        ctx.clock,
        elector=elector,
        interval=args.interval,
        flush_seconds=args.flush_seconds,
    )
    if args.once:

        async def once() -> list[Any]:
            outcomes = await refresher.run_once()
            return outcomes + await refresher.flush(args.flush_seconds)

        outcomes = asyncio.run(once())
        last = {o.secret: o for o in outcomes}  # a retried write ends as written
        if args.json:
            report = Report(REFRESHER_KEYS)
            for o in last.values():
                error = o.message if o.failed else None
                report.add(secret=o.secret, action=o.action.value, message=o.message, error=error)
            report.print(ctx.out)
        else:
            for outcome in outcomes:
                print(f"{outcome.secret}: {outcome.action}: {outcome.message}", file=ctx.out)
        if refresher.list_error is not None:  # a pass that saw no Secret did not do its job
            print(f"pac-tui: refresher: {refresher.list_error}", file=sys.stderr)
            return 1
        return 1 if any(outcome.failed for outcome in last.values()) else 0

    async def serve() -> None:
        from pac_tui.kube.probes import ProbeServer

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        probes = ProbeServer(refresher.health, refresher.metrics)
        if args.metrics_port:
            port = await probes.start(args.metrics_address, args.metrics_port)
            logging.info("metrics and probes on port %d (/metrics /healthz /readyz)", port)
        where = "all namespaces" if namespace is None else f"namespace {namespace}"
        logging.info("refresher watching %s (context %s)", where, cluster.context)
        try:
            await refresher.run(stop)
        finally:
            await probes.stop()
        logging.info("refresher stopped")

    asyncio.run(serve())
    return 0
