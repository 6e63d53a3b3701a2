"""Memory of `pac-tui webhook serve` after 1,000,000 deliveries, and the journal's size on disk.

Run: .venv/bin/python -m bench.rss_bench [--deliveries 1000000] [--connections 16]
(needs wrk; about 6 minutes on 2 cores; results go to bench/RESULTS.md by hand).

`pac-tui webhook serve --quiet --port 0` runs as a real subprocess with a temp config and a fresh
PAC_TUI_DATA_DIR (default retention: 1,000,000 deliveries). `wrk -t2` posts the real push payload
with a valid token until the journal's newest id reaches the count; then wrk gets SIGINT (it stops
and prints its totals). Meanwhile the server's VmRSS (/proc/PID/status; with --workers N the
sum over the writer and its receiver processes) is sampled every 2 s, with
the journal's newest id.
At the end: VmRSS and VmHWM (peak) with the server still running, the journal's row count, and
the bytes of events.sqlite3, -wal and -shm, while running and after the clean stop (SIGTERM:
the last checkpoint).

Goal (issue 4): RSS ≤ 150 MB after 1,000,000 deliveries.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from bench.webhook_common import (
    SECRET,
    cpu_seconds,
    disk_size,
    journal_stats,
    machine,
    machine_busy_seconds,
    parse_wrk,
    prepare,
    rss_bytes,
    start_serve,
    wait_for_quiet,
    wrk_command,
    wrk_env,
)

MB = 1e6
MIB = 2**20


def newest_id(journal: Path) -> int:
    try:
        conn = sqlite3.connect(f"{journal.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss(pids: list[int]) -> int:
    """Memory of the server's processes together: the sum of their PSS (/proc/PID/smaps_rollup),
    which splits each page shared by forked processes among them. With one process it is
    close to its RSS; summing RSS would count the pages the receivers share with the writer
    N+1 times."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(machine())

    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        config, data, body = prepare(tmp)
        server = start_serve(config, data, tmp)
        wait_for_quiet()
        pids = server.pids()  # the writer and its receiver processes (--workers N)
        rss_start = tree_rss(pids)
        print(
            f"pac-tui webhook serve pids {pids}, journal {server.journal}; "
            f"memory at start (PSS summed over the processes) {rss_start / MB:.1f} MB"
        )
        started = time.monotonic()
        machine_before = machine_busy_seconds()
        server_cpu_before = sum(cpu_seconds(p) for p in pids)
        wrk = subprocess.Popen(
            wrk_command(
                server.url, threads=args.threads, connections=args.connections, duration="3600s"
            ),
            env=wrk_env(body, SECRET),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        samples: list[tuple[float, int, int]] = []
        milestones = [m for m in (100_000, 250_000, 500_000, 750_000) if m < args.deliveries]
        print(f"{'elapsed s':>9} {'deliveries':>11} {'RSS MB':>7}")
        rows = 0
        while wrk.poll() is None:
            time.sleep(2 if args.deliveries - rows > 20_000 else 0.1)
            rows = newest_id(server.journal)
            samples.append((time.monotonic() - started, rows, tree_rss(pids)))
            if milestones and rows >= milestones[0]:
                milestones.pop(0)
                print(f"{samples[-1][0]:>9.0f} {rows:>11,} {samples[-1][2] / MB:>7.1f}")
            if rows >= args.deliveries:
                wrk.send_signal(signal.SIGINT)
                break
        wrk.wait(60)
        machine_cpu = machine_busy_seconds()[0] - machine_before[0]
        server_cpu = sum(cpu_seconds(p) for p in pids) - server_cpu_before
        run_wall = time.monotonic() - started
        output = wrk.stdout.read() if wrk.stdout else ""
        result = parse_wrk(output)
        time.sleep(1.0)  # answers in flight are written
        rss_end = tree_rss(pids)
        hwm = sum(peak_rss(p) for p in pids)
        each = [rss_bytes(p) / MB for p in pids]
        stats = journal_stats(server.journal)
        running = disk_size(server.journal)
        elapsed = time.monotonic() - started
        print(f"{elapsed:>9.0f} {stats['max_id']:>11,} {rss_end / MB:>7.1f}")
        code = server.stop(timeout=300)
        stopped = disk_size(server.journal)

    print(
        f"\nwrk -t{args.threads} -c{args.connections}: {result['ok']:,} 2xx, "
        f"{result['non_2xx']} non-2xx in {result['duration_us'] / 1e6:.0f} s "
        f"({result['rate']:,.0f} req/s; p50 {result['latency_us']['p50'] / 1e3:.1f} ms, "
        f"p99 {result['latency_us']['p99'] / 1e3:.1f} ms)"
    )
    print(
        f"journal: {stats['max_id']:,} deliveries written, {stats['rows']:,} rows kept "
        f"(ids {stats['min_id']:,}..{stats['max_id']:,}; retention 1,000,000)"
    )
    print(
        f"RSS after {stats['max_id']:,} deliveries: {rss_end / MB:.1f} MB "
        f"({rss_end / MIB:.1f} MiB); peak (VmHWM) {hwm / MB:.1f} MB; at start "
        f"{rss_start / MB:.1f} MB   (goal ≤ 150 MB); with {len(pids)} processes: PSS summed "
        f"(each one's own RSS: {', '.join(f'{e:.1f}' for e in each)} MB; VmHWM summed, which "
        "counts shared pages once per process)"
    )
    print(
        f"CPU over the run: server {server_cpu / run_wall:.0%} of a core, wrk and the rest of the "
        f"machine {max(machine_cpu - server_cpu, 0) / run_wall:.0%}"
    )
    rss_max = max(s[2] for s in samples) if samples else rss_end
    print(f"largest sampled RSS {rss_max / MB:.1f} MB over {len(samples)} samples")
    print(
        "journal on disk while running: "
        + ", ".join(f"{k} {v / MIB:,.1f} MiB" for k, v in running.items())
        + f"; after the clean stop (exit {code}): "
        + ", ".join(f"{k} {v / MIB:,.1f} MiB" for k, v in stopped.items())
        + f"; {stopped['db'] / max(stats['rows'], 1):,.0f} B per row"
    )
    # One process: its RSS and its peak. Several: the PSS sum (a summed VmHWM counts the pages
    # the forked receivers share with the writer once per process).
    met = rss_end <= 150 * MB and (len(pids) > 1 or hwm <= 150 * MB)
    print(f"goal RSS ≤ 150 MB: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
