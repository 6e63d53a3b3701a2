"""The webhook journal: durable group commit, idempotency, retention, reads, and crashes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import SCHEMA_VERSION, Appended, Journal
from pac_tui.webhooks.models import REDACTED, TOKEN_HEADER, Delivery, Verdict

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def delivery(
    n: int = 0,
    *,
    key: str | None = None,
    repo: str | None = "demo",
    kind: str = "Push Hook",
    token: str = REDACTED,
) -> Delivery:
    return Delivery(
        received_at=T0 + timedelta(seconds=n),
        kind=kind,
        verdict=Verdict.ACCEPTED,
        summary=f"push #{n}",
        headers={"X-Gitlab-Event": kind, TOKEN_HEADER: token, "Idempotency-Key": key or ""},
        body=b'{"object_kind": "push", "n": %d}' % n,
        repo=repo,
        project=f"group/{repo}" if repo else None,
        pac_event="push",
        idempotency_key=key,
        event_uuid=f"uuid-{n}",
    )


@pytest.fixture
async def journal(tmp_path: Path):
    j = Journal(tmp_path / "data" / "events.sqlite3")
    await j.start()
    yield j
    await j.close()


def ids(deliveries: list[Delivery]) -> list[int | None]:
    return [d.id for d in deliveries]


# -- round trip and reads ---------------------------------------------------------------------


async def test_round_trip_keeps_every_field(journal: Journal) -> None:
    original = Delivery(
        received_at=T0,
        kind="Note Hook",
        verdict=Verdict.UNVERIFIED,
        summary="comment /retest on !12",
        headers={"X-Gitlab-Event": "Note Hook", "Content-Type": "application/json"},
        body=b"\x00\xff binary-safe \xe2\x9c\x93",
        repo="demo",
        project="group/demo",
        pac_event="retest-comment",
        idempotency_key="key-1",
        event_uuid="uuid-1",
        source="smee",
        extra={"smee_id": "42"},
    )
    appended = await journal.append(original)
    assert appended == Appended(appended.id, duplicate=False)
    stored = journal.get(appended.id)
    assert stored == Delivery(**{**original.__dict__, "id": appended.id})
    assert stored.received_at.tzinfo is not None
    assert journal.get(appended.id + 1) is None


async def test_naive_and_foreign_times_are_stored_as_utc(journal: Journal) -> None:
    naive = await journal.append(Delivery(**{**delivery(1).__dict__, "received_at": T0}))
    paris = datetime(2026, 11, 26, 13, 0, tzinfo=ZoneInfo("Europe/Paris"))
    shifted = await journal.append(Delivery(**{**delivery(2).__dict__, "received_at": paris}))
    assert journal.get(naive.id).received_at == T0
    assert journal.get(shifted.id).received_at == T0
    assert journal.get(shifted.id).received_at.utcoffset() == timedelta(0)


async def test_recent_and_after_with_filters(journal: Journal) -> None:
    for n in range(12):
        repo = ("alpha", "beta", None)[n % 3]
        kind = "Push Hook" if n % 2 else "Merge Request Hook"
        await journal.append(delivery(n, repo=repo, kind=kind))
    every = journal.after(0)
    assert ids(every) == list(range(1, 13))
    assert ids(journal.recent()) == list(range(12, 0, -1))
    assert ids(journal.recent(3)) == [12, 11, 10]
    assert ids(journal.recent(3, before_id=10)) == [9, 8, 7]
    assert ids(journal.recent(repo="alpha")) == [10, 7, 4, 1]
    assert ids(journal.recent(kind="Push Hook", repo="beta")) == [8, 2]
    assert ids(journal.recent(repo="alpha", before_id=7)) == [4, 1]
    assert ids(journal.after(9)) == [10, 11, 12]
    assert ids(journal.after(0, 2)) == [1, 2]
    assert ids(journal.after(3, repo="beta", kind="Merge Request Hook")) == [5, 11]
    assert journal.recent(repo="nope") == []
    assert journal.count() == 12


async def test_last_per_repo(journal: Journal) -> None:
    assert journal.last_per_repo() == {}
    for n, repo in enumerate(["a", "b", "a", None, "c", "b", "a"], start=1):
        await journal.append(delivery(n, repo=repo))
    last = journal.last_per_repo()
    assert {name: d.id for name, d in last.items()} == {"a": 7, "b": 6, "c": 5}
    assert last["a"].summary == "push #7"
    assert {k: d.id for k, d in journal.last_per_repo(["b", "zzz", "a"]).items()} == {
        "b": 6,
        "a": 7,
    }
    assert journal.last_per_repo([]) == {}


async def test_reads_without_a_journal_file_find_nothing_and_create_nothing(
    tmp_path: Path,
) -> None:
    j = Journal(tmp_path / "events.sqlite3")
    assert (j.count(), j.recent(), j.after(0), j.get(1), j.last_per_repo()) == (0, [], [], None, {})
    assert not j.set_relay_status(1, "relayed")
    assert not j.path.exists()


async def test_reads_from_other_threads_during_a_flood(journal: Journal) -> None:
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(journal.count())
                journal.recent(10)
                journal.after(max(0, seen[-1] - 5))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    await asyncio.gather(*(journal.append(delivery(n)) for n in range(3000)))
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert seen and all(0 <= s <= 3000 for s in seen)
    assert journal.count() == 3000


async def test_reopening_keeps_rows_and_never_reuses_ids(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path, retention=5) as j:
        for n in range(8):
            await j.append(delivery(n))
    async with Journal(path, retention=5) as j:
        assert ids(j.after(0)) == [4, 5, 6, 7, 8]
        assert (await j.append(delivery(9))).id == 9


# -- idempotency ------------------------------------------------------------------------------


async def test_duplicates_within_one_batch_are_stored_once(journal: Journal) -> None:
    results = await asyncio.gather(*(journal.append(delivery(n, key="same")) for n in range(50)))
    assert journal.batches == 1
    assert {r.id for r in results} == {results[0].id}
    assert [r.duplicate for r in results] == [False] + [True] * 49
    stored = journal.get(results[0].id)
    assert stored.redeliveries == 49
    assert stored.summary == "push #0"  # the first delivery is the one kept
    assert journal.count() == 1


async def test_duplicates_across_batches_are_stored_once(journal: Journal) -> None:
    first = await journal.append(delivery(1, key="k-1"))
    other = await journal.append(delivery(2, key="k-2"))
    again = [await journal.append(delivery(n, key="k-1")) for n in range(3, 6)]
    assert not first.duplicate and not other.duplicate
    assert again == [Appended(first.id, duplicate=True)] * 3
    assert journal.get(first.id).redeliveries == 3
    assert journal.get(other.id).redeliveries == 0
    assert journal.count() == 2


async def test_deliveries_without_a_key_are_never_merged(journal: Journal) -> None:
    results = await asyncio.gather(
        journal.append(delivery(1)),
        journal.append(delivery(1, key="")),
        journal.append(delivery(1)),
    )
    assert len({r.id for r in results}) == 3
    assert not any(r.duplicate for r in results)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(keys=st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), min_size=1, max_size=40))
def test_one_row_per_key_whatever_the_interleaving(keys: list[str | None]) -> None:
    async def run(path: Path) -> None:
        async with Journal(path) as j:
            half = len(keys) // 2  # the first half in one batch, the rest one by one
            results = await asyncio.gather(
                *(j.append(delivery(n, key=k)) for n, k in enumerate(keys[:half]))
            )
            for n, k in enumerate(keys[half:], start=half):
                results.append(await j.append(delivery(n, key=k)))
            distinct = {k for k in keys if k is not None}
            assert j.count() == len(distinct) + keys.count(None)
            assert sum(not r.duplicate for r in results) == j.count()
            for k in distinct:
                rows = [r.id for r, key in zip(results, keys, strict=True) if key == k]
                assert len(set(rows)) == 1
                assert j.get(rows[0]).redeliveries == len(rows) - 1

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "events.sqlite3"))


# -- retention --------------------------------------------------------------------------------


async def test_retention_prunes_oldest_first(tmp_path: Path) -> None:
    async with Journal(tmp_path / "events.sqlite3", retention=10) as j:
        for n in range(25):  # one batch each
            await j.append(delivery(n))
            assert j.count() == min(n + 1, 10)
        assert ids(j.after(0)) == list(range(16, 26))
        await asyncio.gather(*(j.append(delivery(n)) for n in range(25, 60)))  # one batch
        assert ids(j.after(0)) == list(range(51, 61))


async def test_lowering_retention_prunes_on_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path) as j:
        await asyncio.gather(*(j.append(delivery(n)) for n in range(30)))
    async with Journal(path, retention=4) as j:
        assert j.count() == 30
        await j.append(delivery(99))
        assert ids(j.after(0)) == [28, 29, 30, 31]


def test_retention_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Journal(tmp_path / "events.sqlite3", retention=0)


# -- files and secrets ------------------------------------------------------------------------


async def test_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        async with Journal(tmp_path / "data" / "events.sqlite3") as j:
            await j.append(delivery(1))
            for suffix in ("", "-wal", "-shm"):
                assert stat.S_IMODE(Path(f"{j.path}{suffix}").stat().st_mode) == 0o600, suffix
            assert stat.S_IMODE(j.path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(old)


async def test_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path) as j:
        await j.append(delivery(1))
    path.chmod(0o644)
    async with Journal(path) as j:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert j.count() == 1


async def test_the_token_is_never_stored(journal: Journal) -> None:
    secret = "glwt-very-secret-value"
    appended = await journal.append(delivery(1, token=secret))  # a caller that forgot to redact
    headers = {"x-gitlab-token": secret, "X-Gitlab-Event": "Push Hook"}
    lower = await journal.append(Delivery(**{**delivery(2).__dict__, "headers": headers}))
    assert journal.get(appended.id).headers[TOKEN_HEADER] == REDACTED
    assert journal.get(lower.id).headers["x-gitlab-token"] == REDACTED
    for file in journal.path.parent.glob("events.sqlite3*"):
        assert secret.encode() not in file.read_bytes()


# -- group commit and floods ------------------------------------------------------------------


async def test_group_commit_shares_transactions(journal: Journal) -> None:
    results = await asyncio.gather(*(journal.append(delivery(n)) for n in range(2000)))
    assert journal.count() == 2000
    assert sorted(r.id for r in results) == list(range(1, 2001))
    assert journal.batches <= 20, f"{journal.batches} transactions for 2,000 appends"


async def test_a_flood_from_many_tasks_stores_every_acknowledged_append(journal: Journal) -> None:
    acknowledged: list[int] = []

    async def producer(p: int) -> None:
        for i in range(100):
            appended = await journal.append(delivery(p * 100 + i, key=f"p{p}-{i}"))
            acknowledged.append(appended.id)

    await asyncio.gather(*(producer(p) for p in range(200)))
    assert len(acknowledged) == len(set(acknowledged)) == 20_000
    assert journal.count() == 20_000
    assert journal.batches < 20_000 / 10


async def test_close_drains_the_queue(tmp_path: Path) -> None:
    j = Journal(tmp_path / "events.sqlite3")
    await j.start()
    tasks = [asyncio.create_task(j.append(delivery(n))) for n in range(500)]
    await asyncio.sleep(0)  # every task has queued its delivery
    await j.close()
    assert all(t.done() and not t.exception() for t in tasks)
    assert j.count() == 500


# -- relay status -----------------------------------------------------------------------------


async def test_relay_status_from_the_loop_and_from_threads(journal: Journal) -> None:
    first, second = await asyncio.gather(journal.append(delivery(1)), journal.append(delivery(2)))
    assert await journal.aset_relay_status(first.id, "relayed 200")
    assert await asyncio.to_thread(journal.set_relay_status, second.id, "failed: 502")
    assert not await journal.aset_relay_status(999, "relayed 200")
    assert not await asyncio.to_thread(journal.set_relay_status, 999, "x")
    assert journal.set_relay_status(first.id, "relayed 202")  # on the loop: written directly
    assert journal.get(first.id).relay_status == "relayed 202"
    assert journal.get(second.id).relay_status == "failed: 502"


async def test_relay_status_without_a_running_journal(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path) as j:
        appended = await j.append(delivery(1))
    other = Journal(path)
    assert other.set_relay_status(appended.id, "replayed")
    assert other.get(appended.id).relay_status == "replayed"


# -- failures ---------------------------------------------------------------------------------


async def test_append_needs_a_running_journal(tmp_path: Path) -> None:
    j = Journal(tmp_path / "events.sqlite3")
    with pytest.raises(StoreError, match="not started"):
        await j.append(delivery(1))
    await j.start()
    await j.append(delivery(1))
    await j.close()
    with pytest.raises(StoreError, match="closed"):
        await j.append(delivery(2))
    with pytest.raises(StoreError, match="closed"):
        await j.aset_relay_status(1, "x")
    assert j.count() == 1  # reads still work after close
    await j.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="already started"):
        await j.start()


async def test_a_failing_batch_acknowledges_nothing(journal: Journal) -> None:
    await journal.append(delivery(0))

    def disk_full(pages: int) -> None:  # runs in the writer thread, on the writer's connection
        journal.batch.connection.execute(f"PRAGMA max_page_count = {pages}")

    def page_count() -> int:
        return journal.batch.connection.execute("PRAGMA page_count").fetchone()[0]

    used = await journal.writer.call(page_count)
    await journal.writer.call(disk_full, used)
    big = [Delivery(**{**delivery(n).__dict__, "body": os.urandom(20_000)}) for n in range(1, 40)]
    results = await asyncio.gather(*(journal.append(d) for d in big), return_exceptions=True)
    assert all(isinstance(r, StoreError) for r in results), results
    assert "full" in str(results[0]) and str(journal.path) in str(results[0])
    assert journal.count() == 1
    await journal.writer.call(disk_full, 1_000_000)
    appended = await journal.append(delivery(40))  # the writer carries on once there is room
    assert journal.get(appended.id) is not None
    assert journal.count() == 2


async def test_a_crashing_writer_fails_its_waiters(journal: Journal) -> None:
    def broken(batch: list) -> list:
        raise OSError("I/O error")

    journal.batch.write = broken  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(journal.append(delivery(n)) for n in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, StoreError) and "I/O error" in str(r) for r in results)
    assert journal.count() == 0


async def test_a_stopped_writer_fails_every_waiter(tmp_path: Path) -> None:
    j = Journal(tmp_path / "events.sqlite3")
    await j.start()
    tasks = [asyncio.create_task(j.append(delivery(n))) for n in range(100)]
    await asyncio.sleep(0)
    assert j.writer.task is not None
    j.writer.task.cancel()  # what the loop does to leftover tasks when it shuts down
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        assert isinstance(r, StoreError) and "writer was stopped" in str(r)
    with pytest.raises(StoreError, match="closed"):
        await j.append(delivery(101))
    await j.close()


async def test_a_cancelled_waiter_does_not_disturb_the_batch(journal: Journal) -> None:
    tasks = [asyncio.create_task(journal.append(delivery(n))) for n in range(20)]
    await asyncio.sleep(0)
    tasks[3].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert sum(isinstance(r, Appended) for r in results) == 19
    assert journal.count() in (19, 20)  # the cancelled one may still be stored (never acked)


async def test_a_corrupt_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    garbage = b"this is not an SQLite database, just some bytes " * 100
    path.write_bytes(garbage)
    j = Journal(path)
    with pytest.raises(StoreError, match="damaged or not a database") as info:
        await j.start()
    assert str(path) in str(info.value)
    with pytest.raises(StoreError, match="damaged or not a database"):
        j.recent()
    assert path.read_bytes() == garbage


async def test_a_damaged_page_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path) as j:
        await asyncio.gather(*(j.append(delivery(n)) for n in range(300)))
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[page:] = b"\xa5" * (len(raw) - page)  # keep the header and schema page, scribble the rest
    path.write_bytes(bytes(raw))
    j = Journal(path)
    with pytest.raises(StoreError, match=re.escape(str(path))) as info:
        j.after(0)
    assert "damaged" in str(info.value)


async def test_a_foreign_database_or_a_newer_schema_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a pac-tui webhook journal"):
        await Journal(foreign).start()

    newer = tmp_path / "newer.sqlite3"
    async with Journal(newer):
        pass
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this pac-tui"):
        await Journal(newer).start()
    with pytest.raises(StoreError, match="newer than this pac-tui"):
        Journal(newer).count()


# -- kill -9 ----------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from pac_tui.webhooks.journal import Journal
    from pac_tui.webhooks.models import Delivery, Verdict

    BODY = b'{"object_kind": "push"}' * 100

    async def main():
        journal = Journal(Path(sys.argv[1]))
        await journal.start()
        out = sys.stdout

        async def producer(p):
            n = 0
            while True:
                n += 1
                d = Delivery(
                    received_at=datetime.now(UTC), kind="Push Hook", verdict=Verdict.ACCEPTED,
                    summary="push", headers={"X-Gitlab-Event": "Push Hook"}, body=BODY,
                    repo=f"r{p % 7}", idempotency_key=f"{os.getpid()}-{p}-{n}",
                )
                appended = await journal.append(d)
                out.write(f"{appended.id}\\n")
                out.flush()  # only acknowledged ids are printed

        await asyncio.gather(*(producer(p) for p in range(64)))

    asyncio.run(main())
    """
)


