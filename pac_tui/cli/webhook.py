"""`pac-tui webhook serve`, `pac-tui events` and `pac-tui events replay`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pac_tui.core.errors import PacTuiError, UsageError
from pac_tui.core.models import iso_utc
from pac_tui.core.paths import data_dir

if TYPE_CHECKING:
    from pac_tui.cli.context import Context
    from pac_tui.webhooks.journal import JournalReader
    from pac_tui.webhooks.models import Delivery


def add_parsers(sub: Any) -> None:
    webhook = sub.add_parser("webhook", help="the webhook receiver")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", metavar="COMMAND", required=True)
    serve = webhook_sub.add_parser(
        "serve", help="receive GitLab webhooks, journal them durably, relay them to PAC"
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, or [webhook] host)")
    serve.add_argument("--port", type=int, help="port (default 8080, or [webhook] port; 0 = any)")
    serve.add_argument("--relay", metavar="URL", help="forward accepted deliveries to this URL")
    serve.add_argument("--smee", metavar="URL", help="also receive from this smee/gosmee channel")
    serve.add_argument("--quiet", action="store_true", help="do not print each delivery")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="receiver processes in front of one journal writer (default: one per CPU on Linux, "
        "else 1)",
    )
    serve.set_defaults(run=cmd_serve)

    events = sub.add_parser("events", help="read the webhook journal; 'events replay ID' resends")
    events.add_argument("--json", action="store_true", help="one JSON object per delivery")
    events.add_argument("--limit", type=int, default=50, metavar="N", help="newest N (default 50)")
    events.add_argument("--repo", metavar="NAME", help="only this repository")
    events.add_argument(
        "--kind", metavar="KIND", help="only this X-Gitlab-Event (e.g. 'Push Hook')"
    )
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new deliveries")
    events.set_defaults(run=cmd_events)
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND")
    replay = events_sub.add_parser("replay", help="send a journaled delivery again")
    replay.add_argument("id", type=int, metavar="ID", help="the delivery's id (see pac-tui events)")
    replay.add_argument("--to", metavar="URL", help="where to (default: [webhook] relay)")
    replay.add_argument(
        "--force",
        action="store_true",
        help="also send a rejected or malformed delivery (as it came: without the webhook secret)",
    )
    replay.add_argument(
        "--json",
        action="store_true",
        dest="replay_json",
        help="print one JSON object: id, to, status, ok, with_secret",
    )
    replay.set_defaults(run=cmd_replay)


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """The `events --json` object; never a token value (the journal never stores one).

    Its texts are `printable` too (a sender chose them: `jq -r` would print an escape sequence
    that JSON only quoted), and `json.dumps` escapes anything that is not ASCII.
    """
    from pac_tui.webhooks.models import printable

    def text(value: str | None) -> str | None:
        return None if value is None else printable(value)

    return {
        "id": delivery.id,
        "received_at": iso_utc(delivery.received_at),
        "repo": text(delivery.repo),
        "project": text(delivery.project),
        "kind": text(delivery.kind),
        "verdict": delivery.verdict.value,
        "summary": text(delivery.summary),
        "pac_event": text(delivery.pac_event),
        "source": text(delivery.source),
        "redeliveries": delivery.redeliveries,
        "relay_status": text(delivery.relay_status),
    }


def delivery_line(delivery: Delivery) -> str:
    """One delivery as `events` and `webhook serve` print it: no text a terminal would act on
    (the kind is a header the sender chose; an older journal may hold raw summaries)."""
    from pac_tui.webhooks.models import printable

    when = iso_utc(delivery.received_at)
    repo = printable(delivery.repo or delivery.project or "-")
    kind = printable(delivery.kind or "-")
    return (
        f"{delivery.id:>7}  {when}  {delivery.verdict.value:<12} {repo:<20} "
        f"{kind}: {printable(delivery.summary)}"
    )


def cmd_serve(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.webhooks.multiproc.group import default_workers
    from pac_tui.webhooks.service import WebhookService

    settings = ctx.config.webhook
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    quiet = args.quiet

    def show(delivery: Delivery) -> None:
        if not quiet:
            print(delivery_line(delivery), file=ctx.out, flush=False)

    def smee_state(state: str) -> None:
        print(f"smee: {state}", file=ctx.err, flush=True)

    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if workers > 1:
        if not hasattr(os, "fork") or not hasattr(socket, "SO_REUSEPORT"):
            raise UsageError("--workers above 1 needs fork and SO_REUSEPORT (Linux)")
        from pac_tui.webhooks.multiproc.group import WorkerSpec, serve
        from pac_tui.webhooks.service import journal_path

        spec = WorkerSpec(
            config=ctx.config,
            data_dir=data_dir(os.environ),
            clock=ctx.clock,
            journal_path=journal_path(data_dir(os.environ)),
            relay_url=args.relay or settings.relay,
            smee_url=args.smee or settings.smee,
            on_delivery=show,
            on_smee_state=smee_state,
            out=ctx.out,
            loop_factory=fast_loop_factory(),
        )
        ctx.out.flush()
        ctx.err.flush()
        code = serve(spec, host, port, workers, ctx.err)
        print("Stopped; every acknowledged delivery is in the journal.", file=ctx.err)
        return code

    service = WebhookService(
        ctx.config,
        data_dir(os.environ),
        ctx.clock,
        relay_url=args.relay or settings.relay,
        smee_url=args.smee or settings.smee,
        on_delivery=show,
        on_smee_state=smee_state,
    )

    async def serve() -> None:
        url = await service.start(host, port)
        print(
            f"Receiving GitLab webhooks at {url} (journal: {service.journal.path}). Ctrl+C stops.",
            file=ctx.err,
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                ctx.out.flush()
        finally:
            await service.stop()
            print("Stopped; every acknowledged delivery is in the journal.", file=ctx.err)

    with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
        runner.run(serve())
    return 0


def fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's default.

    Only for the headless `webhook serve`: the dashboard keeps Textual's loop.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _open_journal(ctx: Context) -> JournalReader:
    from pac_tui.webhooks.journal import JournalReader
    from pac_tui.webhooks.service import journal_path

    path = journal_path(ctx.store.data_dir)
    if not path.exists():
        raise PacTuiError(f"no webhook journal at {path} yet: run pac-tui webhook serve first")
    return JournalReader(path)


def cmd_events(ctx: Context, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.repo:
        ctx.config.repository(args.repo)  # a clear error for a name that is not configured
    journal = _open_journal(ctx)

    def emit(delivery: Delivery) -> None:
        if args.json:
            print(json.dumps(delivery_json(delivery)), file=ctx.out)
        else:
            print(delivery_line(delivery), file=ctx.out)

    newest = journal.recent(args.limit, repo=args.repo, kind=args.kind)
    for delivery in reversed(newest):
        emit(delivery)
    ctx.out.flush()
    if not args.follow:
        return 0
    last = newest[0].id if newest else _last_id(journal)
    while True:  # until Ctrl+C (main: exit 130) or a closed pipe (main: exit 141)
        batch = journal.after(last, 1000, repo=args.repo, kind=args.kind)
        for delivery in batch:
            emit(delivery)
            last = delivery.id
        ctx.out.flush()
        if not batch:
            time.sleep(0.25)


def _last_id(journal: JournalReader) -> int:
    newest = journal.recent(1)
    return newest[0].id if newest else 0


def cmd_replay(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.webhooks.models import TOKEN_HEADER, printable
    from pac_tui.webhooks.relay import replay, shown_url
    from pac_tui.webhooks.replay_rule import needs_force, replay_headers

    target = args.to or ctx.config.webhook.relay
    if not target:
        raise UsageError("where to? give --to URL or set [webhook] relay in the config")
    journal = _open_journal(ctx)
    delivery = journal.get(args.id)
    if delivery is None:
        raise UsageError(f"no delivery {args.id} in the journal")
    if needs_force(delivery) and not args.force:
        raise UsageError(
            f"delivery {args.id} was {delivery.verdict.value}: pac-tui did not vouch for it. "
            "Add --force to send it anyway, as it came (without the webhook secret)"
        )
    repo = ctx.config.repository(delivery.repo) if delivery.repo else None
    headers = replay_headers(delivery, repo.webhook_secret if repo else None)
    status = asyncio.run(replay(target, headers, delivery.body))
    ok = 200 <= status < 300
    shown = printable(shown_url(target))  # never a user:password of the URL
    if args.replay_json or args.json:
        answer = {
            "id": args.id,
            "to": shown,
            "status": status,
            "ok": ok,
            "with_secret": TOKEN_HEADER in headers,
        }
        print(json.dumps(answer), file=ctx.out)
    else:
        print(f"delivery {args.id} replayed to {shown}: HTTP {status}", file=ctx.out)
    return 0 if ok else 1
