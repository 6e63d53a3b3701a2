"""The `pac-tui` command: every action of the dashboard, headless, over the same core.

Exit status: 0 done, 1 the operation failed (provider refused, network, store), 2 usage or config
error, 130 interrupted (Ctrl+C), 141 stdout closed early (`pac-tui status | head -n 1`): as a
shell reports a command killed by SIGINT or SIGPIPE, with one line at most and no traceback.
Progress goes to stderr, results to stdout. No output ever contains a token value.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Callable, Sequence

from pac_tui import __version__
from pac_tui.actions.clusters import ClusterPool
from pac_tui.cli import deliveries, gateway, kube, offboard, onboard, tokens, webhook
from pac_tui.cli.context import Context, startup_warnings
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
    offboard.add_parsers(sub)
    gateway.add_parsers(sub)
    deliveries.add_parsers(sub)
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
        ctx.warnings = startup_warnings(ctx, args.command)
        if run is not cmd_dashboard:  # the dashboard shows them as notifications
            for warning in ctx.warnings:
                print(f"pac-tui: warning: {warning}", file=err)
        return run(ctx, args)
    except PacTuiError as exc:
        print(f"pac-tui: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        _say(err, "pac-tui: interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        if not _closed(out):
            raise  # a socket's, not stdout's: not ours to hide
        _silence(out)
        return PIPE_CLOSED
    finally:
        clusters.close()


INTERRUPTED = 128 + 2  # SIGINT
PIPE_CLOSED = 128 + 13  # SIGPIPE


def _closed(stream: object) -> bool:
    """Whether the reader of `stream` (a pipe) went away: poll says POLLERR for its write end."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are reported whatever is asked
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True  # no file to poll: the write that failed was the stream's own


def _silence(stream: object) -> None:
    """Point `stream`'s file descriptor at /dev/null, so the flush at exit does not fail again
    (Python would print "Exception ignored ... BrokenPipeError" and exit 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def _say(stream: object, line: str) -> None:
    """Print one line to `stream` unless it is closed too (stderr piped to a gone reader)."""
    try:
        print(line, file=stream, flush=True)  # type: ignore[call-overload]
    except (BrokenPipeError, OSError, ValueError):
        _silence(stream)


def cmd_dashboard(ctx: Context, args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the dashboard needs a terminal; see pac-tui --help for the commands")
    from pac_tui.ui.app import PacTuiApp
    from pac_tui.ui.context import AppContext

    app = PacTuiApp(
        AppContext(
            config=ctx.config, config_path=ctx.config_path, store=ctx.store, warnings=ctx.warnings
        )
    )
    app.run()
    return 0
