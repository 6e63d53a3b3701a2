"""The journal's SQL and its row format: the schema, the statements, and Delivery ⇄ row.

Queries are composed from these constants only; every value is a bound parameter.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from pac_tui.webhooks.models import Delivery, Verdict, redact_headers, safe_headers, safe_text

COLUMNS = (
    "id, received_at, repo, project, kind, verdict, summary, pac_event, headers, body, "
    "idempotency_key, event_uuid, source, redeliveries, relay_status, extra, body_encoding"
)

SELECT = f"SELECT {COLUMNS} FROM deliveries"  # noqa: S608
# The same from a version 1 journal, which has no body_encoding column (bodies as received).
SELECT_V1 = SELECT.replace(", body_encoding FROM", ", NULL FROM")

SCHEMA_V1 = (
    """
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        repo TEXT,
        project TEXT,
        kind TEXT NOT NULL,
        verdict TEXT NOT NULL,
        summary TEXT NOT NULL,
        pac_event TEXT,
        headers TEXT NOT NULL,
        body BLOB NOT NULL,
        idempotency_key TEXT,
        event_uuid TEXT,
        source TEXT NOT NULL,
        redeliveries INTEGER NOT NULL DEFAULT 0,
        relay_status TEXT,
        extra TEXT
    )
    """,
    "CREATE UNIQUE INDEX deliveries_idempotency_key ON deliveries (idempotency_key) "
    "WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX deliveries_repo ON deliveries (repo, id)",
    "CREATE INDEX deliveries_kind ON deliveries (kind, id)",
)

# Statements that take schema version N to N + 1. Add an entry (and bump SCHEMA_VERSION) when the
# schema changes; `_prepare_schema` applies them in order inside one transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: bodies may be stored compressed. NULL (every row of a version 1 journal): as received;
    # "zlib": zlib-compressed. O(1) in SQLite: existing rows are not rewritten.
    1: ("ALTER TABLE deliveries ADD COLUMN body_encoding TEXT",),
}
VERSION = 1 + len(MIGRATIONS)

# Bodies of at least MIN_BODY_TO_COMPRESS bytes are stored zlib-compressed (level 1) when that
# saves 10 % or more: a 2.3 KB push payload becomes 824 bytes in ~14 µs, so ~3 rows share a 4 KiB
# page instead of one row per page (a journal about a third the size, fewer pages to write, fsync
# and checkpoint per commit).
ZLIB = "zlib"
ZLIB_LEVEL = 1
# A 4 KiB window: the default 32 KiB one costs 59 µs a call here (setting up its state), this
# one 14 µs, and webhook payloads compress as well (zlib.decompress reads either).
ZLIB_WINDOW_BITS = 12
MIN_BODY_TO_COMPRESS = 256

# One statement inserts a whole batch: a single `sqlite3_step`, so the writer thread gives the GIL
# back once per batch instead of once per row (each hand-back waits for the busy event loop). The
# new rows get consecutive ids (one writer, under the write lock): the last is last_insert_rowid().
# `redeliveries` is bound: duplicates of a key new in this batch are counted before the insert.
INSERT_COLUMNS = (
    "received_at, repo, project, kind, verdict, summary, pac_event, headers, body, "
    "idempotency_key, event_uuid, source, extra, body_encoding, redeliveries"
)
PARAMS_PER_ROW = 15
KEY_INDEX = 9  # of idempotency_key in `encode`'s tuple
_ROW = "(" + ", ".join("?" * PARAMS_PER_ROW) + ")"


@lru_cache(maxsize=64)
def insert_rows(count: int) -> str:
    """INSERT of `count` rows, `PARAMS_PER_ROW` parameters each (encode's tuple + redeliveries)."""
    rows = ", ".join([_ROW] * count)
    return f"INSERT INTO deliveries ({INSERT_COLUMNS}) VALUES {rows}"  # noqa: S608


@lru_cache(maxsize=64)
def find_keys(count: int) -> str:
    """The rows already holding any of `count` Idempotency-Keys, with their verdicts."""
    marks = ", ".join("?" * count)
    return f"SELECT idempotency_key, id, verdict FROM deliveries WHERE idempotency_key IN ({marks})"  # noqa: S608


# Only a delivery whose X-Gitlab-Token was checked holds its Idempotency-Key in the unique column;
# any other (rejected, malformed, and the unverifiable unknown-repo and unverified ones) keeps it
# in `extra` (`KEY_IN_EXTRA`). Otherwise anyone could send a delivery first under a genuine key
# (for a repository without a webhook secret, or none at all) and make the real one a
# "redelivery": answered 200, never relayed. One bad sender must not hurt another's delivery.
CLAIMS_KEY = frozenset({Verdict.ACCEPTED.value})
KEY_IN_EXTRA = "idempotency_key"
# A journal written before that rule may have a refused row holding a key: the batch that meets
# one hands the key back to the row's `extra`, in its own transaction.
RELEASE_KEY = (
    "UPDATE deliveries SET extra = json_set(coalesce(extra, '{}'), '$.idempotency_key', "
    "idempotency_key), idempotency_key = NULL WHERE id = ?"
)


BUMP_REDELIVERIES = "UPDATE deliveries SET redeliveries = redeliveries + ? WHERE id = ?"
SET_RELAY_STATUS = "UPDATE deliveries SET relay_status = ? WHERE id = ?"
PRUNE = "DELETE FROM deliveries WHERE id <= ?"

# The newest row of every repository, one index seek per repository (a loose index scan):
# GROUP BY would read the whole index.
NEWEST_ID_OF_EACH_REPO = """(
    WITH RECURSIVE names (repo) AS (
        SELECT (SELECT repo FROM deliveries WHERE repo IS NOT NULL ORDER BY repo LIMIT 1)
        UNION ALL
        SELECT (SELECT repo FROM deliveries WHERE repo > names.repo ORDER BY repo LIMIT 1)
        FROM names WHERE names.repo IS NOT NULL
    )
    SELECT (SELECT id FROM deliveries WHERE repo = names.repo ORDER BY id DESC LIMIT 1)
    FROM names WHERE names.repo IS NOT NULL
)"""
NEWEST_ID_OF_REPOS = """(
    SELECT (SELECT id FROM deliveries WHERE repo = wanted.value ORDER BY id DESC LIMIT 1)
    FROM json_each(?) AS wanted
)"""
LAST_PER_REPO = SELECT + " WHERE id IN " + NEWEST_ID_OF_EACH_REPO
LAST_OF_REPOS = SELECT + " WHERE id IN " + NEWEST_ID_OF_REPOS


def encode(delivery: Delivery) -> tuple[Any, ...]:
    """A delivery's row (`INSERT_COLUMNS` but redeliveries); raises on the caller's side.

    Every text goes through `safe_text`: whatever a sender put in a header or a payload, the row
    is one SQLite can store.
    """
    received_at = delivery.received_at
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)  # naive times are UTC by convention
    headers = _dumps(redact_headers(safe_headers(delivery.headers)))
    key = _safe(delivery.idempotency_key) or None  # an empty header is no key
    claims = Verdict(delivery.verdict).value in CLAIMS_KEY
    extra = delivery.extra if claims or key is None else {**delivery.extra, KEY_IN_EXTRA: key}
    body = bytes(delivery.body)
    encoding = None
    if len(body) >= MIN_BODY_TO_COMPRESS:
        packer = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, ZLIB_WINDOW_BITS)
        packed = packer.compress(body) + packer.flush()
        if len(packed) < len(body) * 0.9:
            body, encoding = packed, ZLIB
    return (
        received_at.astimezone(UTC).isoformat(timespec="microseconds"),
        _safe(delivery.repo),
        _safe(delivery.project),
        safe_text(delivery.kind),
        Verdict(delivery.verdict).value,
        safe_text(delivery.summary),
        _safe(delivery.pac_event),
        headers,
        body,
        key if claims else None,
        _safe(delivery.event_uuid),
        safe_text(delivery.source),
        _dumps(safe_headers(extra)) if extra else None,
        encoding,
    )


