"""The journal's file: never through a symbolic link, and its byte budget from the config."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import parse_config
from pac_tui.core.errors import ConfigError, StoreError
from pac_tui.webhooks.journal import Journal, JournalReader
from pac_tui.webhooks.service import WebhookService
from tests.webhooks.conftest import CONFIG, SECRET, push_payload

CONTENT = b"someone else's file, not a journal\n"


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """events.sqlite3 as a symbolic link to another file (mode 0644)."""
    target = tmp_path / "elsewhere" / "precious.txt"
    target.parent.mkdir()
    target.write_bytes(CONTENT)
    target.chmod(0o644)
    link = tmp_path / "data" / "events.sqlite3"
    link.parent.mkdir(mode=0o700)
    link.symlink_to(target)
    return link, target


async def test_a_symlinked_journal_is_refused_and_its_target_untouched(
    linked: tuple[Path, Path],
) -> None:
    link, target = linked
    with pytest.raises(StoreError) as caught:
        await Journal(link).start()
    message = str(caught.value)
    assert str(link) in message and "symbolic link" in message
    assert "put the journal file itself at that path, or remove the link" in message
    assert stat.S_IMODE(target.stat().st_mode) == 0o644, "the target's mode is untouched"
    assert target.read_bytes() == CONTENT
    assert sorted(p.name for p in target.parent.iterdir()) == ["precious.txt"], "no -wal, -shm"


async def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    link = tmp_path / "events.sqlite3"
    target = tmp_path / "not-yet.sqlite3"
    link.symlink_to(target)
    with pytest.raises(StoreError, match="symbolic link"):
        await Journal(link).start()
    assert not target.exists(), "no journal created through the link"


def test_a_reader_does_not_follow_a_symlink_either(linked: tuple[Path, Path]) -> None:
    link, target = linked
    with pytest.raises(StoreError, match="symbolic link"):
        JournalReader(link).recent(1)
    assert target.read_bytes() == CONTENT


def config_with(extra: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_config(CONFIG + f"\n[webhook]\n{extra}\n", tmp_path / "config.toml")


@pytest.mark.parametrize("value", ['"1 GiB"', "0", "1000", "true", "-1", "1.5e9"])
def test_a_bad_journal_budget_is_a_clear_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(f"journal_max_bytes = {value}", tmp_path)
    assert caught.value.key == "webhook.journal_max_bytes"
    assert "whole number of bytes ≥ 1048576 (1 MiB)" in str(caught.value)


def test_the_journal_budget_defaults_to_1_gib(tmp_path: Path) -> None:
    assert parse_config(CONFIG, tmp_path / "c.toml").webhook.journal_max_bytes == 1 << 30


async def test_the_configured_budget_is_the_one_the_receiver_keeps(tmp_path: Path) -> None:
    config = config_with("journal_max_bytes = 1048576", tmp_path)
    service = WebhookService(config, tmp_path / "data", SystemClock())
    await service.start("127.0.0.1", 0)
    ids = []
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(20):  # 20 x ~135 KB that zlib cannot shrink: ~2.7 MB
                padding = base64.b64encode(os.urandom(100_000)).decode()
                body = json.dumps({**push_payload(), "padding": padding}).encode()
                answer = await http.post(
                    f"{service.url}hooks/x", content=body, headers={"X-Gitlab-Token": SECRET}
                )
                assert answer.status_code == 200
                ids.append(answer.json()["id"])
        reader = JournalReader(service.journal.path)
        kept = [d.id for d in reader.recent(100)]
        assert ids[-1] in kept and ids[0] not in kept, "the oldest went first"
        assert 3 <= len(kept) <= 11, "about 1 MiB of rows (~100 KB each once compressed)"
    finally:
        await service.stop()
