"""Dashboard with 1,000 configured repositories: time to first frame, cost of one tick, and the
latency from a key press to the frame that shows it.

Run: .venv/bin/python -m bench.dashboard_bench  (results go to bench/RESULTS.md by hand).
Goals (issue 15): first frame ≤ 0.7 s, one countdown tick ≤ 2 ms, key press → frame p99 ≤ 50 ms.
Idle CPU in a real terminal is bench/idle_bench.py.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pac_tui.core.clock import ManualClock
from tests.ui.conftest import make_app, make_context, token_record

REPOS = 1000
RUNS = 5
TICKS = 120
# Cursor keys as an operator uses them: down the list, a page at a time, back up.
# A key bound to nothing measures what the pilot's press and pause cost by themselves.
NOOP_KEYS = ["f12"] * 40
KEYS = ["down"] * 40 + ["pagedown"] * 10 + ["j"] * 20 + ["pageup"] * 10 + ["k"] * 20 + ["up"] * 20


def _context(tmp: Path):
    lines = ['[gitlab.default]\nurl = "{url}"\nclient_id = "app-id"\n']
    records = {}
    url = "https://gitlab.example.com"
    for i in range(REPOS):
        name = f"repo-{i:04d}"
        lines.append(f'[[repositories]]\nname = "{name}"\nproject = "group{i % 37}/{name}"\n')
        if i % 10:  # 90 % logged in, spread over every countdown format
            records[name] = token_record(url, 7200, 30 + (i * 7) % 7100)
    ctx = make_context(tmp, url=url, config_text="\n".join(lines), records=records)
    ctx.auto_refresh = False  # measure drawing, not the network
    return ctx


async def _one_run(
    tmp: Path,
) -> tuple[float, list[float], list[float], list[float], list[float], list[float]]:
    ctx = _context(tmp)
    started = time.perf_counter()
    app = make_app(ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        first_frame = time.perf_counter() - started
        clock = ctx.clock
        assert isinstance(clock, ManualClock)
        idle = []  # what pilot.pause() costs with nothing to draw, to subtract from repaints
        for _ in range(TICKS // 4):
            t0 = time.perf_counter()
            await pilot.pause()
            idle.append((time.perf_counter() - t0) * 1000)
        tick_only, tick_and_paint = [], []
        for _ in range(TICKS):
            clock.advance(1)
            t0 = time.perf_counter()
            app.dashboard.tick()
            t1 = time.perf_counter()
            await pilot.pause()
            t2 = time.perf_counter()
            tick_only.append((t1 - t0) * 1000)
            tick_and_paint.append((t2 - t0) * 1000)
        keys, noop = [], []  # press → the screen updated (the pilot waits for the key, then
        for sequence, into in ((NOOP_KEYS, noop), (KEYS, keys)):  # the repaint)
            for key in sequence:
                t0 = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                into.append((time.perf_counter() - t0) * 1000)
    return first_frame, tick_only, tick_and_paint, idle, keys, noop


def main() -> None:
    firsts, ticks, painted, idles, keys, noops = [], [], [], [], [], []
    for run in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            first, tick_only, tick_paint, idle, pressed, noop = asyncio.run(_one_run(Path(tmp)))
        firsts.append(first)
        ticks += tick_only
        painted += tick_paint
        idles += idle
        keys += pressed
        noops += noop
        print(f"run {run + 1}: first frame {first * 1000:.0f} ms")

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    print(f"repositories: {REPOS}, runs: {RUNS}, ticks per run: {TICKS}")
    print(
        f"first frame: median {statistics.median(firsts) * 1000:.0f} ms, "
        f"max {max(firsts) * 1000:.0f} ms"
    )
    print(f"tick (update): median {statistics.median(ticks):.2f} ms, p95 {pct(ticks, 95):.2f} ms")
    print(
        f"tick + repaint: median {statistics.median(painted):.2f} ms, p95 {pct(painted, 95):.2f} ms"
    )
    print(f"idle pause (nothing to draw): median {statistics.median(idles):.2f} ms")
    floor = statistics.median(noops)
    print(
        f"key press -> frame ({len(keys)} presses): median {statistics.median(keys):.2f} ms, "
        f"p99 {pct(keys, 99):.2f} ms"
    )
    print(
        f"no-op key (the pilot's own press + pause): median {floor:.2f} ms, "
        f"p99 {pct(noops, 99):.2f} ms"
    )
    print(
        f"key press -> frame minus the no-op median: median {statistics.median(keys) - floor:.2f} "
        f"ms, p99 {pct(keys, 99) - floor:.2f} ms"
    )


if __name__ == "__main__":
    main()
