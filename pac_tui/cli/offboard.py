"""`pac-tui offboard`: take pac-tui out of a repository onboarded to PAC (`actions.offboard`).

The plan is read first and shown; the steps run only after a confirmation (`--yes` answers it;
without a terminal and without `--yes` the command refuses, exit 2). Exit 0 when every step is
done or already absent, 1 when a step failed (the message names the command to run next).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pac_tui.cli.output import print_json, print_table
from pac_tui.core.errors import UsageError

if TYPE_CHECKING:
    from pac_tui.actions.offboard import Offboarding
    from pac_tui.cli.context import Context


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "offboard",
        help="take pac-tui out of a repository: its hook, the token in its Secret, the project "
        "token and the OAuth grant (the PAC Repository stays unless --delete-repository)",
    )
    p.add_argument("repo", metavar="REPO", help="repository name from the config")
    p.add_argument("--dry-run", action="store_true", help="show the steps; change nothing")
    p.add_argument("--json", action="store_true", help="print the steps as one JSON document")
    p.add_argument(
        "--delete-repository", action="store_true", help="delete the PAC Repository resource too"
    )
    p.add_argument(
        "--forget", action="store_true", help="remove the repository from the config file too"
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for a confirmation")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")
    p.set_defaults(run=cmd_offboard)


def cmd_offboard(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.actions.offboard import StepState, carry_out, plan_offboard

    repo = ctx.config.repository(args.repo)
    asking = not args.dry_run and not args.yes
    if asking and not sys.stdin.isatty():
        raise UsageError(
            f"offboard {repo.name} deletes its hook, the token in its Secret and revokes its "
            "grant: there is no terminal to confirm on, so pass --yes (see the steps first "
            "with --dry-run)"
        )
    plan = asyncio.run(
        plan_offboard(
            repo,
            ctx.store,
            ctx.clock,
            ctx.clusters,
            dry_run=args.dry_run,
            delete_repository=args.delete_repository,
            forget=args.forget,
            config_path=ctx.config_path,
        )
    )
    if asking and plan.pending:
        _print_steps(ctx.err, plan)
        print(f"Offboard {repo.name}: carry out these steps? [y/N] ", end="", file=ctx.err)
        ctx.err.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print(f"{repo.name}: nothing was changed", file=ctx.err)
            return 1
    result = asyncio.run(carry_out(plan))
    if args.json:
        print_json(ctx.out, result.to_json())
    else:
        _print_steps(ctx.out, result)
    failed = result.failed
    if failed is not None:
        print(f"pac-tui: {repo.name}: {failed.what} failed: {failed.message}", file=ctx.err)
        return 1
    if not args.dry_run and all(s.state != StepState.DONE for s in result.steps):
        print(f"{repo.name}: nothing of pac-tui's was left to remove", file=ctx.err)
    return 0


def _print_steps(out: TextIO, result: Offboarding) -> None:
    rows = [("STEP", "TARGET", "STATE", "MESSAGE")]
    rows += [(s.what, s.target, s.state.value, s.message) for s in result.steps]
    print_table(out, rows)
