"""`pac-tui offboard --forget` removes one repository from the config and keeps everything else."""

from __future__ import annotations

import stat
from pathlib import Path

from pac_tui.core.config import load_config
from pac_tui.core.config.write import remove_repository

CONFIG = """\
# my pac-tui config; keep this comment
[gitlab.default]   # the company instance
url = "https://gitlab.example.com"
client_id = "app-id"

# the first repository
[[repositories]]
name = "payments"
project = "acme/payments"   # the API

[[repositories]]
name = "demo"
project = "acme/demo"
webhook_secret = "whsec-value"
[repositories.kubernetes]
namespace = "ci"
repository = "demo"
"""


def test_forget_removes_the_entry_with_its_binding_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)

    assert remove_repository(path, "demo") is True

    text = path.read_text()
    assert "demo" not in text and "whsec-value" not in text and "kubernetes" not in text
    assert "# my pac-tui config; keep this comment" in text
    assert 'project = "acme/payments"   # the API' in text
    assert [r.name for r in load_config(str(path)).repositories] == ["payments"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_forgetting_twice_or_the_last_one(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    remove_repository(path, "demo")
    before = path.read_text()

    assert remove_repository(path, "demo") is False
    assert path.read_text() == before

    assert remove_repository(path, "payments") is True
    assert load_config(str(path)).repositories == ()
    assert "[gitlab.default]" in path.read_text()
