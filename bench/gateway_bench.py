"""Latency the token gateway adds, and requests/s through it, beside the same requests direct.

Run: .venv/bin/python -m bench.gateway_bench [--duration 10s] [--connections 16] [--repeat 3]
(needs wrk: apt-get install wrk; results go to bench/RESULTS.md by hand).

Three processes on the same machine: a small upstream (aiohttp + uvloop, answering every GET
with a fixed ~1 KB JSON shaped like GitLab's ``GET /api/v4/user``), the gateway
(``pac-tui gateway``, its access log at info going to a file, as in a container), and
wrk. In each round, wrk sends ``GET /api/v4/user`` with go-gitlab's headers
(``PRIVATE-TOKEN``, ``User-Agent: go-gitlab``, ``Accept: application/json``):

1. latency: one connection (``-c1``), direct to the upstream, then through the gateway: the
   difference of the p50s is what the gateway adds to one request;
2. throughput: ``--connections`` connections, direct, then through the gateway.

It prints p50/p90/p99 (wrk's latency histogram), requests/s, errors, and the CPU of the gateway,
the upstream, wrk and the rest of the machine (from /proc; 100 % = one core). Each round first
waits for 5 quiet seconds. Goal: ≤ 1 ms added at p50 and ≥ 3,000 req/s through the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

TOKEN = "glpat-bench0000000000000000"  # noqa: S105 - a made-up token; the upstream checks none
USER = {
    "id": 4242,
    "username": "bench-user",
    "name": "Bench User",
    "state": "active",
    "locked": False,
    "avatar_url": "https://gitlab.example.com/uploads/-/system/user/avatar/4242/avatar.png",
    "web_url": "https://gitlab.example.com/bench-user",
    "created_at": "2024-01-01T00:00:00.000Z",
    "bio": "",
    "location": "",
    "public_email": None,
    "skype": "",
    "linkedin": "",
    "twitter": "",
    "discord": "",
    "website_url": "",
    "organization": "",
    "job_title": "",
    "pronouns": None,
    "bot": False,
    "work_information": None,
    "local_time": None,
    "last_sign_in_at": "2026-11-30T08:00:00.000Z",
    "confirmed_at": "2024-01-01T00:00:00.000Z",
    "last_activity_on": "2026-12-01",
    "email": "bench-user@example.com",
    "theme_id": 1,
    "color_scheme_id": 1,
    "projects_limit": 100000,
    "current_sign_in_at": "2026-12-01T08:00:00.000Z",
    "identities": [],
    "can_create_group": True,
    "can_create_project": True,
    "two_factor_enabled": True,
    "external": False,
    "private_profile": False,
    "commit_email": "bench-user@example.com",
    "shared_runners_minutes_limit": None,
    "extra_shared_runners_minutes_limit": None,
    "scim_identities": [],
}
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50": %d, "p90": %d, "p99": %d, '
    .. '"max": %d, "socket_errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""
HEADERS = [f"PRIVATE-TOKEN: {TOKEN}", "User-Agent: go-gitlab", "Accept: application/json"]


# -- the upstream (its own process: python -m bench.gateway_bench --upstream-server) ----------


def serve_upstream() -> None:
    from aiohttp import web

    body = json.dumps(USER).encode()

    async def user(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/api/v4/user", user)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(f"http://127.0.0.1:{site.port}", flush=True)
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# -- processes, CPU, a quiet machine ---------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(seconds: int = 5, threshold: float = 0.10, timeout: float = 600) -> None:
    """Wait until the machine was under `threshold` busy (of all its cores) for `seconds`."""
    started = time.monotonic()
    quiet = 0
    while quiet < seconds and time.monotonic() - started < timeout:
        before = machine_busy_seconds()
        time.sleep(1)
        load = (machine_busy_seconds() - before) / (os.cpu_count() or 1)
        quiet = quiet + 1 if load < threshold else 0
    if quiet < seconds:
        print(f"(the machine never went quiet for {seconds} s; figures may be low)", flush=True)


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def start_upstream() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.gateway_bench", "--upstream-server"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def start_gateway(upstream: str, log: Path, level: str) -> tuple[subprocess.Popen[bytes], str]:
    """The gateway on a free port; ready once its /healthz answers (the log may be quiet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["--upstream", upstream, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pac_tui", "gateway", *args, "--log-level", level],
            env={**os.environ, "PAC_TUI_CONFIG": os.devnull},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the gateway did not start:\n{log.read_text(errors='replace')}")


def run_wrk(url: str, connections: int, duration: str, lua: Path, watch: dict[str, int]) -> dict:
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    machine_before = machine_busy_seconds()
    started = time.monotonic()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--timeout=10s", "-s", str(lua)]
    for header in HEADERS:
        command += ["-H", header]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk = subprocess.run([*command, f"{url}/api/v4/user"], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped here
    wrk_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    output = wrk.stdout
    wall = time.monotonic() - started
    line = next(x for x in output.splitlines() if x.startswith("WRK_RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in watch.items()}
    cpu["wrk"] = wrk_cpu
    cpu["rest"] = max(machine_busy_seconds() - machine_before - sum(cpu.values()), 0.0)
    result["cpu_pct"] = {name: seconds / wall * 100 for name, seconds in cpu.items()}
    return result


def row(name: str, r: dict[str, Any]) -> str:
    cpu = r["cpu_pct"]
    return (
        f"{name:<26} {r['rate']:>9,.0f} {r['p50'] / 1e3:>7.3f} {r['p90'] / 1e3:>7.3f} "
        f"{r['p99'] / 1e3:>7.3f} {r['non_2xx'] + r['socket_errors']:>6} "
        f"{cpu.get('gateway', 0):>8.0f}% {cpu['upstream']:>8.0f}% {cpu['wrk']:>6.0f}% "
        f"{cpu['rest']:>6.0f}%"
    )


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    import aiohttp

    return (
        f"{os.cpu_count()} vCPU {cpu}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s", help="wrk -d of each run (default 10s)")
    parser.add_argument("--connections", type=int, default=16, help="throughput runs' wrk -c")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--log-level", default="info", help="the gateway's (default info)")
    parser.add_argument("--upstream-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream_server:
        serve_upstream()
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    print(machine())
    print(
        f"wrk -t1, GET /api/v4/user ({len(json.dumps(USER))} bytes of JSON), go-gitlab headers; "
        f"gateway log level {args.log_level}; {args.repeat} round(s) of {args.duration} per run"
    )
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "report.lua"
        lua.write_text(LUA)
        upstream, upstream_url = start_upstream()
        try:
            gateway, gateway_url = start_gateway(
                upstream_url, Path(tmp) / "gateway.log", args.log_level
            )
        except BaseException:
            upstream.kill()
            upstream.wait(10)
            raise
        watch = {"gateway": gateway.pid, "upstream": upstream.pid}
        rounds: list[dict[str, dict[str, Any]]] = []
        try:
            for _ in range(args.repeat):
                wait_for_quiet()
                rounds.append(
                    {
                        "direct -c1": run_wrk(upstream_url, 1, args.duration, lua, watch),
                        "gateway -c1": run_wrk(gateway_url, 1, args.duration, lua, watch),
                        f"direct -c{args.connections}": run_wrk(
                            upstream_url, args.connections, args.duration, lua, watch
                        ),
                        f"gateway -c{args.connections}": run_wrk(
                            gateway_url, args.connections, args.duration, lua, watch
                        ),
                    }
                )
            peak = rss_mib(gateway.pid)
        finally:
            gateway.terminate()
            status = gateway.wait(60)
            upstream.kill()
            upstream.wait(10)
        log_lines = sum(1 for _ in (Path(tmp) / "gateway.log").open(errors="replace"))

    print(
        f"\n{'run':<26} {'req/s':>9} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'gateway':>9} {'upstream':>9} {'wrk':>7} {'rest':>7}"
    )
    for number, results in enumerate(rounds, 1):
        for name, result in results.items():
            print(row(f"{number}. {name}", result))
    added_p50 = [r["gateway -c1"]["p50"] - r["direct -c1"]["p50"] for r in rounds]
    added_p99 = [r["gateway -c1"]["p99"] - r["direct -c1"]["p99"] for r in rounds]
    through = [r[f"gateway -c{args.connections}"]["rate"] for r in rounds]
    gateway_cpu = [
        r[f"gateway -c{args.connections}"]["cpu_pct"]["gateway"]
        / r[f"gateway -c{args.connections}"]["rate"]
        * 1e4
        for r in rounds
    ]
    print(
        f"\nadded by the gateway at -c1: p50 {statistics.median(added_p50) / 1e3:.3f} ms "
        f"(rounds: {', '.join(f'{x / 1e3:.3f}' for x in added_p50)}), "
        f"p99 {statistics.median(added_p99) / 1e3:.3f} ms"
    )
    print(
        f"through the gateway at -c{args.connections}: median {statistics.median(through):,.0f} "
        f"req/s; gateway CPU per request {statistics.median(gateway_cpu):.0f} µs; "
        f"peak RSS {peak:.1f} MiB; {log_lines:,} log lines; exit status {status}"
    )
    print(
        f"goal ≤ 1 ms added at p50: "
        f"{'met' if statistics.median(added_p50) <= 1000 else 'NOT met'}; "
        f"goal ≥ 3,000 req/s: {'met' if statistics.median(through) >= 3000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
