"""What every `pac-tui` command runs with: the config, the token store, the clock, the streams
and the one cluster pool (opened only if the command reaches a cluster, closed when it ends)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pac_tui.actions.clusters import ClusterPool
from pac_tui.cli.output import Report
from pac_tui.core.clock import Clock
from pac_tui.core.config import Config, Repository
from pac_tui.core.config.permissions import permission_warnings
from pac_tui.core.errors import PacTuiError
from pac_tui.stores.file_store import TokenStore


@dataclass
class Context:
    config: Config
    config_path: Path
    store: TokenStore
    clock: Clock
    out: TextIO
    err: TextIO
    clusters: ClusterPool
    warnings: tuple[str, ...] = ()  # about the files that hold secrets (`startup_warnings`)


# Run in a pod, from a Secret volume whose file modes Kubernetes sets (0644 by default): the
# permission rule is for a workstation's files.
IN_CLUSTER = frozenset({"refresher", "gateway"})


def startup_warnings(ctx: Context, command: str | None) -> tuple[str, ...]:
    """What the user should fix before `command` runs: an instance allowed on plain http, and
    (on a workstation) the files that hold secrets left open to others."""
    warnings = [w for app in ctx.config.gitlab.values() if (w := app.insecure_warning())]
    if command not in IN_CLUSTER:
        warnings += permission_warnings(ctx.config, ctx.store.data_dir)
    return tuple(warnings)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def add_repo_or_all(parser: argparse.ArgumentParser, repo_help: str, all_help: str) -> None:
    """A command's target: one repository by name, or `--all`."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("repo", nargs="?", metavar="REPO", help=repo_help)
    target.add_argument("--all", action="store_true", help=all_help)


async def for_each(
    ctx: Context,
    repos: Sequence[Repository],
    many: bool,
    work: Callable[[Repository], Awaitable[bool]],
    report: Report | None = None,
) -> int:
    """Run `work` on each repository and return the exit status.

    With `--all` (`many`) a repository that fails is reported and the others still run; with one
    named repository its error is the command's. `work` returns False for a failure it has
    reported itself (the command still exits 1). With a `report` (`--json`) an error goes into the
    repository's object as well, and the command's exit status is the error's, as without it.
    """
    status = 0
    for repo in repos:
        try:
            ok = await work(repo)
        except PacTuiError as exc:
            if report is None and not many:
                raise
            print(f"pac-tui: {repo.name}: {exc}", file=ctx.err)
            if report is not None:
                report.failed(repo.name, exc)
            if not many:
                return exc.exit_code
            ok = False
        if not ok:
            status = 1
    return status