def _run_and_kill(path: Path, kill_after: int) -> list[int]:
    """Start a flooding child, SIGKILL it once it acknowledged `kill_after` more appends."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[int] = []
    deadline = time.monotonic() + 60
    try:
        assert child.stdout is not None
        while len(acknowledged) < kill_after and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the child stopped: {child.stderr.read() if child.stderr else ''}")
            acknowledged.append(int(line))
        os.kill(child.pid, signal.SIGKILL)  # mid-flood: batches are in flight
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    # Everything the child printed before it died was acknowledged (lines are written whole).
    acknowledged += [int(line) for line in rest.splitlines() if line.strip().isdigit()]
    assert len(acknowledged) >= kill_after
    return acknowledged


def test_kill_9_loses_no_acknowledged_delivery(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    acknowledged: set[int] = set()
    for kill_after in (100, 400, 1000, 2000, 3000, 5000, 7000, 9000):  # recover, go on, kill …
        acknowledged.update(_run_and_kill(path, kill_after))
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    j = Journal(path)
    stored: set[int] = set()
    after = 0
    while batch := j.after(after, 5000):
        stored.update(d.id for d in batch)
        after = batch[-1].id
    missing = acknowledged - stored
    assert not missing, f"{len(missing)} acknowledged deliveries lost, e.g. {sorted(missing)[:5]}"
    assert len(stored) >= len(acknowledged) >= 27_500
