"""The journal's on-disk format: compressed bodies (schema 2), a version 1 journal still reads and
is migrated in place, and the batched writer (one multi-row INSERT) gives each delivery its row."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pac_tui.webhooks.journal import SCHEMA_VERSION, Journal, schema
from pac_tui.webhooks.models import Delivery, Verdict
from tests.webhooks.conftest import push_payload

WHEN = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)


def delivery(body: bytes, key: str | None = None, summary: str = "push") -> Delivery:
    return Delivery(
        received_at=WHEN,
        kind="Push Hook",
        verdict=Verdict.ACCEPTED,
        summary=summary,
        headers={"X-Gitlab-Event": "Push Hook"},
        body=body,
        repo="checked",
        idempotency_key=key,
    )


def make_v1_journal(path: Path, body: bytes) -> None:
    """A journal as pac-tui with schema version 1 wrote it (bodies stored as received)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in schema.SCHEMA_V1:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO deliveries (received_at, repo, project, kind, verdict, summary, pac_event, "
        "headers, body, idempotency_key, event_uuid, source, redeliveries, extra) "
        "VALUES (?, 'checked', 'mike/diaspora', 'Push Hook', 'accepted', 'old push', 'push', "
        "?, ?, 'old-key', NULL, 'http', 0, NULL)",
        (WHEN.isoformat(timespec="microseconds"), '{"X-Gitlab-Event":"Push Hook"}', body),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()


async def test_a_version_1_journal_is_read_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "data" / "events.sqlite3"
    body = json.dumps(push_payload()).encode()
    make_v1_journal(path, body)

    before = Journal(path).get(1)  # reads work before any migration, too
    assert before is not None and before.body == body and before.summary == "old push"

    async with Journal(path) as journal:
        old = journal.get(1)
        assert old is not None and old.body == body and old.idempotency_key == "old-key"
        again = await journal.append(delivery(body, key="old-key"))
        assert again.id == 1 and again.duplicate
        new = await journal.append(delivery(body, summary="new push"))
        assert new.id == 2 and not new.duplicate
        assert [d.summary for d in journal.recent(10)] == ["new push", "old push"]
        assert journal.get(2).body == body  # type: ignore[union-attr]

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        encodings = conn.execute("SELECT id, body_encoding FROM deliveries ORDER BY id").fetchall()
        assert encodings == [(1, None), (2, "zlib")]
        assert conn.execute("SELECT redeliveries FROM deliveries WHERE id = 1").fetchone() == (1,)
    finally:
        conn.close()


async def test_bodies_are_compressed_only_when_it_pays(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    push = json.dumps(push_payload()).encode()
    small = b'{"a": 1}'
    noise = os.urandom(600)  # incompressible
    async with Journal(path) as journal:
        ids = [(await journal.append(delivery(b))).id for b in (push, small, noise)]
        assert [journal.get(i).body for i in ids] == [push, small, noise]  # type: ignore[union-attr]
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT body_encoding, length(body) FROM deliveries ORDER BY id")
        (push_enc, push_len), (small_enc, _), (noise_enc, _) = rows.fetchall()
    finally:
        conn.close()
    assert push_enc == "zlib" and push_len < len(push) / 2
    assert small_enc is None and noise_enc is None


async def test_a_damaged_compressed_body_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    async with Journal(path) as journal:
        await journal.append(delivery(json.dumps(push_payload()).encode()))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE deliveries SET body = x'00112233'")
    conn.close()
    journal = Journal(path)
    try:
        journal.get(1)
    except Exception as exc:
        assert "damaged row" in str(exc)
    else:
        raise AssertionError("a damaged body was decoded")


def test_one_batch_mixing_new_rows_duplicates_and_relay_statuses(tmp_path: Path) -> None:
    """The synchronous writer (the writer process of `webhook serve --workers N`)."""
    journal = Journal(tmp_path / "events.sqlite3")
    journal.open_writer()
    try:
        first = journal.write([(True, schema.encode(delivery(b"{}", key="k1", summary="a")))])
        assert [(r.id, r.duplicate) for r in first] == [(1, False)]
        ops = [
            (True, schema.encode(delivery(b"{}", summary="b"))),  # new → 2
            (True, schema.encode(delivery(b"{}", key="k1"))),  # stored before → 1, duplicate
            (False, ("relayed 202", 1)),
            (True, schema.encode(delivery(b"{}", key="k2", summary="c"))),  # new → 3
            (True, schema.encode(delivery(b"{}", key="k2"))),  # new in this batch → 3, dup
            (False, ("relayed 500", 99)),  # no such row
            (True, schema.encode(delivery(b"{}", summary="d"))),  # new → 4
        ]
        results = journal.write(ops)
    finally:
        journal.close_writer()
    simple = [(r.id, r.duplicate) if not isinstance(r, bool) else r for r in results]
    assert simple == [(2, False), (1, True), True, (3, False), (3, True), False, (4, False)]
    reader = Journal(tmp_path / "events.sqlite3")
    rows = {d.id: d for d in reader.recent(10)}
    assert {i: rows[i].summary for i in rows} == {1: "a", 2: "b", 3: "c", 4: "d"}
    assert rows[1].redeliveries == 1 and rows[3].redeliveries == 1 and rows[2].redeliveries == 0
    assert rows[1].relay_status == "relayed 202"
