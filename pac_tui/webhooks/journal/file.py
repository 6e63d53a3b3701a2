"""The webhook journal's file: where it lives (mode 0600), its connections, its schema version.

`JournalFile` creates the file and its data dir, opens connections (autocommit, explicit
transactions, a busy timeout for other processes holding the write lock), checks the schema
version, and opens the two kinds of connection the journal uses: the writer's (WAL,
synchronous=FULL, the schema created or migrated under the write lock; `schema` holds the
statements) and a reader's (query-only). It turns SQLite errors into StoreErrors that name the
file. The reader (reader.py) and the batch writer (batch.py) each hold one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from pathlib import Path

from pac_tui.core.errors import StoreError
from pac_tui.webhooks.journal import schema

SCHEMA_VERSION = schema.VERSION  # 2: compressed bodies
BUSY_TIMEOUT_S = 5.0  # another process holding the write lock
# Checkpoint the WAL into the DB every ~64 MiB instead of SQLite's 4 MiB: the random index pages
# (Idempotency-Keys are UUIDs) that many batches dirty are then copied once, not once per batch.
# The writer's page cache holds the indexes of a full journal, so inserts seldom read the disk.
WAL_AUTOCHECKPOINT_PAGES = 16384
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is truncated to after a checkpoint
WRITER_CACHE_KIB = 32 * 1024

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


class JournalFile:
    """The journal file at `path`: opening, creating and migrating it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def open_for_writing(self) -> sqlite3.Connection:
        """The write connection: creates the file (0600) if needed, WAL, the schema up to date."""
        self._ensure_file()
        conn = self.connect(create=True)
        try:
            self._configure_writer(conn)
            self._prepare_schema(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self.error("open", exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def open_for_reading(self) -> sqlite3.Connection | None:
        """A query-only connection; None while there is no journal (nothing to read yet)."""
        conn = self.open_existing()
        if conn is None:
            return None
        try:
            if self.check_version(conn) == 0:  # being created right now: nothing to read yet
                conn.close()
                return None
            conn.execute("PRAGMA query_only = ON")
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self.error("read", exc) from None
            raise
        return conn

    def open_existing(self) -> sqlite3.Connection | None:
        """A plain connection to the file, or None if it does not exist (never creates it)."""
        if not self.path.exists():
            return None
        self.refuse_symlink()
        return self.connect(create=False)

    def connect(self, *, create: bool) -> sqlite3.Connection:
        uri = f"{self.path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        try:
            return sqlite3.connect(
                uri,
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self.error("open", exc) from None

    def check_version(self, conn: sqlite3.Connection) -> int:
        """The file's schema version (0: empty); StoreError for a newer or a foreign database."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the webhook journal {self.path} has schema version {version}, newer than this "
                f"pac-tui knows ({SCHEMA_VERSION}); upgrade pac-tui or move the file away"
            )
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(
                f"{self.path} is an SQLite database but not a pac-tui webhook journal; it was "
                "left untouched: move it away"
            )
        return version

    def error(self, action: str, exc: sqlite3.Error) -> StoreError:
        """The StoreError for an SQLite error while doing `action` ("open", "read", "write")."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StoreError(
                f"the webhook journal {self.path} is damaged or not a database ({exc}); it was "
                "left untouched: move it away to start a new one"
            )
        return StoreError(f"cannot {action} the webhook journal {self.path}: {exc}")

    def _ensure_file(self) -> None:
        """Create the data dir (0700) and an empty journal file (0600) unless they exist.

        The journal is never a symbolic link: one is refused before anything is done to it or
        to its target (a mode tightened through a link would change another file's)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                self._tighten_existing()
            else:
                os.close(fd)
        except OSError as exc:
            raise StoreError(
                f"cannot create the webhook journal {self.path}: {exc.strerror}"
            ) from None

    def _tighten_existing(self) -> None:
        """Check that the existing journal is a regular file, not a link, and make it 0600,
        on one descriptor opened without following a link (nothing can swap it in between)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self.symlink_error() from None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise StoreError(f"the webhook journal {self.path} is not a file")
            if stat.S_IMODE(info.st_mode) & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    def refuse_symlink(self) -> None:
        """StoreError if the journal's path is a symbolic link (readers follow none either)."""
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISLNK(os.lstat(self.path).st_mode):
                raise self.symlink_error()

    def symlink_error(self) -> StoreError:
        return StoreError(
            f"the webhook journal {self.path} is a symbolic link, which pac-tui does not follow "
            "(the file it points to was left untouched): put the journal file itself at that "
            "path, or remove the link to start a new journal there"
        )

    def _configure_writer(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"the webhook journal {self.path} cannot use WAL mode (got {mode!r}); put the "
                "data dir on a local file system"
            )
        conn.execute("PRAGMA synchronous = FULL")  # an acknowledged delivery survives a crash
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # decide under the write lock: other processes may race
        try:
            version = self.check_version(conn)
            if version == 0:
                for statement in schema.SCHEMA_V1:
                    conn.execute(statement)
                version = 1
            while version < SCHEMA_VERSION:
                for statement in schema.MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
