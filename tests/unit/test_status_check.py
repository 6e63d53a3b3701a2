"""`pac-tui status --check` exits 1 when a repository needs attention, as `gh auth status` does:
the real CLI over a real token store logged in to the fake GitLab (real OAuth provider behind)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.providers.gitlab_api import FakeGitLab, login
from tests.unit.cli_run import config_text, pac_tui


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project("group/sub/project")
    return gitlab


async def check(monkeypatch: pytest.MonkeyPatch, config: Path, data: Path) -> tuple[int, int]:
    """The exit status of `status --check`, and of `status --check --json` (whose document must
    be the one `status --json` prints)."""
    status, out, err = await pac_tui(monkeypatch, config, data, "status", "--check")
    assert out.startswith("NAME"), err
    plain, document, _ = await pac_tui(monkeypatch, config, data, "status", "--json")
    assert plain == 0
    with_json, checked, _ = await pac_tui(monkeypatch, config, data, "status", "--check", "--json")
    assert timeless(checked) == timeless(document)
    return status, with_json


def timeless(document: str) -> list[dict[str, object]]:
    """A `status --json` document without the countdowns: two runs a second apart may straddle a
    second boundary, so `expires_in` can differ by one between them."""
    rows = json.loads(document)
    assert rows
    return [{k: v for k, v in row.items() if not k.startswith("expires_in")} for row in rows]


async def test_check_says_whether_any_repository_needs_attention(
    fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    s = await login(fake, data)
    config = tmp_path / "config.toml"

    config.write_text(config_text(s))
    assert await check(monkeypatch, config, data) == (0, 0)  # logged in, fresh

    config.write_text(config_text(s, "other"))  # a repository nobody logged in to
    assert await check(monkeypatch, config, data) == (1, 1)

    config.write_text(config_text(s, bound=True))  # bound, its Secret never written
    assert await check(monkeypatch, config, data) == (1, 1)

    config.write_text(config_text(s))
    fake.outage = 502  # GitLab down: the refresh fails, the access token still works
    status, _, err = await pac_tui(monkeypatch, config, data, "refresh", "demo")
    assert status == 1 and "502" in err
    fake.outage = None
    _, out, _ = await pac_tui(monkeypatch, config, data, "status", "--json")
    (row,) = json.loads(out)
    assert row["state"] == "authorized" and "the last refresh failed" in row["message"]
    assert await check(monkeypatch, config, data) == (1, 1)

    status, _, err = await pac_tui(monkeypatch, config, data, "refresh", "demo")  # GitLab is back
    assert status == 0, err
    assert await check(monkeypatch, config, data) == (0, 0)


async def test_check_of_an_expired_or_dropped_grant(
    fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    s = await login(fake, data)
    config = tmp_path / "config.toml"
    config.write_text(config_text(s))
    record = s.store.get("demo")
    assert record is not None and record.tokens is not None
    with s.store.transaction() as txn:  # two hours later, as the store would show it
        txn.put(
            "demo", record.with_(tokens=replace(record.tokens, expires_at=record.tokens.issued_at))
        )
    _, out, _ = await pac_tui(monkeypatch, config, data, "status", "--json")
    assert json.loads(out)[0]["state"] == "expired"
    assert await check(monkeypatch, config, data) == (1, 1)

    status, _, _ = await pac_tui(monkeypatch, config, data, "revoke", "demo")
    assert status == 0
    assert await check(monkeypatch, config, data) == (1, 1)  # needs login