def _safe(value: str | None) -> str | None:
    return None if value is None else safe_text(value)


def _dumps(value: dict[str, str]) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # e.g. a lone surrogate from a header: json escapes it
        return json.dumps(value, separators=(",", ":"))


def decode(row: tuple[Any, ...]) -> Delivery:
    (
        row_id,
        received_at,
        repo,
        project,
        kind,
        verdict,
        summary,
        pac_event,
        headers,
        body,
        idempotency_key,
        event_uuid,
        source,
        redeliveries,
        relay_status,
        extra,
        body_encoding,
    ) = row
    extra_fields = json.loads(extra) if extra else {}
    if idempotency_key is None:
        idempotency_key = extra_fields.pop(KEY_IN_EXTRA, None)
    if body_encoding == ZLIB:
        body = zlib.decompress(body)
    elif body_encoding is not None:
        raise ValueError(f"unknown body encoding {body_encoding!r}")
    return Delivery(
        received_at=datetime.fromisoformat(received_at),
        kind=kind,
        verdict=Verdict(verdict),
        summary=summary,
        # Redacted on the way out too: a journal written before every credential header was
        # redacted on the way in may still hold one.
        headers=redact_headers(json.loads(headers)),
        body=bytes(body),
        repo=repo,
        project=project,
        pac_event=pac_event,
        idempotency_key=idempotency_key,
        event_uuid=event_uuid,
        source=source,
        id=row_id,
        redeliveries=redeliveries,
        relay_status=relay_status,
        extra=extra_fields,
    )


def filters(repo: str | None, kind: str | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if repo is not None:
        where.append("repo = ?")
        params.append(repo)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    return where, params


def where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
