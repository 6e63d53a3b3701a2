"""One bad sender must not hurt anyone else (issue 16), over real sockets and the real journal."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from pac_tui.core.clock import ManualClock, SystemClock
from pac_tui.core.config import parse_config
from pac_tui.webhooks.journal import Journal, JournalReader, schema
from pac_tui.webhooks.journal.batch import Appended, BatchWriter
from pac_tui.webhooks.limits import REFUSAL_BURST
from pac_tui.webhooks.models import REDACTED, Delivery
from pac_tui.webhooks.service import WebhookService
from tests.webhooks.conftest import CONFIG, SECRET, push_payload

BAD_BYTES = b"\xff\xfe bad \x80"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


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


CREDENTIALS = {
    "Authorization": "Bearer glpat-authorization-value",
    "Proxy-Authorization": "Basic cHJveHktdmFsdWU=",
    "Cookie": "_gitlab_session=cookie-value",
    "Private-Token": "glpat-private-token-value",
    "Job-Token": "job-token-value",
    "X-Api-Key": "api-key-value",
    "X-Gitlab-Token": SECRET,
}


class Capture:
    """A stand-in for the PAC controller on 127.0.0.1 that records each request's headers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.got = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.headers.append(dict(request.headers))
        self.got.set()
        return web.Response(text="ok")


async def test_credential_headers_are_redacted_and_not_relayed(tmp_path: Path) -> None:
    capture = Capture()
    app = web.Application()
    app.router.add_post("/{tail:.*}", capture.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pac_port = runner.addresses[0][1]
    config = parse_config(CONFIG, tmp_path / "config.toml")
    service = WebhookService(
        config, tmp_path / "data", SystemClock(), relay_url=f"http://127.0.0.1:{pac_port}/"
    )
    await service.start("127.0.0.1", 0)
    try:
        headers = [
            (b"X-Gitlab-Event", b"Push Hook"),
            (b"Content-Type", b"application/json"),
            (b"User-Agent", b"GitLab/17.5.0"),
            (b"Idempotency-Key", b"relay-me"),
            (b"X-Sender-Extra", b"not for PAC"),
            *((k.encode(), v.encode()) for k, v in CREDENTIALS.items()),
        ]
        answer = await post_raw(service.url, json.dumps(push_payload()).encode(), headers)  # type: ignore[arg-type]
        assert answer.status_code == 200, answer.text
        stored = service.journal.get(answer.json()["id"])  # type: ignore[attr-defined]
        assert stored is not None
        for name, value in CREDENTIALS.items():
            assert stored.headers[name] == REDACTED, name
            assert value not in json.dumps(stored.headers)
        await asyncio.wait_for(capture.got.wait(), 10)
    finally:
        await service.stop()
        await runner.cleanup()
    (sent,) = capture.headers
    names = {name.lower() for name in sent}
    assert sent["X-Gitlab-Token"] == SECRET, "PAC checks it"
    assert {"x-gitlab-event", "content-type", "user-agent", "idempotency-key"} <= names
    assert not names & {"authorization", "proxy-authorization", "cookie", "private-token"}
    assert not names & {"job-token", "x-api-key", "x-sender-extra"}


async def test_a_credential_stored_by_an_older_version_is_redacted_when_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite3"
    writer = BatchWriter(path)
    writer.open()
    row = list(schema.encode(valid(1)))
    row[7] = json.dumps({"Authorization": "Bearer old-secret", "X-Gitlab-Event": "Push Hook"})
    (appended,) = writer.write([(True, tuple(row))])
    writer.close()
    reader = JournalReader(path)
    stored = reader.get(appended.id)
    assert stored is not None
    assert stored.headers == {"Authorization": REDACTED, "X-Gitlab-Event": "Push Hook"}


async def test_what_nobody_vouches_for_is_capped_at_64_kib(service: WebhookService) -> None:
    big = os.urandom(4 * 1024 * 1024)  # incompressible
    wrong = [(b"X-Gitlab-Event", b"Push Hook"), (b"X-Gitlab-Token", b"wrong")]
    rejected_body = json.dumps({**push_payload(), "padding": big.hex()[: 2 * 1024 * 1024]})
    unknown_body = json.dumps({**push_payload("someone/else"), "padding": big.hex()[:500_000]})
    many = [(b"X-Filler-%d" % i, b"v" * 8000) for i in range(75)]  # 600 KB of headers
    cases = [
        (rejected_body.encode(), wrong, "rejected"),
        (unknown_body.encode(), wrong, "unknown-repo"),
        (b"not json", wrong + many, "malformed"),
    ]
    for body, headers, verdict in cases:
        answer = await post_raw(service.url, body, headers)  # type: ignore[arg-type]
        assert answer.json()["verdict"] == verdict, answer.text
        stored = service.journal.get(answer.json()["id"])  # type: ignore[attr-defined]
        assert stored is not None
        assert len(stored.body) <= 64 * 1024, verdict
        header_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in stored.headers.items())
        assert header_bytes <= 64 * 1024, verdict
    assert "headers_truncated" in stored.extra and stored.body == b"not json"
    good = json.dumps({**push_payload(), "padding": big.hex()[:200_000]}).encode()
    answer = await post_raw(service.url, good, [(b"X-Gitlab-Token", SECRET.encode())])
    stored = service.journal.get(answer.json()["id"])  # type: ignore[attr-defined]
    assert stored is not None and stored.body == good, "an accepted delivery is kept whole"


