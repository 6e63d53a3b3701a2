"""The auto-refresh plan keeps due instants in a heap: nothing due costs nothing, each grant comes
out once when due, and a failure puts it back after its backoff."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pac_tui.core.config import load_config
from pac_tui.oauth.schedule import AutoRefreshPlan
from tests.ui.conftest import NOW, token_record

URL = "https://gitlab.example.com"


def test_due_grants_come_out_of_the_heap_once_and_failures_come_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    lines = [f'[gitlab.default]\nurl = "{URL}"\nclient_id = "app-id"\n']
    lines += [f'[[repositories]]\nname = "r{i}"\nproject = "g/r{i}"\n' for i in range(4)]
    path.write_text("\n".join(lines))
    config = load_config(path, env={})
    # 2 h grants are due 20 min (a sixth) before expiry; r3 is not logged in.
    records = {
        "r0": token_record(URL, 7200, 600),  # due 10 min ago
        "r1": token_record(URL, 7200, 1500),  # due in 5 min
        "r2": token_record(URL, 7200, 7000),  # due in 1h 37m
    }
    plan = AutoRefreshPlan()
    plan.schedule(config.repositories, records)
    assert plan.due(NOW) == ["r0"]
    assert plan.due(NOW) == []  # once: it is being refreshed
    plan.started("r0")
    assert plan.failed("r0", NOW) == NOW + timedelta(seconds=30)
    assert plan.due(NOW + timedelta(seconds=29)) == []
    assert plan.due(NOW + timedelta(seconds=30)) == ["r0"]
    assert plan.due(NOW + timedelta(minutes=5)) == ["r1"]
    # A rebuild (the store was re-read) keeps the backoff of a grant that failed.
    plan.failed("r0", NOW + timedelta(minutes=5))  # second failure: 1 min
    plan.schedule(config.repositories, records)
    assert plan.due(NOW + timedelta(minutes=5, seconds=59)) == ["r1"]
    assert plan.due(NOW + timedelta(minutes=6)) == ["r0"]
    plan.succeeded("r0")
    assert plan.due(NOW + timedelta(hours=2)) == ["r2"]


def test_jitter_spreads_grants_due_together_and_never_later(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    lines = [f'[gitlab.default]\nurl = "{URL}"\nclient_id = "app-id"\n']
    lines += [f'[[repositories]]\nname = "r{i}"\nproject = "g/r{i}"\n' for i in range(50)]
    path.write_text("\n".join(lines))
    config = load_config(path, env={})
    records = {f"r{i}": token_record(URL, 7200, 1500) for i in range(50)}  # all due in 5 min
    plan = AutoRefreshPlan(jitter=120)
    plan.schedule(config.repositories, records)
    due = NOW + timedelta(minutes=5)
    assert plan.due(due - timedelta(seconds=121)) == []
    first_minute = plan.due(due - timedelta(seconds=60))
    assert 5 < len(first_minute) < 45  # spread, not all at once
    assert len(first_minute) + len(plan.due(due)) == 50  # and every one by its due time
