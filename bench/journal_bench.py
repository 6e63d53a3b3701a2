"""Webhook journal: durable appends/s under group commit, DB size, and read costs.

Run: .venv/bin/python -m bench.journal_bench  (prints its results; nothing is written elsewhere).
Goal context: the whole receiver must do ≥ 8,000 durable deliveries/s on a 2-core machine, so the
journal alone has to do well above that. Every append carries the real GitLab push payload and its
own Idempotency-Key, and returns only after its row is committed (WAL, synchronous=FULL).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pac_tui.webhooks.journal import Journal
from pac_tui.webhooks.models import Delivery, Verdict

PAYLOAD = Path("/work/shared/fixtures/gitlab-webhooks/go-gitlab/webhooks/push.json").read_bytes()
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "GitLab/17.6.0",
    "X-Gitlab-Event": "Push Hook",
    "X-Gitlab-Instance": "https://gitlab.example.com",
    "X-Gitlab-Webhook-Uuid": "0c7e5a4b-63b5-4e0b-8d1d-1f2e3d4c5b6a",
    "X-Gitlab-Token": "[redacted]",
}
CONCURRENCY = (1, 16, 256)
DURATION = 3.0  # seconds per concurrency level
SIZE_ROWS = 100_000
REPOS = 50
BURST = 20_000


class Producer:
    """Makes deliveries the way the receiver does: a fresh Delivery with a unique key each."""

    def __init__(self) -> None:
        self.n = 0

    def delivery(self) -> Delivery:
        self.n += 1
        key = str(uuid.uuid4())  # GitLab's Idempotency-Key is a UUID: random index inserts
        return Delivery(
            received_at=datetime.now(UTC),
            kind="Push Hook",
            verdict=Verdict.ACCEPTED,
            summary="push to main by Jane (4 commits)",
            headers={**HEADERS, "Idempotency-Key": key, "X-Gitlab-Event-Uuid": key},
            body=PAYLOAD,
            repo=f"repo-{self.n % REPOS:02d}",
            project=f"group/repo-{self.n % REPOS:02d}",
            pac_event="push",
            idempotency_key=key,
            event_uuid=key,
        )


async def _rate(journal: Journal, producer: Producer, concurrency: int, duration: float):
    latencies: list[float] = []
    stop = time.perf_counter() + duration

    async def one() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await journal.append(producer.delivery())
            latencies.append(time.perf_counter() - started)

    batches_before = journal.batches
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    batches = journal.batches - batches_before
    latencies.sort()
    return {
        "appends": len(latencies),
        "rate": len(latencies) / elapsed,
        "batches": batches,
        "per_batch": len(latencies) / max(batches, 1),
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


async def _fill(journal: Journal, producer: Producer, rows: int, concurrency: int = 256) -> float:
    per_task, extra = divmod(rows, concurrency)

    async def one(count: int) -> None:
        for _ in range(count):
            await journal.append(producer.delivery())

    started = time.perf_counter()
    await asyncio.gather(*(one(per_task + (i < extra)) for i in range(concurrency)))
    return rows / (time.perf_counter() - started)


def _timed(fn, repeat: int = 20) -> float:
    """Median milliseconds of `fn()`."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1e3


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def main() -> None:
    print(f"payload: push.json, {len(PAYLOAD)} bytes; {DURATION:.0f} s per level")
    print(
        f"{'producers':>9} {'appends/s':>10} {'appends':>8} {'batches':>8} {'rows/batch':>10} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    for concurrency in CONCURRENCY:
        with tempfile.TemporaryDirectory() as tmp:
            journal = Journal(Path(tmp) / "events.sqlite3")
            await journal.start()
            producer = Producer()
            await _rate(journal, producer, concurrency, 0.3)  # warm up
            r = await _rate(journal, producer, concurrency, DURATION)
            await journal.close()
        print(
            f"{concurrency:>9} {r['rate']:>10,.0f} {r['appends']:>8,} {r['batches']:>8,} "
            f"{r['per_batch']:>10.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "events.sqlite3")
        await journal.start()
        producer = Producer()
        burst = [producer.delivery() for _ in range(BURST)]
        started = time.perf_counter()
        await asyncio.gather(*(journal.append(d) for d in burst))
        elapsed = time.perf_counter() - started
        print(
            f"burst of {BURST:,} appends at once: {BURST / elapsed:,.0f} appends/s in "
            f"{journal.batches} transactions"
        )
        await journal.close()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.sqlite3"
        journal = Journal(path)
        await journal.start()
        producer = Producer()
        rate = await _fill(journal, producer, SIZE_ROWS)
        await journal.close()  # checkpoints the WAL into the DB file
        size = _size(path)
        print(
            f"\n{SIZE_ROWS:,} rows (256 producers): {rate:,.0f} appends/s; "
            f"DB size {size / 2**20:.1f} MiB per 100k rows ({size / SIZE_ROWS:,.0f} B/row, "
            f"payload {len(PAYLOAD)} B)"
        )

        reader = Journal(path)
        last = SIZE_ROWS
        print(
            f"reads at {SIZE_ROWS:,} rows (median ms): "
            f"get {_timed(lambda: reader.get(last // 2)):.3f}, "
            f"recent(100) {_timed(lambda: reader.recent(100)):.2f}, "
            f"recent(100, repo=) {_timed(lambda: reader.recent(100, repo='repo-07')):.2f}, "
            f"after(id, 1000) {_timed(lambda: reader.after(last - 1000)):.2f}, "
            f"last_per_repo ({REPOS} repos) {_timed(reader.last_per_repo):.2f}, "
            f"count {_timed(reader.count):.2f}"
        )
        await reader.close()

    with tempfile.TemporaryDirectory() as tmp:
        retention = 20_000
        journal = Journal(Path(tmp) / "events.sqlite3", retention=retention)
        await journal.start()
        producer = Producer()
        await _fill(journal, producer, retention + 5_000)  # now every batch prunes
        r = await _rate(journal, producer, 256, DURATION)
        rows = journal.count()
        await journal.close()
        print(
            f"at retention ({retention:,} rows kept, every batch prunes as many as it adds), "
            f"256 producers: {r['rate']:,.0f} appends/s, {r['per_batch']:.0f} rows/batch; "
            f"rows kept {rows:,}"
        )


if __name__ == "__main__":
    asyncio.run(main())