async def test_a_source_that_keeps_being_refused_gets_429_and_costs_no_disk(
    tmp_path: Path,
) -> None:
    # The bucket refills with the receiver's clock (0.5 a second): on the system clock, 50
    # requests that take a few seconds on a loaded CI machine earn more 401s. Frozen, exact.
    config = parse_config(CONFIG, tmp_path / "config.toml")
    service = WebhookService(config, tmp_path / "data", ManualClock(NOW))
    await service.start("127.0.0.1", 0)
    url: str = service.url  # type: ignore[assignment]
    body = json.dumps(push_payload()).encode()
    wrong = [(b"X-Gitlab-Event", b"Push Hook"), (b"X-Gitlab-Token", b"wrong")]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            statuses = [(await post_raw(url, body, wrong, http)).status_code for _ in range(50)]
            good = await post_raw(url, body, [(b"X-Gitlab-Token", SECRET.encode())], http)
            last = await post_raw(url, body, wrong, http)
        stored = service.journal.recent(100)  # type: ignore[attr-defined]
    finally:
        await service.stop()
    assert statuses == [401] * REFUSAL_BURST + [429] * (50 - REFUSAL_BURST), statuses
    assert good.status_code == 200, "a sender that gets it right is never slowed"
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert sum(d.verdict.value == "rejected" for d in stored) == REFUSAL_BURST


async def test_the_journal_keeps_within_its_byte_budget_oldest_first(tmp_path: Path) -> None:
    budget = 2 * 1024 * 1024
    path = tmp_path / "data" / "events.sqlite3"
    config = parse_config(CONFIG, tmp_path / "config.toml")
    service = WebhookService(
        config, tmp_path / "data", SystemClock(), journal=Journal(path, max_bytes=budget)
    )
    await service.start("127.0.0.1", 0)
    ids = []
    try:
        token = [(b"X-Gitlab-Token", SECRET.encode())]
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(40):  # 40 x ~270 KB that zlib cannot shrink: ~10 MB
                padding = base64.b64encode(os.urandom(200_000)).decode()
                body = json.dumps({**push_payload(), "padding": padding}).encode()
                answer = await post_raw(service.url, body, token, http)  # type: ignore[arg-type]
                assert answer.status_code == 200
                ids.append(answer.json()["id"])
        journal = service.journal
        assert journal.get(ids[-1]) is not None, "the newest is kept"  # type: ignore[attr-defined]
        assert journal.get(ids[0]) is None, "the oldest went first"  # type: ignore[attr-defined]
        kept = journal.recent(100)  # type: ignore[attr-defined]
        assert 3 <= len(kept) < 40
        assert {d.id for d in kept} == set(ids[-len(kept) :]), "the newest ones, no gap"
    finally:
        await service.stop()
    assert path.stat().st_size <= budget + 512 * 1024, path.stat().st_size


