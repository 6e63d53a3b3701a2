"""Where a durable webhook delivery's time goes in `pac-tui webhook serve` (diagnosis for issue 4).

Run: .venv/bin/python -m bench.webhook_profile [--duration 8]  (needs wrk; py-spy for part 1:
.venv/bin/pip install py-spy; results go to bench/RESULTS.md by hand). Product code is not changed;
part 2 only patches it inside its own throw-away server processes.

1. Sampling profile: py-spy samples `pac-tui webhook serve` (a real subprocess, fresh journal)
   while `wrk -t2 -c16` posts the push payload, and sorts each thread's samples into buckets:
   aiohttp request handling, JSON parse, summarize, the rest of judge, journal work on the loop
   thread, the event loop itself; in the writer thread the INSERTs, the COMMIT (WAL write + fsync)
   and the hand-back to the loop. Each bucket is given as a share of wall time.
2. Stages: the same wrk load against servers that each add one step, started as subprocesses of
   this script: aiohttp alone (read the body, answer the same JSON), + `Receiver.judge` (parse,
   summarize, token check), the full receiver (the journal as shipped), the full receiver with
   `synchronous=NORMAL` (no fsync per commit: not what pac-tui promises, only to size the fsync),
   the full receiver with the journal on /dev/shm (no disk at all), the full receiver at -c64 and
   -c256, and, when uvloop / orjson are importable (e.g. `pip install --target DIR uvloop orjson`
   and PYTHONPATH=DIR; they are not dependencies), the full receiver on uvloop, and on uvloop
   with orjson patched in for json.loads/dumps. Every stage's writer connection is wrapped to
   time its statements: rows per COMMIT, COMMIT and INSERT wall and CPU time (thread_time of the
   writer thread; wall minus CPU is waiting: for the disk, or for the GIL).
3. Costs per call, measured in this process with timeit: judge and its parts,
   `schema.encode` (journal/schema.py), `json_response`, and `BatchWriter.write` (journal/batch.py)
   per row at several batch sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from bench.webhook_common import (
    SECRET,
    VENV_BIN,
    machine,
    prepare,
    push_body,
    run_wrk,
    start_serve,
    wait_for_quiet,
)

STAGES = ("aiohttp", "judge", "full", "normal-sync", "shm", "uvloop", "uvloop-orjson")


# -- 1. py-spy --------------------------------------------------------------------------------


def _write_batch_lines() -> dict[int, str]:
    """Line numbers of BatchWriter.write's statements, to tell INSERT from COMMIT."""
    from pac_tui.webhooks.journal import BatchWriter

    source, first = inspect.getsourcelines(BatchWriter.write)
    lines = {}
    for offset, text in enumerate(source):
        if 'execute("COMMIT")' in text:
            lines[first + offset] = "writer: COMMIT (WAL append + fsync)"
        elif "_insert_batch" in text:
            lines[first + offset] = "writer: the batch's INSERT (one multi-row statement)"
        elif 'execute("BEGIN IMMEDIATE")' in text:
            lines[first + offset] = "writer: BEGIN IMMEDIATE"
    return lines


def _bucket(frames: list[str], writer_lines: dict[int, str]) -> str:
    """The bucket of one sampled stack (innermost meaningful frame wins)."""
    thread = frames[0]
    stack = frames[1:]
    if "MainThread" not in thread:
        for frame in reversed(stack):
            if "BatchWriter.write" in frame:
                line = int(frame.rsplit(":", 1)[1].rstrip(")"))
                return writer_lines.get(line, "writer: other Python in BatchWriter.write")
            if "set_result" in frame or "call_soon_threadsafe" in frame:
                return "writer: handing results back to the loop"
        return "writer: thread pool (waiting for work)"
    for frame in reversed(stack):
        if "json/decoder.py" in frame or frame.startswith("loads (json/"):
            return "loop: json.loads of the body"
        if "webhooks/summary/" in frame:
            return "loop: summarize"
        if "json/encoder.py" in frame or frame.startswith("dumps (json/"):
            return "loop: json.dumps (journal headers, response body)"
        if "webhooks/journal/" in frame or "concurrent/futures" in frame:
            return "loop: journal on the loop (_encode, queue, futures, run_in_executor)"
        if "Receiver.judge" in frame or "webhooks/models.py" in frame:
            return "loop: judge, the rest (headers, redaction, Delivery)"
        if "Receiver." in frame or "dataclasses.py" in frame:
            return "loop: receiver glue (ingest, replace, status)"
        if "EpollSelector.select" in frame:
            return "loop: epoll wait (idle)"
        if "aiohttp/" in frame:
            return "loop: aiohttp (HTTP parse, request/response objects, routing, write)"
        if "selector_events.py" in frame:
            return "loop: socket send/recv (asyncio transport)"
    return "loop: asyncio event loop and the rest"


