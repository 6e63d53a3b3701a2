"""Shared parts of the webhook benches: a temp config, the push payload, `pac-tui webhook serve` as
a real subprocess, wrk with `bench/wrk_post.lua`, and reading the journal afterwards.

Not a bench itself; `bench.webhook_bench`, `bench.webhook_profile`, `bench.rss_bench` and
`bench.ui_lag_bench` use it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
PAC_TUI = VENV_BIN / "pac-tui"
LUA = BENCH / "wrk_post.lua"
PUSH = ROOT / "tests/fixtures/gitlab-webhooks/go-gitlab/webhooks/push.json"
SECRET = "bench-hook-secret"  # noqa: S105 - a test secret for the temp config
PROJECT = "mike/diaspora"

CONFIG = f"""\
[gitlab.default]
url = "https://gitlab.example.com"
client_id = "bench-app"

[[repositories]]
name = "checked"
project = "{PROJECT}"
webhook_secret = "{SECRET}"

[[repositories]]
name = "open"
project = "jsmith/example"

[[repositories]]
name = "docs"
project = "acme/docs"
"""


def push_body() -> bytes:
    """The real GitLab push payload, for the configured project (so it is `accepted`)."""
    payload = json.loads(PUSH.read_bytes())
    payload["project"]["path_with_namespace"] = PROJECT
    return json.dumps(payload).encode()


def prepare(tmp: Path) -> tuple[Path, Path, Path]:
    """config.toml, the data dir and push.json under `tmp`."""
    config = tmp / "config.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    data = tmp / "data"
    body = tmp / "push.json"
    body.write_bytes(push_body())
    return config, data, body


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} vCPU {cpu}, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


# -- pac-tui webhook serve --------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    journal: Path
    stderr: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        """The command's process and its receiver processes (`--workers N`)."""
        import psutil

        return [self.pid, *(c.pid for c in psutil.Process(self.pid).children(recursive=True))]

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (the command's own clean stop: commits what is queued), then wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_serve(
    config: Path, data: Path, log_dir: Path, *, port: int = 0, workers: int | None = None
) -> Server:
    """`pac-tui --config CONFIG webhook serve --quiet --port PORT [--workers N]` with
    PAC_TUI_DATA_DIR=data (no --workers: the command's default)."""
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(data), "PAC_TUI_CONFIG": str(config)}
    err_path = log_dir / "serve.stderr"
    err = err_path.open("wb")
    proc = subprocess.Popen(
        [
            *(str(PAC_TUI), "--config", str(config), "webhook", "serve", "--quiet"),
            *("--port", str(port)),
            *(("--workers", str(workers)) if workers is not None else ()),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    err.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = err_path.read_text(errors="replace")
        found = re.search(r"Receiving GitLab webhooks at (\S+) \(journal: (.+?)[;)]", text)
        if found:
            return Server(proc, found.group(1), Path(found.group(2)), err_path)
        if proc.poll() is not None:
            raise RuntimeError(f"pac-tui webhook serve exited: {text}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("pac-tui webhook serve did not start within 30 s")


def journal_stats(journal: Path) -> dict[str, int]:
    """Row count and id range, read straight from the SQLite file (read-only)."""
    conn = sqlite3.connect(f"{journal.absolute().as_uri()}?mode=ro", uri=True)
    try:
        rows, low, high = conn.execute(
            "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM deliveries"
        ).fetchone()
        accepted = conn.execute(
            "SELECT count(*) FROM deliveries WHERE verdict = 'accepted'"
        ).fetchone()[0]
    finally:
        conn.close()
    return {"rows": rows, "min_id": low, "max_id": high, "accepted": accepted}


def events_newest(config: Path, data: Path) -> dict[str, Any] | None:
    """`pac-tui events --json --limit 1`: the newest delivery as the CLI reports it."""
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(data)}
    out = subprocess.run(
        [str(PAC_TUI), "--config", str(config), "events", "--json", "--limit", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return json.loads(out) if out else None


def disk_size(journal: Path) -> dict[str, int]:
    """Bytes of the journal file and its -wal / -shm companions."""
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        path = journal.with_name(journal.name + suffix)
        sizes[suffix or "db"] = path.stat().st_size if path.exists() else 0
    return sizes


# -- a quiet machine --------------------------------------------------------------------------


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq + steal
    return busy / tick, (busy + idle + iowait) / tick


def wait_for_quiet(threshold: float = 0.10, seconds: int = 5, timeout: float = 3600) -> float:
    """Wait until the machine was under `threshold` busy for `seconds` consecutive seconds (other
    jobs, e.g. a test suite with Chromium, would skew every figure). Returns the seconds waited."""
    started = time.monotonic()
    quiet = 0
    announced = False
    while quiet < seconds:
        busy0, total0 = machine_busy_seconds()
        time.sleep(1)
        busy1, total1 = machine_busy_seconds()
        load = (busy1 - busy0) / max(total1 - total0, 1e-9)
        quiet = quiet + 1 if load < threshold else 0
        if not announced and quiet == 0:
            print(f"(waiting for a quiet machine: {load:.0%} busy)", flush=True)
            announced = True
        if time.monotonic() - started > timeout:
            print(f"(gave up waiting for a quiet machine after {timeout:.0f} s)", flush=True)
            break
    return time.monotonic() - started


# -- wrk --------------------------------------------------------------------------------------


def wrk_command(
    url: str, *, threads: int, connections: int, duration: str, timeout: str = "10s"
) -> list[str]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}",
        f"--timeout={timeout}",
        "-s",
        str(LUA),
        url,
    ]


def wrk_env(body: Path, token: str | None) -> dict[str, str]:
    env = {**os.environ, "WRK_BODY": str(body)}
    if token:
        env["WRK_TOKEN"] = token
    return env


def parse_wrk(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            result = json.loads(line.removeprefix("WRK_RESULT "))
            result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"no WRK_RESULT line in wrk's output:\n{output}")


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - the bench extra installs it
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def run_wrk(
    url: str,
    body: Path,
    token: str | None,
    *,
    threads: int = 2,
    connections: int = 16,
    duration: str = "10s",
    watch: list[int] | None = None,
) -> dict[str, Any]:
    """Run wrk to completion; returns parse_wrk's result plus the CPU seconds that `watch`
    processes, wrk itself and everything else on the machine used meanwhile (`cpu`: {pid: s},
    `wrk_cpu`, `others_cpu`, `wall`: s)."""
    watch = watch or []
    before = {pid: cpu_seconds(pid) for pid in watch}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = machine_busy_seconds()
    started = time.monotonic()
    proc = subprocess.Popen(
        wrk_command(url, threads=threads, connections=connections, duration=duration),
        env=wrk_env(body, token),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped here
    wrk_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    machine_after = machine_busy_seconds()
    result = parse_wrk(output)
    result["wall"] = time.monotonic() - started
    result["cpu"] = {pid: cpu_seconds(pid) - before[pid] for pid in watch}
    result["wrk_cpu"] = wrk_cpu
    # CPU that neither wrk nor the watched processes used: the rest of the machine
    result["others_cpu"] = (
        machine_after[0] - machine_before[0] - wrk_cpu - sum(result["cpu"].values())
    )
    result["output"] = output
    return result


def rss_bytes(pid: int) -> int:
    """VmRSS of a process from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
