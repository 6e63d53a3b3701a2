"""The local token store: one JSON file in the data dir, mode 0600.

Every write goes to a temporary file that is fsynced and then renamed over the store, so a reader
(or a crash at any instant) sees either the old file or the new one, never a torn one. Changes
happen under a cross-process lock (`filelock`, an flock on Linux) that also excludes other
transactions of the same process; readers need no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pac_tui.core.errors import StoreError
from pac_tui.core.models import TokenRecord

STORE_NAME = "tokens.json"
FORMAT_VERSION = 1
DEFAULT_LOCK_TIMEOUT = 60.0


class Transaction:
    """The store's content while the lock is held; `commit()` writes it atomically."""

    def __init__(self, store: TokenStore, records: dict[str, TokenRecord]) -> None:
        self._store = store
        self.records = records

    def get(self, name: str) -> TokenRecord | None:
        return self.records.get(name)

    def put(self, name: str, record: TokenRecord) -> None:
        self.records[name] = record
        self.commit()

    def commit(self) -> None:
        self._store._write(self.records)


class TokenStore:
    def __init__(self, data_dir: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.data_dir = data_dir
        self.path = data_dir / STORE_NAME
        self.lock_path = data_dir / f"{STORE_NAME}.lock"
        self.lock_timeout = lock_timeout
        # The last file read and what it decoded to: decoding is what costs (12 ms for 1,000
        # repositories, on the dashboard's loop for each API call it makes), reading does not.
        # Keyed by the bytes themselves, so no clock or inode reuse can serve stale tokens.
        self._decoded: tuple[bytes, dict[str, TokenRecord]] | None = None

    def read_all(self) -> dict[str, TokenRecord]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read the token store {self.path}: {exc.strerror}") from None
        decoded = self._decoded
        if decoded is None or decoded[0] != raw:
            decoded = raw, self._decode(raw)
            self._decoded = decoded
        return dict(decoded[1])  # the records are frozen; the dict is the caller's

    def get(self, name: str) -> TokenRecord | None:
        return self.read_all().get(name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the store lock (blocking) and yield its current content."""
        lock = self._lock()
        try:
            lock.acquire(timeout=self.lock_timeout)
        except Timeout:
            raise self._lock_timeout() from None
        try:
            yield Transaction(self, self.read_all())
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def atransaction(self) -> AsyncIterator[Transaction]:
        """Like `transaction`, without blocking the event loop while another process holds the lock.

        Polls a non-blocking acquire, so a cancelled waiter never leaves a lock behind.
        """
        lock = self._lock()
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                lock.acquire(blocking=False)
                break
            except Timeout:
                if time.monotonic() >= deadline:
                    raise self._lock_timeout() from None
                await asyncio.sleep(0.02)
        try:
            yield Transaction(self, self.read_all())
        finally:
            lock.release()

    def _lock(self) -> FileLock:
        self._ensure_dir()
        # A fresh, non-thread-local lock object per transaction: flock then excludes other
        # transactions of this process too, and async code may release it from another thread.
        return FileLock(self.lock_path, thread_local=False, is_singleton=False, mode=0o600)

    def _lock_timeout(self) -> StoreError:
        return StoreError(
            f"another pac-tui process has held the token store lock {self.lock_path} for over "
            f"{self.lock_timeout:.0f} s; if none is running, delete that file"
        )

    def _ensure_dir(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data dir {self.data_dir}: {exc.strerror}"
            ) from None

    def _decode(self, raw: bytes) -> dict[str, TokenRecord]:
        try:
            data = json.loads(raw)
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"unsupported format version {data.get('version')!r}")
            return {
                name: TokenRecord.from_json(entry) for name, entry in data["repositories"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # The message names the problem but never quotes the file, which holds tokens.
            raise StoreError(
                f"the token store {self.path} is damaged ({type(exc).__name__}); it was left "
                "untouched: move it away and log in again"
            ) from None

    def _write(self, records: dict[str, TokenRecord]) -> None:
        """Write atomically: temp file (0600) in the same dir, fsync, rename, fsync the dir."""
        payload: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "repositories": {name: rec.to_json() for name, rec in sorted(records.items())},
        }
        data = json.dumps(payload, indent=2).encode() + b"\n"
        self._remove_stale_temp_files()
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=f".{STORE_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(
                f"cannot write the token store {self.path}: {exc.strerror}; the previous "
                "content is intact"
            ) from None
        dir_fd = os.open(self.data_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _remove_stale_temp_files(self) -> None:
        """Temp files left by a process killed mid-write; safe to drop, we hold the lock."""
        for leftover in self.data_dir.glob(f".{STORE_NAME}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