def profile(duration: int) -> None:
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(spy).exists():
        print("1. py-spy is not installed (.venv/bin/pip install py-spy): skipped")
        return
    rate = 250
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config, data, body = prepare(tmp)
        server = start_serve(config, data, tmp)
        wait_for_quiet()
        raw = tmp / "profile.txt"
        try:
            spy_proc = subprocess.Popen(
                [
                    *(spy, "record", "-p", str(server.pid), "-d", str(duration)),
                    *("-r", str(rate), "-f", "raw", "-o", str(raw), "--threads", "--nonblocking"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(0.5)  # py-spy attaches
            before = _thread_cpu(server.pid)
            result = run_wrk(
                server.url, body, SECRET, duration=f"{duration + 1}s", watch=[server.pid]
            )
            after = _thread_cpu(server.pid)
            _, spy_err = spy_proc.communicate(timeout=60)
        finally:
            server.stop()
        if not raw.exists():
            print(f"1. py-spy failed: {spy_err.strip()}")
            return
        writer_lines = _write_batch_lines()
        buckets: collections.Counter[str] = collections.Counter()
        threads: collections.Counter[str] = collections.Counter()
        for row in raw.read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            frames = stack.split(";")
            buckets[_bucket(frames, writer_lines)] += int(count)
            threads["loop" if "MainThread" in frames[0] else "writer"] += int(count)
    possible = rate * duration
    wall = result["wall"]
    used = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    loop_cpu = used.pop(server.pid, 0.0)
    others = sorted(used.values(), reverse=True)
    print(
        f"1. py-spy, {rate} Hz for {duration} s on `pac-tui webhook serve` under wrk -t2 -c16 "
        f"({result['rate']:,.0f} req/s while sampled; server CPU "
        f"{result['cpu'][server.pid] / wall:.0%}, wrk {result['wrk_cpu'] / wall:.0%}, "
        f"py-spy and the rest {max(result['others_cpu'], 0) / wall:.0%} of a core). "
        "Share of wall time per thread:"
    )
    print(
        f"   CPU time (psutil, per thread): loop thread {loop_cpu / wall:.0%}, journal writer "
        f"thread {(others[0] if others else 0.0) / wall:.0%}, other threads "
        f"{sum(others[1:]) / wall:.0%} of a core"
    )
    for thread in ("loop", "writer"):
        print(f"   {thread} thread: on CPU or in a syscall {threads[thread] / possible:.0%}")
        for name, count in buckets.most_common():
            if name.startswith(thread):
                print(f"     {count / possible:>6.1%}  {name.split(': ', 1)[1]}")


def _thread_cpu(pid: int) -> dict[int, float]:
    import psutil

    return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}


# -- 2. stages --------------------------------------------------------------------------------


class _TimedConnection:
    """Wraps the writer's sqlite3 connection to time each statement kind (BEGIN/INSERT/COMMIT)."""

    def __init__(self, conn: Any, stats: dict[str, list[float]]) -> None:
        self._conn = conn
        self._stats = stats

    def execute(self, sql: str, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self._conn.execute(sql, *args)
        finally:
            entry = self._stats.setdefault(sql.split(None, 1)[0], [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += time.thread_time() - cpu

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _use_orjson() -> None:
    """Swap json.loads/dumps for orjson inside the receiver and the journal (experiment only)."""
    import types

    import orjson

    from pac_tui.webhooks import receiver
    from pac_tui.webhooks.journal import schema

    shim = types.SimpleNamespace(
        loads=orjson.loads,
        # aiohttp's header names are `istr`, a str subclass orjson refuses without this option
        dumps=lambda obj, **_: orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode(),
    )
    receiver.json = shim  # type: ignore[assignment]
    schema.json = shim  # type: ignore[assignment]


async def _serve_stage(stage: str, data: Path, config_path: Path) -> None:
    import signal

    from aiohttp import web

    from pac_tui.core.clock import SystemClock
    from pac_tui.core.config import load_config
    from pac_tui.webhooks.journal import BatchWriter
    from pac_tui.webhooks.service import WebhookService

    config = load_config(config_path, env={})
    stats: dict[str, list[float]] = {}
    open_writer = BatchWriter.open
    sync = "NORMAL" if stage == "normal-sync" else None

    def timed_writer(self: Any) -> None:
        open_writer(self)
        if sync:
            self.connection.execute(f"PRAGMA synchronous = {sync}")
        self.connection = _TimedConnection(self.connection, stats)

    BatchWriter.open = timed_writer  # type: ignore[method-assign]
    if "orjson" in stage:
        _use_orjson()
    service = WebhookService(config, data, SystemClock())
    runner = None
    if stage in ("aiohttp", "judge"):
        receiver = service.receiver

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            verdict = "accepted"
            if stage == "judge":
                verdict = receiver.judge(dict(request.headers), body).verdict.value
            return web.json_response({"id": 1, "verdict": verdict})

        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}/"
    else:
        url = await service.start("127.0.0.1", 0)
    print(url, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    if runner is not None:
        await runner.cleanup()
    else:
        await service.stop()
    print(json.dumps({"stats": stats, "batches": service.journal.batches}), flush=True)


# (stage, label, wrk connections)
RUNS = (
    ("aiohttp", "aiohttp alone (read body, json_response)", 16),
    ("judge", "+ Receiver.judge (parse, summarize, token)", 16),
    ("full", "full receiver, journal as shipped (FULL)", 16),
    ("normal-sync", "full, synchronous=NORMAL (no fsync)", 16),
    ("shm", "full, journal on /dev/shm (no disk)", 16),
    ("full", "full receiver, wrk -c64", 64),
    ("full", "full receiver, wrk -c256", 256),
    ("uvloop", "full receiver on uvloop", 16),
    ("uvloop-orjson", "full receiver on uvloop + orjson", 16),
    ("uvloop-orjson", "full receiver on uvloop + orjson, -c64", 64),
)


def stages(duration: int) -> None:
    print(f"\n2. Stages, wrk -t2 -c16 (unless said) -d{duration}s each, a fresh server per line:")
    print(
        f"   {'stage':<42} {'req/s':>7} {'p50 ms':>6} {'p99 ms':>7} {'CPU':>5} "
        f"{'rows/commit':>11} {'COMMIT wall/CPU ms':>18} {'INSERT wall/CPU µs':>18} {'rest':>5}"
    )
    for stage, label, connections in RUNS:
        if stage.startswith("uvloop"):
            missing = [m for m in ("uvloop", "orjson") if m in stage and not _importable(m)]
            if missing:
                print(f"   {label:<42} skipped: {', '.join(missing)} not importable")
                continue
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            config, data, body = prepare(tmp)
            if stage == "shm":
                data = Path(tempfile.mkdtemp(dir="/dev/shm"))
            with (tmp / "stage.log").open("wb") as log:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.webhook_profile",
                        "--serve-stage",
                        stage,
                        "--data",
                        str(data),
                        "--config",
                        str(config),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
            try:
                assert proc.stdout is not None
                url = proc.stdout.readline().strip()
                wait_for_quiet()
                r = run_wrk(
                    url,
                    body,
                    SECRET,
                    connections=connections,
                    duration=f"{duration}s",
                    watch=[proc.pid],
                )
            finally:
                proc.terminate()
                out, _ = proc.communicate(timeout=60)
                if stage == "shm":
                    shutil.rmtree(data, ignore_errors=True)
            errors = (tmp / "stage.log").read_text(errors="replace").count("Traceback")
        report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        st = report.get("stats", {})
        wall = r["wall"]
        lat = r["latency_us"]
        commit, insert = st.get("COMMIT"), st.get("INSERT")
        per_commit = (
            f"{insert[0] / commit[0]:>11.1f} {commit[1] / commit[0] * 1e3:>9.2f}/"
            f"{commit[2] / commit[0] * 1e3:<8.2f} {insert[1] / insert[0] * 1e6:>9.0f}/"
            f"{insert[2] / insert[0] * 1e6:<8.0f}"
            if commit and insert
            else f"{'-':>11} {'-':>18} {'-':>18}"
        )
        print(
            f"   {label:<42} {r['rate']:>7,.0f} {lat['p50'] / 1e3:>6.2f} {lat['p99'] / 1e3:>7.2f} "
            f"{r['cpu'][proc.pid] / wall:>5.0%} {per_commit} {max(r['others_cpu'], 0) / wall:>5.0%}"
            + (f"  {r['non_2xx']:,} non-2xx, {errors} tracebacks" if r["non_2xx"] or errors else "")
        )


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# -- 3. per call ------------------------------------------------------------------------------


def costs() -> None:
    from dataclasses import replace

    from aiohttp import web

    from pac_tui.core.clock import SystemClock
    from pac_tui.core.config import load_config
    from pac_tui.webhooks.journal import BatchWriter
    from pac_tui.webhooks.journal.schema import encode
    from pac_tui.webhooks.models import redact_headers
    from pac_tui.webhooks.service import WebhookService
    from pac_tui.webhooks.summary import summarize

    print("\n3. Cost per call (best of 3, this process, no contention):")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config_path, data, _ = prepare(tmp)
        config = load_config(config_path, env={})
        body = push_body()
        headers = {
            "Host": "127.0.0.1:8080",
            "User-Agent": "GitLab/17.6.0",
            "Content-Length": str(len(body)),
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": SECRET,
        }
        receiver = WebhookService(config, data, SystemClock()).receiver
        payload = json.loads(body)
        delivery = receiver.judge(headers, body)

        def per_call(name: str, fn: Any, number: int = 20_000) -> None:
            best = min(timeit.repeat(fn, number=number, repeat=3)) / number
            print(f"   {best * 1e6:>7.1f} µs  {name}")

        per_call("Receiver.judge, all of it", lambda: receiver.judge(headers, body))
        per_call("  json.loads(body)", lambda: json.loads(body))
        per_call("  summarize(kind, payload)", lambda: summarize("Push Hook", payload))
        per_call("  redact_headers(headers)", lambda: redact_headers(dict(headers)))
        per_call("schema.encode(delivery)", lambda: encode(delivery))
        per_call("dataclasses.replace(delivery, id=…)", lambda: replace(delivery, id=1))
        per_call("web.json_response({id, verdict})", lambda: web.json_response({"id": 1}))

        writer = BatchWriter(tmp / "w.sqlite3")
        writer.open()
        conn = writer.connection
        assert conn is not None
        params = encode(delivery)
        for sync in ("FULL", "NORMAL"):
            conn.execute(f"PRAGMA synchronous = {sync}")
            for size in (1, 16, 256):
                batches = [[(True, params)] * size for _ in range(max(20, 4000 // size))]
                started = time.perf_counter()
                for batch in batches:
                    writer.write(batch)
                elapsed = time.perf_counter() - started
                rows = len(batches) * size
                print(
                    f"   {elapsed / rows * 1e6:>7.1f} µs  BatchWriter.write per row, batches of "
                    f"{size}, synchronous={sync} ({elapsed / len(batches) * 1e3:.2f} ms a batch)"
                )
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--serve-stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stage:
        if args.serve_stage.startswith("uvloop"):
            import uvloop

            uvloop.run(_serve_stage(args.serve_stage, args.data, args.config))
        else:
            asyncio.run(_serve_stage(args.serve_stage, args.data, args.config))
        return
    print(machine())
    profile(args.duration)
    stages(args.duration)
    costs()


if __name__ == "__main__":
    main()
