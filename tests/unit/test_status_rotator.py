"""Who rotates a bound repository's token, as `pac-tui status` (table and --json) and the
dashboard's token panel show it: from the store record the last sync kept."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from pac_tui.actions.status import repo_status
from pac_tui.cli import main
from pac_tui.core.config import parse_config
from pac_tui.core.models import ClusterSync, TokenRecord, TokenSet
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.widgets.token_panel import PanelState, render_panel

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG_TEXT = (
    '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
    '[[repositories]]\nname = "demo"\nproject = "g/p"\n'
    '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "project-token"\n'
)


def record(rotator: str | None) -> TokenRecord:
    tokens = TokenSet("a" * 40, "r" * 40, "Bearer", ("api",), NOW + timedelta(hours=2), NOW)
    return TokenRecord("https://gitlab.example.com", "app", tokens=tokens).with_(
        cluster=ClusterSync(NOW, None, None, rotator)
    )


def test_the_store_keeps_who_rotates(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    with store.transaction() as txn:
        txn.put("demo", record("pac"))
    kept = store.get("demo")
    assert kept is not None and kept.cluster is not None and kept.cluster.rotator == "pac"


def test_status_says_who_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_TEXT)
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    store = TokenStore(tmp_path / "data")
    with store.transaction() as txn:
        txn.put("demo", record("pac"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "status"]) == 0
    assert out.getvalue().splitlines()[1].endswith("ci/demo (project-token) synced, rotated by PAC")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "status", "--json"]) == 0
    [row] = json.loads(out.getvalue())
    assert row["cluster"]["rotator"] == "pac"
    assert "a" * 40 not in out.getvalue()


@pytest.mark.parametrize(("rotator", "shown"), [("pac", True), ("pac-tui", False), (None, False)])
def test_the_token_panel_has_a_line_only_when_pac_rotates(rotator: str | None, shown: bool) -> None:
    repo = parse_config(CONFIG_TEXT, None).repository("demo")
    status = repo_status(repo, record(rotator), NOW)
    state = PanelState(status, record(rotator), True, None, False)
    console = Console(width=120, record=True)
    console.print(render_panel(state, NOW, UTC))
    text = console.export_text()
    assert ("Rotated by" in text) is shown
    assert ("PAC itself; pac-tui adopts what PAC writes" in text) is shown
