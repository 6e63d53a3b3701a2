"""Files holding secrets left open to other users: one warning per file, with the command that
fixes it, on stderr for the CLI and as a notification in the dashboard. Real files, real modes."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pac_tui.cli import main
from pac_tui.core.clock import ManualClock
from pac_tui.core.config import load_config
from pac_tui.core.config.permissions import permission_warnings
from pac_tui.stores.file_store import TokenStore
from pac_tui.ui.app import PacTuiApp
from pac_tui.ui.context import AppContext

APP = '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
SECRET = 'client_secret = "s3cr3t-value"\n'
REPO = '[[repositories]]\nname = "demo"\nproject = "g/p"\n'


def config_file(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "my config.toml"  # a space: the fix must quote the path
    path.write_text(text)
    path.chmod(mode)
    return path


def fix_of(warning: str) -> str:
    return warning.split("; fix: ", 1)[1]


def run_fix(warning: str) -> None:
    """Run the command a warning gives (without sudo: the test owns its files)."""
    for command in fix_of(warning).split(" && "):
        subprocess.run(shlex.split(command.removeprefix("sudo ")), check=True)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    store = TokenStore(tmp_path / "data")
    with store.transaction() as txn:
        txn.commit()  # tokens.json, 0600 in a 0700 dir, as pac-tui makes them
    return store.data_dir


def test_a_config_holding_a_secret_must_not_be_readable_by_others(
    tmp_path: Path, data: Path
) -> None:
    path = config_file(tmp_path, APP + SECRET + REPO, 0o644)
    (warning,) = permission_warnings(load_config(path), data)
    assert warning.startswith(f"{path} holds client_secret and is readable by group and others")
    assert "(mode 0644)" in warning and fix_of(warning) == f"chmod 600 '{path}'"
    assert "s3cr3t-value" not in warning
    run_fix(warning)
    assert permission_warnings(load_config(path), data) == []

    path.chmod(0o640)
    (warning,) = permission_warnings(load_config(path), data)
    assert "readable by group (mode 0640)" in warning

    webhook = APP + REPO + 'webhook_secret = "hook-secret"\n'
    path = config_file(tmp_path, webhook, 0o604)
    (warning,) = permission_warnings(load_config(path), data)
    assert "holds webhook_secret and is readable by others" in warning

    signing = APP + REPO + f'webhook_signing_token = "whsec_{"A" * 44}"\n'
    path = config_file(tmp_path, signing, 0o644)
    (warning,) = permission_warnings(load_config(path), data)
    assert "holds webhook_signing_token and is readable by group and others" in warning

    path = config_file(tmp_path, APP + REPO, 0o644)  # no secret in it: nothing to hide
    assert permission_warnings(load_config(path), data) == []


def test_the_data_dir_and_its_files_must_be_private_and_the_users(
    tmp_path: Path, data: Path
) -> None:
    config = load_config(config_file(tmp_path, APP + REPO, 0o644))
    assert permission_warnings(config, data) == []

    data.chmod(0o777)
    (data / "tokens.json").chmod(0o664)
    journal = data / "events.sqlite3"
    journal.write_bytes(b"")
    journal.chmod(0o604)
    dir_warning, journal_warning, tokens_warning = permission_warnings(config, data)
    assert dir_warning.startswith(f"the data dir {data} is writable by group and others")
    assert fix_of(dir_warning) == f"chmod 700 {data}"
    assert journal_warning.startswith(f"{journal} is readable by others (mode 0604)")
    assert tokens_warning.startswith(f"{data / 'tokens.json'} is readable by group and others")
    assert "and writable by group (mode 0664)" in tokens_warning
    assert fix_of(tokens_warning) == f"chmod 600 {data / 'tokens.json'}"
    for warning in (dir_warning, journal_warning, tokens_warning):
        run_fix(warning)
    assert permission_warnings(config, data) == []

    someone_else = os.getuid() + 4242  # as if the files belonged to another user
    warnings = permission_warnings(config, data, uid=someone_else)
    named = [w.split(" belongs", 1)[0] for w in warnings]  # the dir, then each file in it
    assert named == [f"the data dir {data}"] + [
        str(data / name) for name in ("events.sqlite3", "tokens.json", "tokens.json.lock")
    ]
    assert all(f"belongs to another user (uid {os.getuid()})" in w for w in warnings)
    assert fix_of(warnings[0]) == f"sudo chown {someone_else} {data}"

    assert permission_warnings(config, tmp_path / "not-yet") == []  # pac-tui makes it 0700


def test_nothing_is_checked_on_windows(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_file(tmp_path, APP + SECRET + REPO, 0o666)
    data.chmod(0o777)
    monkeypatch.setattr(sys, "platform", "win32")
    assert permission_warnings(load_config(path), data) == []


def test_the_cli_warns_on_stderr_once_per_file(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_file(tmp_path, APP + SECRET + REPO, 0o644)
    data.chmod(0o777)
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(data))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["--config", str(path), "status", "--json"]) == 0
    assert out.getvalue().startswith("[")  # the document stays clean
    lines = err.getvalue().splitlines()
    assert lines == [
        f"pac-tui: warning: {path} holds client_secret and is readable by group and others "
        f"(mode 0644); fix: chmod 600 '{path}'",
        f"pac-tui: warning: the data dir {data} is writable by group and others (mode 0777); "
        f"fix: chmod 700 {data}",
    ]

    path.chmod(0o600)
    data.chmod(0o700)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["--config", str(path), "status"]) == 0
    assert err.getvalue() == ""


async def test_the_dashboard_shows_each_warning_once_at_start(tmp_path: Path, data: Path) -> None:
    path = config_file(tmp_path, APP + SECRET + REPO, 0o644)
    config = load_config(path)
    warnings = tuple(permission_warnings(config, data))
    ctx = AppContext(
        config=config,
        config_path=path,
        store=TokenStore(data),
        clock=ManualClock(datetime(2026, 12, 1, tzinfo=UTC)),
        receive_webhooks=False,
        discover_cluster=False,
        warnings=warnings,
    )
    app = PacTuiApp(ctx, tick_interval=None)
    app.animation_level = "none"
    async with app.run_test() as pilot:
        await pilot.pause()
        shown = [n for n in app._notifications if n.title == "Warning"]
        assert [n.message for n in shown] == list(warnings) and len(shown) == 1
        assert shown[0].severity == "warning"
