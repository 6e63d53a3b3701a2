"""The `pac-tui` command: every action of the dashboard, headless, over the same core.

Exit status: 0 done, 1 the operation failed (provider refused, network, store), 2 usage or config
error. Progress goes to stderr, results to stdout. No output ever contains a token value.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from pac_tui import __version__
from pac_tui.actions.clusters import ClusterPool
from pac_tui.cli import gateway, kube, onboard, tokens, webhook
from pac_tui.cli.context import Context
from pac_tui.core.clock import SystemClock
from pac_tui.core.config import load_config
from pac_tui.core.errors import PacTuiError, UsageError
from pac_tui.core.paths import config_path, data_dir
from pac_tui.stores.file_store import TokenStore


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

    tokens.add_parsers(sub)
    webhook.add_parsers(sub)
    kube.add_parsers(sub)
    onboard.add_parsers(sub)
    gateway.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr
    clusters = ClusterPool(getattr(args, "kubeconfig", None))
    try:
        config = load_config(args.config)
        path, _ = config_path(args.config, os.environ)
        store = TokenStore(data_dir(os.environ))
        ctx = Context(config, path, store, SystemClock(), out, err, clusters)
        run: Callable[[Context, argparse.Namespace], int] = getattr(args, "run", cmd_dashboard)
        return run(ctx, args)
    except PacTuiError as exc:
        print(f"pac-tui: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pac-tui: interrupted; nothing was changed", file=err)
        return 130
    finally:
        clusters.close()


def cmd_dashboard(ctx: Context, args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal; see pac-tui --help for the commands")
    from pac_tui.ui.app import PacTuiApp
    from pac_tui.ui.context import AppContext

    app = PacTuiApp(AppContext(config=ctx.config, config_path=ctx.config_path, store=ctx.store))
    app.run()
    return 0
