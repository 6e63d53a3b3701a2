"""The dashboard's watch on the token store file: another process's write is seen on the next
tick, even one within the same tick of the file system's clock as the version last read."""

from __future__ import annotations

import os
from pathlib import Path

from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.feeds.tokens import StoreWatch
from tests.ui.conftest import token_record

URL = "https://gitlab.example.com"


def test_a_write_in_the_same_clock_tick_is_still_seen(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    with store.transaction() as txn:
        txn.put("a", token_record(URL, 7200, 6000))
    watch = StoreWatch(store)
    watch.load()
    assert set(watch.records) == {"a"}
    read = store.path.stat()

    with store.transaction() as txn:  # another pac-tui process, a few microseconds later
        txn.put("b", token_record(URL, 7200, 300))
    # File times come from a coarse clock (a jiffy, milliseconds): both writes can carry the
    # same mtime. Make it so, as a fast machine does.
    os.utime(store.path, ns=(read.st_atime_ns, read.st_mtime_ns))
    assert store.path.stat().st_mtime_ns == read.st_mtime_ns

    watch.load()
    assert set(watch.records) == {"a", "b"}


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    with store.transaction() as txn:
        txn.put("a", token_record(URL, 7200, 6000))
    watch = StoreWatch(store)
    watch.load()
    first = watch.records
    watch.load()
    assert watch.records is first  # the 1 Hz tick costs a stat, not a parse
    watch.load(force=True)
    assert watch.records is not first and watch.records == first
