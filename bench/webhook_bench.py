"""Durable webhook deliveries/s: `pac-tui webhook serve` against a minimal Flask catch-all.

Run: .venv/bin/python -m bench.webhook_bench [--duration 10s] [--threads 2] [--connections 16]
(needs wrk, and the bench extra: pip install -e '.[test,bench]'; results go to bench/RESULTS.md by
hand).

In one run, on the same machine, `wrk -t2 -c16` posts the real GitLab push payload
(tests/fixtures/gitlab-webhooks/go-gitlab/webhooks/push.json, project set to a configured
repository, with its valid X-Gitlab-Token) for the same duration to

1. `pac-tui webhook serve --quiet --port 0`, a real subprocess with a temp config and
   PAC_TUI_DATA_DIR (fresh journal: WAL, synchronous=FULL, a 2xx only once the row is committed);
2. `bench.flask_catchall`: Flask's built-in server, any path, `app.logger.info` per request.

It reports requests/s, latency p50/p99 and non-2xx answers (counted by bench/wrk_post.lua's
`response()`), the CPU of the server, of wrk (the load generator shares the 2 cores) and of the
rest of the machine (approximate, from /proc/stat; each run first waits for 5 quiet seconds;
100% = one core),
and then checks durability: every 2xx that wrk counted must be a row in the journal. Rows can
exceed the 2xx count by the requests in flight when wrk stopped (at most -c: committed, but wrk
closed the connection before reading the answer). The check also reads the ids: the highest id
acknowledged to wrk is in the journal and the ids have no gap, so no acknowledged delivery is
missing. For Flask it counts the logged lines instead.

Goal (issue 4): ≥ 8,000 durable deliveries/s and ≥ 8 times the Flask catch-all.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.webhook_common import (
    SECRET,
    events_newest,
    journal_stats,
    machine,
    prepare,
    push_body,
    run_wrk,
    start_serve,
    wait_for_quiet,
)


def bench_pac_tui(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    config, data, body = prepare(tmp)
    wait_for_quiet()
    server = start_serve(config, data, tmp, workers=args.workers)
    try:
        result = run_wrk(
            server.url,
            body,
            SECRET,
            threads=args.threads,
            connections=args.connections,
            duration=args.duration,
            watch=server.pids(),
        )
        result["server_cpu"] = sum(result["cpu"].values())  # the writer and every worker
        result["processes"] = len(result["cpu"])
    finally:
        code = server.stop()
    result["exit"] = code
    result["journal"] = journal_stats(server.journal)
    result["newest"] = events_newest(config, data)
    return result


def bench_flask(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    _, _, body = prepare(tmp)
    log = tmp / "flask.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.flask_catchall", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    url = proc.stdout.readline().split()[-1]
    wait_for_quiet()
    deadline = time.monotonic() + 20
    while "Running on" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"the Flask catch-all did not start: {log.read_text()}")
        time.sleep(0.05)
    try:
        result = run_wrk(
            url,
            body,
            SECRET,
            threads=args.threads,
            connections=args.connections,
            duration=args.duration,
            watch=[proc.pid],
        )
        result["server_cpu"] = result["cpu"][proc.pid]
    finally:
        proc.terminate()
        proc.wait(10)
    result["logged"] = sum(
        1 for line in log.read_text(errors="replace").splitlines() if "webhook /" in line
    )
    return result


def line(name: str, r: dict[str, Any]) -> str:
    lat = r["latency_us"]
    wall = r["wall"]  # CPU was measured over wrk's whole life
    return (
        f"{name:<22} {r['rate']:>9,.0f} {lat['p50'] / 1e3:>7.2f} {lat['p99'] / 1e3:>7.2f} "
        f"{r['ok']:>9,} {r['non_2xx']:>7,} {sum(r['errors'].values()) - r['errors']['status']:>6} "
        f"{r['server_cpu'] / wall * 100:>7.0f}% {r['wrk_cpu'] / wall * 100:>6.0f}% "
        f"{max(r['others_cpu'], 0) / wall * 100:>8.0f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s", help="wrk -d (default 10s)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument(
        "--workers", type=int, help="webhook serve --workers N (default: the command's default)"
    )
    parser.add_argument(
        "--no-flask", action="store_true", help="only pac-tui (no ratio; to compare settings)"
    )
    args = parser.parse_args()

    print(machine())
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}, push.json "
        f"({len(push_body())} bytes), valid token; "
        "wrk runs on the same 2 cores"
    )
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        pac = bench_pac_tui(Path(a), args)
        flask = None if args.no_flask else bench_flask(Path(b), args)

    print(
        f"\n{'server':<22} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'2xx':>9} {'non-2xx':>7} "
        f"{'sockerr':>6} {'srv CPU':>8} {'wrk CPU':>7} {'rest CPU':>9}"
    )
    print(line(f"pac-tui serve ({pac['processes']} proc)", pac))
    if flask is not None:
        print(line("Flask catch-all", flask))
        print(f"\nratio pac-tui / Flask: {pac['rate'] / flask['rate']:.2f}×")

    j = pac["journal"]
    in_flight = j["rows"] - pac["ok"]
    gapless = j["rows"] == j["max_id"] - j["min_id"] + 1
    durable = in_flight >= 0 and pac["max_id"] <= j["max_id"] and gapless
    print(
        f"\npac-tui durability: wrk counted {pac['ok']:,} 2xx (highest id acknowledged "
        f"{pac['max_id']:,}); journal has {j['rows']:,} rows (ids {j['min_id']}..{j['max_id']}, "
        f"{'no gap' if gapless else 'GAPS'}; {j['accepted']:,} accepted); rows − 2xx = "
        f"{in_flight} (in flight when wrk stopped, ≤ {args.connections}); "
        f"`pac-tui events --json --limit 1` → id {pac['newest']['id'] if pac['newest'] else None}"
        f"; serve exit status {pac['exit']}"
    )
    print(f"every acknowledged delivery is in the journal: {'YES' if durable else 'NO'}")
    if flask is None:
        return
    print(
        f"Flask: wrk counted {flask['ok']:,} 2xx; {flask['logged']:,} request lines logged "
        f"(logged − 2xx = {flask['logged'] - flask['ok']})"
    )
    goal_rate = pac["rate"] >= 8000
    goal_ratio = pac["rate"] >= 8 * flask["rate"]
    print(
        f"\ngoal ≥ 8,000 durable deliveries/s: {'met' if goal_rate else 'NOT met'}; "
        f"goal ≥ 8× Flask: {'met' if goal_ratio else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
