"""Idle CPU of the real dashboard in a pseudo-terminal, with many repositories and nothing to do.

Run: .venv/bin/python -m bench.idle_bench [REPOS ...]   (default: 1000 20; results by hand in
bench/RESULTS.md). Each run writes a temp config and token store (90 % of the repositories logged
in, expiries spread over every countdown format, relative to the wall clock), starts the dashboard
under `pty.fork()` in a 160x45 terminal with auto-refresh, the webhook receiver and cluster
discovery off, waits for the first frame, then reads the process's CPU time from /proc over
SAMPLE_SECONDS while draining the terminal. Only the countdowns move.

The child is this module with `--child DIR`: it builds the same `AppContext` as `pac-tui` does,
but with auto-refresh off (there is no command-line switch for it) so the bench measures drawing,
not the network. Goal (issue 15): ≤ 5 % of one core at 1,000 repositories, ≤ 2 % at 20.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

COLUMNS, LINES = 160, 45
SAMPLE_SECONDS = 20.0
FIRST_FRAME_TIMEOUT = 60.0
URL = "https://gitlab.example.com"


def write_fixture(tmp: Path, repos: int) -> None:
    """A config with `repos` repositories and a store where 90 % are logged in."""
    from pac_tui.core.models import RefreshOutcome, TokenRecord, TokenSet
    from pac_tui.stores.file_store import TokenStore

    lines = [f'[gitlab.default]\nurl = "{URL}"\nclient_id = "app-id"\n']
    now = datetime.now(UTC)
    store = TokenStore(tmp / "data")
    with store.transaction() as txn:
        for i in range(repos):
            name = f"repo-{i:04d}"
            lines.append(f'[[repositories]]\nname = "{name}"\nproject = "group{i % 37}/{name}"\n')
            if not i % 10:
                continue
            left = 30 + (i * 7) % 7100
            issued = now - timedelta(seconds=7200 - left)
            tokens = TokenSet(
                access_token="access-" + "x" * 40,
                refresh_token="refresh-" + "y" * 40,
                token_type="Bearer",  # noqa: S106 (a token type, not a secret)
                scopes=("api",),
                expires_at=issued + timedelta(seconds=7200),
                issued_at=issued,
            )
            txn.records[name] = TokenRecord(
                gitlab_url=URL,
                client_id="app-id",
                tokens=tokens,
                username="operator",
                obtained_at=issued,
                refreshed_at=issued,
                last_refresh=RefreshOutcome(issued, ok=True, message="refreshed"),
            )
        txn.commit()
    (tmp / "config.toml").write_text("\n".join(lines))


def child(tmp: Path) -> None:
    """The dashboard as `pac-tui` runs it, with auto-refresh off."""
    from pac_tui.core.config import load_config
    from pac_tui.stores.file_store import TokenStore
    from pac_tui.ui.app import PacTuiApp
    from pac_tui.ui.context import AppContext

    path = tmp / "config.toml"
    ctx = AppContext(
        config=load_config(path, env={}),
        config_path=path,
        store=TokenStore(tmp / "data"),
        auto_refresh=False,
        receive_webhooks=False,
        discover_cluster=False,
    )
    PacTuiApp(ctx).run()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(fd: int, seconds: float, until: bytes | None = None) -> tuple[bytes, bool]:
    """Read the terminal for up to `seconds`; stop early when `until` appears."""
    end = time.monotonic() + seconds
    seen = b""
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return seen, False
        if until is not None:
            seen = (seen + chunk)[-65536:]
            if until in seen:
                return seen, True
    return seen, until is None


def measure(repos: int) -> tuple[float, float]:
    """(seconds from spawn to first frame, CPU % of one core while idle)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        write_fixture(tmp, repos)
        started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child: a 160x45 terminal, then the dashboard
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            os.environ["TERM"] = "xterm-256color"
            os.environ["TEXTUAL_ANIMATIONS"] = "none"
            argv = [sys.executable, "-m", "bench.idle_bench", "--child", name]
            os.execv(sys.executable, argv)  # noqa: S606 (this module, as the child)
        try:
            # The first frame is drawn when the first repository's name reaches the terminal.
            _, ok = _drain(fd, FIRST_FRAME_TIMEOUT, until=b"repo-0001")
            if not ok:
                raise SystemExit("no first frame: the dashboard did not start")
            first = time.monotonic() - started
            _drain(fd, 2.0)  # let the start-up settle
            cpu0, t0 = _cpu_seconds(pid), time.monotonic()
            _drain(fd, SAMPLE_SECONDS)
            cpu1, t1 = _cpu_seconds(pid), time.monotonic()
        finally:
            os.kill(pid, signal.SIGTERM)
            _drain(fd, 1.0)
            os.waitpid(pid, 0)
            os.close(fd)
    return first, (cpu1 - cpu0) / (t1 - t0) * 100


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child(Path(argv[1]))
        return
    counts = [int(a) for a in argv] or [1000, 20]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for repos in counts:
        first, cpu = measure(repos)
        print(
            f"{repos} repositories, {COLUMNS}x{LINES}: first frame {first * 1000:.0f} ms "
            f"(process start included), idle CPU {cpu:.1f} % of one core "
            f"over {SAMPLE_SECONDS:.0f} s"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