def test_the_byte_budget_never_drops_a_delivery_of_the_batch_it_acknowledges(
    tmp_path: Path,
) -> None:
    def heavy(n: int) -> tuple[bool, tuple[object, ...]]:
        big = Delivery(**{**valid(n).__dict__, "body": os.urandom(100_000)})
        return (True, schema.encode(big))

    writer = BatchWriter(tmp_path / "events.sqlite3", max_bytes=64 * 1024)
    writer.open()
    try:
        first = writer.write([heavy(n) for n in range(3)])  # 300 KB, over budget on its own
        assert writer.connection is not None
        ids = [row[0] for row in writer.connection.execute("SELECT id FROM deliveries")]
        assert ids == [a.id for a in first], "acknowledged, so kept"
        (second,) = writer.write([heavy(3)])
        ids = [row[0] for row in writer.connection.execute("SELECT id FROM deliveries")]
        assert ids == [second.id], "the older ones went first"
    finally:
        writer.close()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_journal_deleted_or_replaced_while_serving_gets_503_not_a_lost_2xx(
    service: WebhookService, tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """A 2xx means the delivery is where `events` reads: once the journal at the path is not the
    file the writer opened, deliveries get the fixed 503 and the log says what happened."""
    url: str = service.url  # type: ignore[assignment]
    body = json.dumps(push_payload()).encode()
    token = [(b"X-Gitlab-Token", SECRET.encode())]
    assert (await post_raw(url, body, [*token, (b"Idempotency-Key", b"before")])).status_code == 200
    path = service.journal.path
    if how == "deleted":
        path.unlink()
    else:  # another journal moved over it, as a restore from a backup would
        other = Journal(tmp_path / "other.sqlite3")
        await other.start()
        await other.close()
        (tmp_path / "other.sqlite3").rename(path)
    for key in (b"after", b"and-after"):
        answer = await post_raw(url, body, [*token, (b"Idempotency-Key", key)])
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"error": "the delivery could not be stored; retry later"}
    assert "was deleted or replaced while pac-tui was writing it" in caplog.text
    assert str(path) in caplog.text
    if how == "replaced":
        # (The new file shows "before": SQLite reads the old journal's WAL, still at the path's
        # -wal name, into it. That is why the writer never reopens by itself.)
        keys = {d.idempotency_key for d in JournalReader(path).recent(10)}
        assert not keys & {"after", "and-after"}, "nothing acknowledged, nothing stored"


async def test_a_request_that_cannot_be_parsed_is_a_400_and_no_logged_traceback(
    service: WebhookService, caplog: pytest.LogCaptureFixture
) -> None:
    """A sender of junk gets 400s, and the log gets no error (with a traceback) per request."""
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    host, port = service.url.removeprefix("http://").rstrip("/").rsplit(":", 1)  # type: ignore[union-attr]
    for junk in (b"X-\x01Bad\xff: v\r\n", b"X" * 9000 + b": v\r\n", b"\x1b[31m: v\r\n"):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /hooks/x HTTP/1.1\r\nHost: x\r\n" + junk + b"Content-Length: 0\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:100]
    server_records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(server_records) == 3, [r.getMessage() for r in server_records]
    assert all(r.levelno == logging.DEBUG and r.exc_info is None for r in server_records)
    assert all("answered 400" in r.getMessage() for r in server_records)
    assert not any("\x1b" in r.getMessage() for r in server_records)
