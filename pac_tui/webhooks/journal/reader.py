"""The read side of the webhook journal: queries from any thread, with no writer needed.

Reads are synchronous and may be called from any thread: each thread gets its own read connection,
and WAL mode lets readers run beside the writer (and beside other processes, e.g. `pac-tui events
--follow` next to `pac-tui webhook serve`). A journal file that does not exist yet reads as empty;
a version 1 journal that no writer has migrated yet is read as it is. Read-only users (the
dashboard's history and follow, `pac-tui events`) open a `JournalReader` alone; `Journal`
(local.py) holds one beside its writer.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema
from pac_tui.webhooks.journal.file import JournalFile
from pac_tui.webhooks.models import Delivery


class JournalReader:
    """Reads of the journal at `path`; `close` closes every thread's connection (reads may go on:
    they open new ones)."""

    def __init__(self, path: Path) -> None:
        self.file = JournalFile(path)
        self._local = threading.local()  # per-thread read connections
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._generation = 0  # bumped when read connections are closed

    @property
    def path(self) -> Path:
        return self.file.path

    def get(self, delivery_id: int) -> Delivery | None:
        rows = self._query(schema.SELECT + " WHERE id = ?", (delivery_id,))
        return rows[0] if rows else None

    def recent(
        self,
        limit: int = 100,
        *,
        repo: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
    ) -> list[Delivery]:
        """The newest deliveries first; `before_id` pages further back."""
        where, params = schema.filters(repo, kind)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = f"{schema.SELECT}{schema.where(where)} ORDER BY id DESC LIMIT ?"
        return self._query(sql, (*params, limit))

    def after(
        self,
        after_id: int,
        limit: int = 1000,
        *,
        repo: str | None = None,
        kind: str | None = None,
    ) -> list[Delivery]:
        """Deliveries with an id above `after_id`, oldest first (to follow or catch up)."""
        where, params = schema.filters(repo, kind)
        where.append("id > ?")
        params.append(after_id)
        sql = f"{schema.SELECT}{schema.where(where)} ORDER BY id ASC LIMIT ?"
        return self._query(sql, (*params, limit))

    def count(self) -> int:
        rows = self._query("SELECT count(*) FROM deliveries", (), decode=False)
        return int(rows[0][0]) if rows else 0

    def last_per_repo(self, repos: Iterable[str] | None = None) -> dict[str, Delivery]:
        """The newest delivery of each repository name (only of `repos`, when given)."""
        if repos is None:
            found = self._query(schema.LAST_PER_REPO, ())
        else:
            found = self._query(schema.LAST_OF_REPOS, (json.dumps(list(repos)),))
        return {d.repo: d for d in found if d.repo is not None}

    def close(self) -> None:
        """Close the read connection of every thread."""
        with self._readers_lock:
            self._generation += 1
            readers, self._readers = self._readers, []
        for conn in readers:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _query(self, sql: str, params: tuple[Any, ...], *, decode: bool = True) -> list[Any]:
        conn = self._connection()
        if conn is None:
            return []
        try:
            try:
                rows = conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "body_encoding" not in str(exc) or schema.SELECT not in sql:
                    raise
                # A version 1 journal not migrated yet (no writer has opened it since): its
                # bodies are all stored as received.
                rows = conn.execute(sql.replace(schema.SELECT, schema.SELECT_V1), params).fetchall()
        except sqlite3.Error as exc:
            raise self.file.error("read", exc) from None
        if not decode:
            return rows
        try:
            return [schema.decode(row) for row in rows]
        except (ValueError, TypeError, zlib.error) as exc:
            raise StoreError(
                f"the webhook journal {self.path} holds a damaged row ({exc}); it was left "
                "untouched"
            ) from None

    def _connection(self) -> sqlite3.Connection | None:
        """This thread's read connection; None while there is no journal file (nothing to read)."""
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.generation == self._generation:
            return conn
        conn = self.file.open_for_reading()
        if conn is None:
            return None
        with self._readers_lock:
            self._readers.append(conn)
            local.conn, local.generation = conn, self._generation
        return conn
