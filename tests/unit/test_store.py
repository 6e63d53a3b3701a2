import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pac_tui.core.errors import StoreError
from pac_tui.core.models import TokenRecord, TokenSet
from pac_tui.stores.file_store import TokenStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def record(access: str = "access-1", refresh: str = "refresh-1") -> TokenRecord:
    tokens = TokenSet(access, refresh, "Bearer", ("api",), NOW + timedelta(hours=2), NOW)
    return TokenRecord("https://gitlab.example.com", "app", tokens=tokens, obtained_at=NOW)


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "data")
    with store.transaction() as txn:
        txn.put("demo", record())
    assert store.get("demo") == record()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    assert not list(store.data_dir.glob("*.tmp"))


def test_reprs_mask_tokens() -> None:
    text = repr(record("glpat-like-access-value", "refresh-value-secret"))
    assert "glpat-like-access-value" not in text
    assert "refresh-value-secret" not in text


def test_damaged_store_is_reported_and_left_untouched(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.path.write_text('{"version": 1, "repositories": {"demo": {"access_token": "sekrit"')
    before = store.path.read_bytes()
    with pytest.raises(StoreError) as caught:
        store.read_all()
    assert "damaged" in str(caught.value)
    assert "sekrit" not in str(caught.value)
    with pytest.raises(StoreError), store.transaction() as txn:
        txn.put("demo", record())
    assert store.path.read_bytes() == before


def test_lock_excludes_a_second_transaction_in_the_same_process(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, lock_timeout=0.2)
    other = TokenStore(tmp_path, lock_timeout=0.2)
    with (
        store.transaction(),
        pytest.raises(StoreError, match="held the token store lock"),
        other.transaction(),
    ):
        pass


async def test_async_transaction_waits_for_the_lock(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, lock_timeout=0.3)
    with store.transaction(), pytest.raises(StoreError, match="lock"):
        async with store.atransaction():
            pass
    async with store.atransaction() as txn:
        txn.put("demo", record())
    assert store.get("demo") == record()


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from pac_tui.core.models import TokenRecord, TokenSet
    from pac_tui.stores.file_store import TokenStore

    store = TokenStore(Path(sys.argv[1]))
    now = datetime.now(UTC)
    i = 0
    print("ready", flush=True)
    while True:
        i += 1
        tokens = TokenSet(f"access-{i}", f"refresh-{i}", "Bearer", ("api",), now, now)
        with store.transaction() as txn:
            for n in range(20):
                txn.records[f"repo-{n}"] = TokenRecord("https://g", "c", tokens=tokens)
            txn.commit()
    """
)


def test_kill_9_during_repeated_writes_never_leaves_a_corrupt_or_empty_store(
    tmp_path: Path,
) -> None:
    store = TokenStore(tmp_path)
    with store.transaction() as txn:
        txn.put("repo-0", record())
    for round_ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.037 * round_)
        os.kill(proc.pid, 9)
        proc.wait()
        records = store.read_all()  # raises if torn
        assert records, "the store must never be empty"
        data = json.loads(store.path.read_text())
        assert data["version"] == 1
    # The next write cleans up any temp file a killed writer left behind.
    with store.transaction() as txn:
        txn.put("repo-0", record())
    assert not list(tmp_path.glob("*.tmp"))


def test_a_store_read_again_unchanged_is_not_decoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding 1,000 records costs 12 ms (on the dashboard's loop, per API call); the bytes are
    compared instead. Another process's write of the same size is still seen at once, and a
    caller's dict is its own."""
    store, other = TokenStore(tmp_path / "data"), TokenStore(tmp_path / "data")
    with store.transaction() as txn:
        txn.put("demo", record("access-1", "refresh-1"))
    decoded = 0
    decode = TokenRecord.from_json

    def counting(entry: object) -> TokenRecord:
        nonlocal decoded
        decoded += 1
        return decode(entry)  # type: ignore[arg-type]

    monkeypatch.setattr(TokenRecord, "from_json", staticmethod(counting))
    assert store.get("demo") == record("access-1", "refresh-1")
    assert store.get("demo") == record("access-1", "refresh-1")
    assert decoded == 1
    size = store.path.stat().st_size
    with other.transaction() as txn:  # same lengths: same size, within the same clock tick
        txn.put("demo", record("access-2", "refresh-2"))
    assert store.path.stat().st_size == size
    assert store.get("demo") == record("access-2", "refresh-2")
    mine = store.read_all()
    mine.clear()
    assert store.get("demo") == record("access-2", "refresh-2")
