"""Idle CPU and key latency of the real dashboard in a pseudo-terminal, 1,000 repositories.

Run: .venv/bin/python -m bench.idle_bench [REPOS ...]   (default: 1000 20; results by hand in
bench/RESULTS.md), or `--keys [REPOS ...]` (default 1000) for key press → frame. Each run
writes a temp config and token store (90 % of the repositories logged in, expiries spread over
every countdown format, relative to the wall clock), starts the dashboard under `pty.fork()` in a
160x45 terminal with auto-refresh, the webhook receiver and cluster discovery off, waits for the
first frame, then reads the process's CPU time from /proc over SAMPLE_SECONDS while draining the
terminal. Only the countdowns move.

The child is this module with `--child DIR`: it builds the same `AppContext` as `pac-tui` does,
but with auto-refresh off (there is no command-line switch for it) so the bench measures drawing,
not the network. Goal (issue 15): ≤ 5 % of one core at 1,000 repositories, ≤ 2 % at 20.

Key latency (`--keys`) is what a user sees: the bench writes a key's bytes (↓, pgdn, j, pgup, k,
↑, 480 presses) to the terminal and times until the frames that answer it have arrived. It says
yes to Textual's question whether the terminal supports synchronized updates, so each frame ends
with `ESC[?2026l`; the answer is over when the terminal then stays quiet for QUIET. Presses come
at least PACE apart and after the previous answer, never queued, and are held back just before
the 1 Hz tick's frame. A key bound to nothing (f12) first checks the method: no frame at all.
Goal (issue 15): p99 ≤ 50 ms at 1,000 repositories.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

COLUMNS, LINES = 160, 45
SAMPLE_SECONDS = 20.0
FIRST_FRAME_TIMEOUT = 60.0
URL = "https://gitlab.example.com"
# Key latency (--keys): Textual asks whether the terminal supports synchronized updates (DECRQM
# 2026); the bench says yes, so every frame ends with SYNC_END and a frame's end can be seen.
SYNC_QUERY, SYNC_SUPPORTED, SYNC_END = b"\x1b[?2026$p", b"\x1b[?2026;2$y", b"\x1b[?2026l"
KEY_BYTES = {
    "down": b"\x1b[B",
    "up": b"\x1b[A",
    "pagedown": b"\x1b[6~",
    "pageup": b"\x1b[5~",
    "j": b"j",
    "k": b"k",
    "f12": b"\x1b[24~",  # bound to nothing: validates the method (no frame should come)
}
# As bench.dashboard_bench presses them: down the list, a page at a time, back up.
KEYS = ["down"] * 40 + ["pagedown"] * 10 + ["j"] * 20 + ["pageup"] * 10 + ["k"] * 20 + ["up"] * 20
NOOP_KEYS = ["f12"] * 40
KEY_ROUNDS = 4  # 480 presses
PACE = 0.15  # seconds from one press to the next at least
QUIET = 0.06  # a key's answer is over when the terminal stays quiet this long
ANSWER_TIMEOUT = 1.0
NOOP_WINDOW = 0.2  # a key bound to nothing: no output this long after it, no frame
TICK_GUARD = 0.25  # no press this close before the tick's next frame


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
    """Read the terminal for up to `seconds`; stop early when `until` appears. Textual's
    query whether the terminal supports synchronized updates is answered yes, so each frame
    it writes ends with SYNC_END (what `_frame_after` waits for)."""
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
        if SYNC_QUERY in chunk:
            os.write(fd, SYNC_SUPPORTED)
        if until is not None:
            seen = (seen + chunk)[-65536:]
            if until in seen:
                return seen, True
    return seen, until is None


@contextlib.contextmanager
def _dashboard(repos: int) -> Iterator[tuple[int, int, float]]:
    """The dashboard in a pseudo-terminal: (pid, the pty's master fd, seconds to first frame)."""
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
            yield pid, fd, first
        finally:
            os.kill(pid, signal.SIGTERM)
            _drain(fd, 1.0)
            os.waitpid(pid, 0)
            os.close(fd)


def measure(repos: int) -> tuple[float, float]:
    """(seconds from spawn to first frame, CPU % of one core while idle)."""
    with _dashboard(repos) as (pid, fd, first):
        cpu0, t0 = _cpu_seconds(pid), time.monotonic()
        _drain(fd, SAMPLE_SECONDS)
        cpu1, t1 = _cpu_seconds(pid), time.monotonic()
    return first, (cpu1 - cpu0) / (t1 - t0) * 100


def _frame_after(fd: int, key: bytes, within: float) -> tuple[float | None, int, int]:
    """Write `key`, then read what the terminal gets until it has been quiet for QUIET seconds:
    (seconds from the write to the end of the last frame, or None when no frame came; bytes
    read; frames read). A key's answer can take several frames (the table's cursor, then the
    panel), so the quiet gap is longer than a frame interval (1/60 s). No output at all
    `within` seconds after the write: no frame."""
    sent = time.perf_counter()
    os.write(fd, key)
    last_frame: float | None = None
    read = frames = 0
    tail = b""
    end = sent + within
    while (now := time.perf_counter()) < end:
        after = end - now if last_frame is None else last_frame + QUIET - now
        ready, _, _ = select.select([fd], [], [], max(0.0, min(end - now, after)))
        if not ready:
            if last_frame is not None and time.perf_counter() >= last_frame + QUIET:
                break
            continue
        chunk = os.read(fd, 65536)
        arrived = time.perf_counter()
        read += len(chunk)
        count = (tail + chunk).count(SYNC_END)
        if count:
            frames += count
            last_frame = arrived
        tail = chunk[-len(SYNC_END) :]
    return (None if last_frame is None else last_frame - sent), read, frames


class _Ticks:
    """When the dashboard's 1 Hz tick last drew a frame, learnt from frames that arrive between
    presses; presses are held back near the next tick so a tick's frame is not taken for a
    key's answer."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.last: float | None = None

    def idle(self, seconds: float) -> None:
        """Read for `seconds` with no key pending; any frame then is the tick's."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready and SYNC_END in os.read(self.fd, 65536):
                self.last = time.perf_counter()

    def wait_clear(self) -> None:
        """Return when a press is not within TICK_GUARD of the next tick."""
        if self.last is None:
            return
        since = time.perf_counter() - self.last
        if since > 1.0 + TICK_GUARD:  # the ticks stopped drawing (nothing on screen moves)
            return
        if since > 1.0 - TICK_GUARD:  # the tick is due: let it draw, then a little more
            before = self.last
            self.idle(max(0.0, 1.0 + TICK_GUARD - since))
            if self.last != before:
                self.idle(0.05)


def measure_keys(repos: int, rounds: int) -> dict[str, list[tuple[float | None, int, int]]]:
    """Key press → frame in the terminal: NOOP_KEYS, then KEYS `rounds` times; each press at
    least PACE after the previous one and after its answer, so presses never queue."""
    results: dict[str, list[tuple[float | None, int, int]]] = {"keys": [], "noop": []}
    with _dashboard(repos) as (_, fd, _first):
        ticks = _Ticks(fd)
        ticks.idle(1.5)
        for name, sequence in (("noop", NOOP_KEYS), ("keys", KEYS * rounds)):
            for key in sequence:
                ticks.wait_clear()
                started = time.perf_counter()
                within = NOOP_WINDOW if name == "noop" else ANSWER_TIMEOUT
                answer = _frame_after(fd, KEY_BYTES[key], within)
                results[name].append(answer)
                if name == "keys":
                    results.setdefault(key, []).append(answer)
                ticks.idle(max(0.0, PACE - (time.perf_counter() - started)))
    return results


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report_keys(repos: int, rounds: int) -> None:
    results = measure_keys(repos, rounds)
    noop = results["noop"]
    framed = sum(1 for latency, _, _ in noop if latency is not None)
    print(
        f"a key bound to nothing ({len(noop)} presses): {framed} answered with a frame, "
        f"{sum(b for _, b, _ in noop)} bytes in all"
    )
    keys = results["keys"]
    times = [latency * 1000 for latency, _, _ in keys if latency is not None]
    missing = len(keys) - len(times)
    print(
        f"key press -> end of the frame in the terminal ({len(keys)} presses, {missing} without "
        f"a frame): p50 {_pct(times, 50):.1f} ms, p95 {_pct(times, 95):.1f} ms, "
        f"p99 {_pct(times, 99):.1f} ms, max {max(times):.1f} ms"
    )
    for key in dict.fromkeys(KEYS):  # which keys make the tail
        each = [latency * 1000 for latency, _, _ in results.get(key, []) if latency is not None]
        if len(each) >= 2:
            print(
                f"  {key:>8}: p50 {_pct(each, 50):.1f} ms, p95 {_pct(each, 95):.1f} ms, "
                f"max {max(each):.1f} ms ({len(each)} presses)"
            )
    sizes = [size for _, size, _ in keys]
    frames = [count for _, _, count in keys]
    print(
        f"per press: median {statistics.median(sizes):.0f} bytes, "
        f"median {statistics.median(frames):.0f} frame(s), max {max(frames)} frames"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child(Path(argv[1]))
        return
    keys = argv[:1] == ["--keys"]
    argv = argv[1:] if keys else argv
    counts = [int(a) for a in argv] or ([1000] if keys else [1000, 20])
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for repos in counts:
        if keys:
            print(f"{repos} repositories, {COLUMNS}x{LINES}:")
            report_keys(repos, KEY_ROUNDS)
            continue
        first, cpu = measure(repos)
        print(
            f"{repos} repositories, {COLUMNS}x{LINES}: first frame {first * 1000:.0f} ms "
            f"(process start included), idle CPU {cpu:.1f} % of one core "
            f"over {SAMPLE_SECONDS:.0f} s"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
