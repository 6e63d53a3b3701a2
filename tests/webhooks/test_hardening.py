"""One bad sender must not hurt anyone else (issue 16), over real sockets and the real journal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.batch import Appended, BatchWriter
from pac_tui.webhooks.models import Delivery
from pac_tui.webhooks.service import WebhookService
from tests.webhooks.conftest import SECRET, push_payload

BAD_BYTES = b"\xff\xfe bad \x80"


async def post_raw(
    url: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    http: httpx.AsyncClient | None = None,
) -> httpx.Response:
    if http is not None:
        return await http.post(url + "hooks/x", content=body, headers=headers)
    async with httpx.AsyncClient(timeout=30) as own:
        return await own.post(url + "hooks/x", content=body, headers=headers)


async def test_non_utf8_header_bytes_fail_nobody(service: WebhookService) -> None:
    """20 deliveries with bytes that are not UTF-8 in the headers the journal keeps in columns,
    among 180 valid ones, all at once: every valid one is stored and acknowledged, and the bad
    ones too, in a safe form."""
    url: str = service.url  # type: ignore[assignment]
    body = json.dumps(push_payload()).encode()
    good = [(b"X-Gitlab-Event", b"Push Hook"), (b"X-Gitlab-Token", SECRET.encode())]
    names = [b"X-Gitlab-Event", b"Idempotency-Key", b"X-Gitlab-Event-UUID"]
    bad = [
        [*(h for h in good if h[0] != names[i % 3]), (names[i % 3], BAD_BYTES + str(i).encode())]
        for i in range(20)
    ]
    valid = [[*good, (b"Idempotency-Key", f"valid-{i}".encode())] for i in range(180)]
    requests = bad + valid
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        answers = await asyncio.gather(*(post_raw(url, body, h, http) for h in requests))
    statuses = [a.status_code for a in answers]
    assert statuses[20:] == [200] * 180, statuses
    assert all(s < 500 for s in statuses[:20]), statuses
    for answer in answers[:20]:
        stored = service.journal.get(answer.json()["id"])  # type: ignore[attr-defined]
        assert stored is not None
        texts = [stored.kind, stored.idempotency_key or "", stored.event_uuid or ""]
        assert any("\ufffd" in t for t in texts), texts
        assert all("\ufffd" not in t or "bad" in t for t in texts)


async def test_503_names_no_path_and_no_exception(service: WebhookService, tmp_path: Path) -> None:
    await service.journal.close()  # the journal goes away under a running receiver
    answer = await post_raw(
        service.url,  # type: ignore[arg-type]
        json.dumps(push_payload()).encode(),
        [(b"X-Gitlab-Token", SECRET.encode())],
    )
    assert answer.status_code == 503
    assert str(tmp_path) not in answer.text and "journal" not in answer.text, answer.text
    assert answer.json() == {"error": "the delivery could not be stored; retry later"}


def valid(n: int) -> Delivery:
    from tests.unit.test_journal import delivery

    return delivery(n, key=f"k{n}")


def test_a_row_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    """A row SQLite refuses (here: a lone surrogate put in after `encode`, as a future column
    might carry) fails alone; the rest of its batch is committed, in one retry per half."""
    from pac_tui.webhooks.journal.batch import RowError

    writer = BatchWriter(tmp_path / "events.sqlite3")
    writer.open()
    try:
        rows = [schema.encode(valid(n)) for n in range(9)]
        broken = list(rows[4])
        broken[3] = "Push \udcff Hook"  # kind
        rows[4] = tuple(broken)
        results = writer.write([(True, row) for row in rows])
        assert isinstance(results[4], RowError)
        assert "\udcff" not in str(results[4])
        appended = [r for i, r in enumerate(results) if i != 4]
        assert all(isinstance(r, Appended) and not r.duplicate for r in appended)
        assert writer.batches <= 2 * 4  # halves, never one transaction per row
        assert writer.connection is not None
        (count,) = writer.connection.execute("SELECT count(*) FROM deliveries").fetchone()
        assert count == 8
    finally:
        writer.close()
