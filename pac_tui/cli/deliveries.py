"""`pac-tui deliveries REPO`: what GitLab sent PAC, what PAC answered, and what ran.

The timeline comes from `pac_tui.actions.deliveries` (the same the dashboard shows); this module
only parses the options and prints. The kubernetes client is imported only for a bound repository.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC
from typing import TYPE_CHECKING, Any

from pac_tui.cli.context import Context
from pac_tui.cli.output import print_json, print_table

if TYPE_CHECKING:
    from pac_tui.actions.deliveries import DeliveriesReport, DeliveryView


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "deliveries",
        help="the deliveries GitLab made to PAC (last 7 days), PAC's answers and the "
        "PipelineRuns that followed",
    )
    p.add_argument("repo", metavar="REPO", help="repository name from the config")
    p.add_argument("--limit", type=_count, default=50, help="at most N deliveries (default 50)")
    p.add_argument("--failed", action="store_true", help="only deliveries that failed")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")
    p.set_defaults(run=cmd_deliveries)


def cmd_deliveries(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.actions.deliveries import deliveries_report
    from pac_tui.webhooks.journal import JournalReader
    from pac_tui.webhooks.service import journal_path

    repo = ctx.config.repository(args.repo)
    path = journal_path(ctx.store.data_dir)
    journal = JournalReader(path) if path.exists() else None
    try:
        report = asyncio.run(
            deliveries_report(
                repo,
                ctx.store,
                ctx.clock,
                ctx.clusters if repo.kubernetes is not None else None,
                limit=args.limit,
                failed=args.failed,
                relay_url=ctx.config.webhook.relay,
                journal=journal,
            )
        )
    finally:
        if journal is not None:
            journal.close()
    for note in report.notes:
        print(f"pac-tui: {note}", file=ctx.err)
    if args.json:
        print_json(ctx.out, [view.to_json() for view in report.deliveries])
        return 0
    print_report(ctx, report)
    return 0


def print_report(ctx: Context, report: DeliveriesReport) -> None:
    for state in report.hooks:
        if not state.enabled:
            print(
                f"hook #{state.hook.id} → {state.hook.url}: {state.disabled_text()}; fix the "
                "cause, then send a test event (GitLab: Settings > Webhooks > Test, or key t in "
                "the dashboard's Deliveries screen), which re-enables it when it succeeds",
                file=ctx.out,
            )
    if not report.deliveries:
        print("no deliveries in the last 7 days", file=ctx.out)
        return
    header = ["AT (UTC)", "EVENT", "STATUS", "MS", "PIPELINERUNS" if report.bound else "ANSWER"]
    rows = [header] + [_row(view, report.bound) for view in report.deliveries]
    print_table(ctx.out, rows)


def _row(view: DeliveryView, bound: bool) -> list[str]:
    event = view.event
    at = f"{event.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if event.created_at else "?"
    ms = str(view.duration_ms) if view.duration_ms is not None else ""
    runs = ", ".join(f"{r.name} {r.outcome.status}" for r in view.pipelineruns or [])
    last = runs or (f"none: {view.why}" if view.why else view.answer if not bound else "none")
    return [at, view.summary, event.response_status, ms, last]
