"""`pac-tui login`, `status`, `refresh` and `revoke`: a repository's OAuth grant, headless."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pac_tui.cli.context import Context, add_repo_or_all, for_each, positive_seconds
from pac_tui.cli.output import Report, print_json, print_table
from pac_tui.core.config import Repository
from pac_tui.core.errors import UsageError
from pac_tui.core.humanize import ago, countdown
from pac_tui.core.models import TokenRecord, iso_utc

if TYPE_CHECKING:
    from pac_tui.actions.status import ClusterStatus


def add_parsers(sub: Any) -> None:
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
        type=positive_seconds,
        default=180.0,
        metavar="SECONDS",
        help="how long to wait for the browser (default 180)",
    )
    _json_flag(p)
    p.set_defaults(run=cmd_login)

    p = sub.add_parser("status", help="show each repository's authorization and token expiry")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when any repository needs attention (needs login, expired, refresh "
        "failing, not synced to its Secret), 0 otherwise",
    )
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("refresh", help="refresh a repository's tokens now")
    add_repo_or_all(p, "repository name", "every logged-in repository")
    p.add_argument(
        "--if-expiring-within",
        type=positive_seconds,
        metavar="SECONDS",
        help="only refresh when the access token expires within SECONDS",
    )
    _json_flag(p)
    p.set_defaults(run=cmd_refresh)

    p = sub.add_parser("revoke", help="revoke a repository's tokens at GitLab and forget them")
    p.add_argument("repo", metavar="REPO", help="repository name")
    _json_flag(p)
    p.set_defaults(run=cmd_revoke)


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list, one object per repository (progress stays on stderr)",
    )


# The keys of each command's --json objects (README, "JSON output").
LOGIN_KEYS = (
    "name",
    "project",
    "gitlab",
    "username",
    "scopes",
    "expires_at",
    "sync",
    "sync_error",
    "error",
)
REFRESH_KEYS = ("name", "action", "expires_at", "message", "sync", "sync_error", "error")
REVOKE_KEYS = ("name", "revoked", "warning", "error")


def cmd_login(ctx: Context, args: argparse.Namespace) -> int:
    import webbrowser

    from pac_tui.oauth.login import login

    repo = ctx.config.repository(args.repo)
    if getattr(args, "device", False):
        return _login_and_sync(ctx, repo, lambda: _device_login(ctx, repo), args.json)

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

    return _login_and_sync(
        ctx,
        repo,
        lambda: login(
            repo,
            ctx.store,
            ctx.clock,
            on_authorize_url=show,
            open_browser=None if args.no_browser else webbrowser.open,
            wait_seconds=args.timeout,
        ),
        args.json,
    )


def _login_and_sync(
    ctx: Context, repo: Repository, run_login: Callable[[], Awaitable[TokenRecord]], as_json: bool
) -> int:
    """Log in, then bring a bound repository's Secret up to date (`actions.login`).

    A Secret left behind (cluster unreachable, Repository missing) is a warning on stderr and
    exit status 0: the login, which is what was asked for, is stored and usable, and `status`
    shows the repository "not synced" with the reason until `pac-tui sync` (or the next refresh)
    writes it. A failure status would tell a script to log in again, which cannot help.
    """
    from pac_tui.actions.login import login_and_sync

    report = Report(LOGIN_KEYS) if as_json else None

    async def one(repo: Repository) -> bool:
        outcome = await login_and_sync(repo, ctx.store, ctx.clock, ctx.clusters, run_login)
        line = outcome.sync_line()
        if report is not None:
            tokens = outcome.record.tokens
            report.add(
                name=repo.name,
                project=repo.project,
                gitlab=repo.gitlab.url,
                username=outcome.record.username,
                scopes=list(tokens.scopes) if tokens else [],
                expires_at=iso_utc(tokens.expires_at) if tokens else None,
                sync=outcome.sync.to_json() if outcome.sync else None,
                sync_error=str(outcome.sync_error) if outcome.sync_error else None,
            )
        else:
            _print_logged_in(ctx, repo, outcome.record)
            if outcome.sync is not None and line:
                print(line, file=ctx.out)
        if outcome.sync is not None:
            for warning in outcome.sync.warnings:
                print(f"pac-tui: {repo.name}: warning: {warning}", file=ctx.err)
        elif line:
            print(
                f"pac-tui: warning: {line}; write it with: pac-tui sync {repo.name}", file=ctx.err
            )
        return True

    status = asyncio.run(for_each(ctx, [repo], False, one, report))
    if report is not None:
        report.print(ctx.out)
    return status


async def _device_login(ctx: Context, repo: Repository) -> TokenRecord:
    from pac_tui.core.qr import qr_text
    from pac_tui.oauth.device import DeviceAuthorization, device_login

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

    return await device_login(repo, ctx.store, ctx.clock, on_code=show)


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
    from pac_tui.actions.status import State, status_all

    now = ctx.clock.now()
    rows = status_all(ctx.config, ctx.store.read_all(), now)
    status = 1 if getattr(args, "check", False) and any(r.needs_attention for r in rows) else 0
    if getattr(args, "json", False):
        print_json(ctx.out, [row.to_json() for row in rows])
        return status
    if not rows:
        where = ctx.config.path or "the config file"
        print(f"No repositories configured. Add a [[repositories]] entry to {where}.", file=ctx.out)
        return status
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
    print_table(ctx.out, table)
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
    return status


def _cluster_cell(cluster: ClusterStatus | None) -> str:
    if cluster is None:
        return "—"
    where = f"{cluster.namespace}/{cluster.repository} ({cluster.mode})"
    by_pac = ", rotated by PAC" if cluster.rotator == "pac" else ""
    return f"{where} synced{by_pac}" if cluster.synced else f"{where} NOT SYNCED{by_pac}"


def cmd_refresh(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.actions.refresh import refresh_and_sync
    from pac_tui.actions.status import State, repo_status

    repos = list(ctx.config.repositories) if args.all else [ctx.config.repository(args.repo)]
    if args.all and not repos:
        raise UsageError("no repositories configured")
    records = ctx.store.read_all() if args.all else {}
    report = Report(REFRESH_KEYS) if args.json else None

    async def one(repo: Repository) -> bool:
        if args.all:
            current = repo_status(repo, records.get(repo.name), ctx.clock.now())
            if current.state is State.NEEDS_LOGIN:
                if report is not None:
                    report.add(name=repo.name, action="skipped", message=current.message)
                else:
                    print(f"{repo.name}: skipped, {current.message}", file=ctx.out)
                return True
        outcome = await refresh_and_sync(
            repo, ctx.store, ctx.clock, ctx.clusters, if_expiring_within=args.if_expiring_within
        )
        line = outcome.line(ctx.clock.now())
        if report is not None:
            tokens = outcome.refresh.record.tokens
            report.add(
                name=repo.name,
                action=outcome.action.value,
                expires_at=iso_utc(tokens.expires_at) if tokens else None,
                message=line,
                sync=outcome.sync.to_json() if outcome.sync else None,
                sync_error=str(outcome.sync_error) if outcome.sync_error else None,
            )
        else:
            print(f"{repo.name}: {line}", file=ctx.out)
        if outcome.sync_error is not None:
            print(f"pac-tui: {outcome.sync_error}", file=ctx.err)
            return False
        return True

    status = asyncio.run(for_each(ctx, repos, args.all, one, report))
    if report is not None:
        report.print(ctx.out)
    return status


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.actions.revoke import revoke_warning
    from pac_tui.oauth.revoke import revoke

    repo = ctx.config.repository(args.repo)
    report = Report(REVOKE_KEYS) if args.json else None

    async def one(repo: Repository) -> bool:
        record = await revoke(repo, ctx.store, ctx.clock)
        warning = revoke_warning(repo) if record is not None else None
        if report is not None:
            report.add(name=repo.name, revoked=record is not None, warning=warning)
        elif record is None:
            print(f"{repo.name}: nothing to revoke, not logged in", file=ctx.out)
        else:
            print(
                f"{repo.name}: revoked the access and refresh tokens at {repo.gitlab.url} and "
                f"forgot them; log in again with: pac-tui login {repo.name}",
                file=ctx.out,
            )
        if warning:
            print(f"pac-tui: {repo.name}: warning: {warning}", file=ctx.err)
        return True

    status = asyncio.run(for_each(ctx, [repo], False, one, report))
    if report is not None:
        report.print(ctx.out)
    return status
