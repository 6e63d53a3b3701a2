"""Run the real `pac-tui` in a test: its argv, a config file, a data dir, and what it printed."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from pac_tui import cli
from tests.providers.gitlab_api import Session


def config_text(s: Session, *extra_repos: str, bound: bool = False) -> str:
    """A config for the logged-in session's repository `demo` (bound to ci/demo in oauth mode
    when `bound`), and more unbound repositories of the same app by name."""
    app = s.repo.gitlab
    text = (
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "{s.repo.name}"\nproject = "{s.repo.project}"\n'
    )
    if bound:
        text += '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
    for name in extra_repos:
        text += f'\n[[repositories]]\nname = "{name}"\nproject = "group/{name}"\n'
    return text


async def pac_tui(
    monkeypatch: pytest.MonkeyPatch, config: Path, data: Path, *argv: str
) -> tuple[int, str, str]:
    """`pac-tui --config CONFIG ARGV...` in a thread (it runs its own event loop)."""
    config.chmod(0o600)  # it holds the client secret
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(data))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    status = await asyncio.to_thread(cli.main, ["--config", str(config), *argv])
    return status, out.getvalue(), err.getvalue()
