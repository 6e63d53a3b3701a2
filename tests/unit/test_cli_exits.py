"""A closed pipe and Ctrl+C end `pac-tui` quietly: exit 141 / 130, one line at most."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pac_tui.webhooks.journal.batch import BatchWriter

ROOT = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    config = tmp_path / "config.toml"
    if not config.exists():
        text = '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n'
        for i in range(3000):  # a table far larger than a pipe's 64 KiB buffer
            text += f'\n[[repositories]]\nname = "repo-{i}"\nproject = "group/project-{i}"\n'
        config.write_text(text)
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    return [sys.executable, "-m", "pac_tui", "--config", str(config), *args], env


def test_status_into_a_pipe_closed_after_one_line_exits_141_quietly(tmp_path: Path) -> None:
    argv, env = cli(tmp_path, "status")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"NAME")  # what `head -n 1` reads, then it exits
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 141, err
    assert "Traceback" not in err and len(err.splitlines()) <= 1, err


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path / "data" / "events.sqlite3")
    writer.open()
    writer.close()
    argv, env = cli(tmp_path, "events", "--follow")
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _wait_until_open(proc, writer.path)  # following the journal (a fixed sleep can end mid-import)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.splitlines()) <= 1, err


def _wait_until_open(proc: subprocess.Popen[str], path: Path, within: float = 60) -> None:
    """Wait until `proc` holds `path` open (Linux /proc), so its command is running.

    A Ctrl+C that lands while Python is still importing is Python's, not pac-tui's.
    """
    target = str(path.resolve())
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        fds = Path(f"/proc/{proc.pid}/fd")
        try:
            if any(os.path.realpath(fd) == target for fd in fds.iterdir()):
                return
        except FileNotFoundError:  # an fd closed while listing
            pass
        time.sleep(0.05)
    raise AssertionError(f"pac-tui did not open {path} within {within} s")
