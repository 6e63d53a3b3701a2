"""The `pac-tui` command: every action of the dashboard, headless, over the same core.

Exit status: 0 done, 1 the operation failed (provider refused, network, store), 2 usage or config
error. Progress goes to stderr, results to stdout. No output ever contains a token value.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pac_tui import __version__, kube_commands, onboard_commands, webhook_commands
from pac_tui.clock import Clock, SystemClock
from pac_tui.config import Config, Repository, load_config
from pac_tui.errors import PacTuiError, UsageError
from pac_tui.humanize import ago, countdown
from pac_tui.models import TokenRecord, iso_utc
from pac_tui.paths import config_path, data_dir
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.status import ClusterStatus


@dataclass
class Context:
    config: Config
    config_path: Path
    store: TokenStore
    clock: Clock
    out: TextIO
    err: TextIO


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pac-tui",
        description="GitLab OAuth tokens for Tekton Pipelines-as-Code, without personal access "
        "tokens. Config: --config, $PAC_TUI_CONFIG, or the user config dir; state: "
        "$PAC_TUI_DATA_DIR or the user data dir.",
    )
    parser.add_argument("--version", action="version", version=f"pac-tui {__version__}")
    parser.add_argument("--config", metavar="PATH", help="config file (TOML)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("login", help="authorize pac-tui for a repository in the browser")
    p.add_argument("repo", metavar="REPO", help="repository name from the config")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--no-browser", action="store_true", help="only print the URL to open, do not open it"
    )
    how.add_argument(
        "--device",
        action="store_true",
        help="device login (GitLab 17.3+): print a code and a URL (and its QR code) to answer "
        "in a browser anywhere",
    )
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=180.0,
        metavar="SECONDS",
        help="how long to wait for the browser (default 180)",
    )
    p.set_defaults(run=cmd_login)

    p = sub.add_parser("status", help="show each repository's authorization and token expiry")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("refresh", help="refresh a repository's tokens now")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("repo", nargs="?", metavar="REPO", help="repository name")
    target.add_argument("--all", action="store_true", help="every logged-in repository")
    p.add_argument(
        "--if-expiring-within",
        type=_positive_seconds,
        metavar="SECONDS",
        help="only refresh when the access token expires within SECONDS",
    )
    p.set_defaults(run=cmd_refresh)

    p = sub.add_parser("revoke", help="revoke a repository's tokens at GitLab and forget them")
    p.add_argument("repo", metavar="REPO", help="repository name")
    p.set_defaults(run=cmd_revoke)

    webhook_commands.add_parsers(sub)
    kube_commands.add_parsers(sub)
    onboard_commands.add_parsers(sub)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        config = load_config(args.config)
        path, _ = config_path(args.config, os.environ)
        ctx = Context(config, path, TokenStore(data_dir(os.environ)), SystemClock(), out, err)
        run: Callable[[Context, argparse.Namespace], int] = getattr(args, "run", cmd_dashboard)
        return run(ctx, args)
    except PacTuiError as exc:
        print(f"pac-tui: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pac-tui: interrupted; nothing was changed", file=err)
        return 130


def cmd_dashboard(ctx: Context, args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal; see pac-tui --help for the commands")
    from pac_tui.ui.app import PacTuiApp
    from pac_tui.ui.context import AppContext

    app = PacTuiApp(AppContext(config=ctx.config, config_path=ctx.config_path, store=ctx.store))
    app.run()
    return 0


def cmd_login(ctx: Context, args: argparse.Namespace) -> int:
    import webbrowser

    from pac_tui.oauth.login import login

    repo = ctx.config.repository(args.repo)
    if getattr(args, "device", False):
        record = _device_login(ctx, repo)
        _print_logged_in(ctx, repo, record)
        return 0

    def show(url: str) -> None:
        action = (
            "Open this URL"
            if args.no_browser
            else "Opening your browser; if it does not open, visit"
        )
        print(
            f"Authorizing pac-tui for {repo.name} ({repo.project}) on {repo.gitlab.url}.\n"
            f"{action}:\n\n  {url}\n\nWaiting up to {args.timeout:.0f} s for the answer "
            "(Ctrl+C cancels)…",
            file=ctx.err,
            flush=True,
        )

    record = asyncio.run(
        login(
            repo,
            ctx.store,
            ctx.clock,
            on_authorize_url=show,
            open_browser=None if args.no_browser else webbrowser.open,
            wait_seconds=args.timeout,
        )
    )
    _print_logged_in(ctx, repo, record)
    return 0


def _device_login(ctx: Context, repo: Repository) -> TokenRecord:
    from pac_tui.oauth.device import DeviceAuthorization, device_login
    from pac_tui.qr import qr_text

    def show(auth: DeviceAuthorization) -> None:
        left = countdown((auth.expires_at - ctx.clock.now()).total_seconds())
        print(
            f"Authorizing pac-tui for {repo.name} ({repo.project}) on {repo.gitlab.url}.\n"
            f"On any device with a browser, open:\n\n  {auth.verification_uri}\n\n"
            f"and enter the code:  {auth.user_code}\n\n"
            f"or open this URL, or scan the QR code, with the code filled in:\n\n"
            f"  {auth.url_to_open}\n\n{qr_text(auth.url_to_open)}\n\n"
            f"The code expires in {left}. Waiting for the answer (Ctrl+C cancels)…",
            file=ctx.err,
            flush=True,
        )

    return asyncio.run(device_login(repo, ctx.store, ctx.clock, on_code=show))


def _print_logged_in(ctx: Context, repo: Repository, record: TokenRecord) -> None:
    tokens = record.tokens
    assert tokens is not None
    who = f" as {record.username}" if record.username else ""
    expiry = (
        f"the access token expires in {countdown(tokens.expires_in(ctx.clock.now()))} "
        f"({iso_utc(tokens.expires_at)}) and will be refreshed"
        if tokens.expires_at
        else "the access token does not expire"
    )
    print(
        f"Logged in to {repo.gitlab.url}{who} for {repo.name} ({repo.project}); "
        f"scopes: {' '.join(tokens.scopes)}; {expiry}.",
        file=ctx.out,
    )


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.status import State, status_all

    now = ctx.clock.now()
    rows = status_all(ctx.config, ctx.store.read_all(), now)
    if getattr(args, "json", False):
        json.dump([row.to_json() for row in rows], ctx.out, indent=2)
        ctx.out.write("\n")
        return 0
    if not rows:
        where = ctx.config.path or "the config file"
        print(f"No repositories configured. Add a [[repositories]] entry to {where}.", file=ctx.out)
        return 0
    bound = any(row.cluster for row in rows)
    table = [("NAME", "PROJECT", "GITLAB", "STATE", "EXPIRES IN", "REFRESHED")]
    if bound:
        table[0] += ("CLUSTER",)
    for row in rows:
        host = row.gitlab.split("://", 1)[-1]
        line: tuple[str, ...] = (
            row.name,
            row.project,
            host,
            row.state.value,
            countdown(row.expires_in) if row.expires_at else "—",
            ago(row.refreshed_at, now) if row.refreshed_at else "—",
        )
        if bound:
            line += (_cluster_cell(row.cluster),)
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for line in table:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip(),
            file=ctx.out,
        )
    notes = [(row.name, row.message) for row in rows if row.message]
    notes += [
        (row.name, row.cluster.message)
        for row in rows
        if row.cluster and row.cluster.message and row.state is not State.NEEDS_LOGIN
    ]
    if notes:
        print(file=ctx.out)
        for name, message in notes:
            print(f"{name}: {message}", file=ctx.out)
    return 0


def _cluster_cell(cluster: ClusterStatus | None) -> str:
    if cluster is None:
        return "—"
    where = f"{cluster.namespace}/{cluster.repository} ({cluster.mode})"
    return f"{where} synced" if cluster.synced else f"{where} NOT SYNCED"


def cmd_refresh(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.oauth.refresh import RefreshAction, RefreshResult, refresh
    from pac_tui.status import State, repo_status

    repos = list(ctx.config.repositories) if args.all else [ctx.config.repository(args.repo)]
    if args.all and not repos:
        raise UsageError("no repositories configured")
    records = ctx.store.read_all() if args.all else {}
    clusters = None
    if any(repo.kubernetes for repo in repos):
        from pac_tui.kube.cluster import Clusters

        clusters = Clusters()

    async def one(repo: Repository) -> tuple[RefreshResult, str | None]:
        """Refresh; for a repository bound to a PAC Secret, also bring the Secret up to date."""
        if clusters is None or repo.kubernetes is None:
            result = await refresh(
                repo, ctx.store, ctx.clock, if_expiring_within=args.if_expiring_within
            )
            return result, None
        from pac_tui.kube.sync import refresh_and_sync

        bound = await refresh_and_sync(
            repo, ctx.store, ctx.clock, clusters, if_expiring_within=args.if_expiring_within
        )
        if bound.sync_error is not None:
            return bound.refresh, str(bound.sync_error)
        assert bound.sync is not None
        return bound.refresh, None

    async def run_all() -> int:
        status = 0
        for repo in repos:
            if args.all:
                current = repo_status(repo, records.get(repo.name), ctx.clock.now())
                if current.state is State.NEEDS_LOGIN:
                    print(f"{repo.name}: skipped, {current.message}", file=ctx.out)
                    continue
            try:
                result, sync_error = await one(repo)
            except PacTuiError as exc:
                if not args.all:
                    raise
                print(f"pac-tui: {repo.name}: {exc}", file=ctx.err)
                status = 1
                continue
            tokens = result.record.tokens
            assert tokens is not None
            left = countdown(tokens.expires_in(ctx.clock.now()))
            text = {
                RefreshAction.REFRESHED: f"refreshed; expires in {left}",
                RefreshAction.ADOPTED: "already refreshed by another pac-tui process; "
                f"expires in {left}",
                RefreshAction.SKIPPED: f"not refreshed, expires in {left}",
            }[result.action]
            print(f"{repo.name}: {text}", file=ctx.out)
            if sync_error is not None:
                print(f"pac-tui: {sync_error}", file=ctx.err)
                status = 1
        return status

    try:
        return asyncio.run(run_all())
    finally:
        if clusters is not None:
            clusters.close()


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.oauth.revoke import revoke

    repo = ctx.config.repository(args.repo)
    record = asyncio.run(revoke(repo, ctx.store, ctx.clock))
    if record is None:
        print(f"{repo.name}: nothing to revoke, not logged in", file=ctx.out)
    else:
        print(
            f"{repo.name}: revoked the access and refresh tokens at {repo.gitlab.url} and forgot "
            f"them; log in again with: pac-tui login {repo.name}",
            file=ctx.out,
        )
    return 0
