"""Real parts for the login tests: two independent OAuth providers, headless Chromium as $BROWSER,
and pac-tui itself run as a subprocess exactly as a user runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.providers.base import OAuthApp, Provider

DRIVER = Path(__file__).parents[1] / "providers" / "browser_driver.py"


@dataclass
class Harness:
    """A config, a data dir and a browser for one test; runs `pac-tui` and remembers everything
    it printed, so the test can prove no token value ever reached an output."""

    provider: Provider
    app: OAuthApp
    root: Path
    outputs: list[str] = field(default_factory=list)
    seen_tokens: set[str] = field(default_factory=set)

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "tokens.json"

    @property
    def browser_out(self) -> Path:
        return self.root / "browser.json"

    def write_config(self, *, url: str | None = None, redirect_uri: str | None = None) -> None:
        lines = [
            "[gitlab.default]",
            f'url = "{url or self.provider.url}"',
            f'client_id = "{self.app.client_id}"',
        ]
        if self.app.client_secret:
            lines.append(f'client_secret = "{self.app.client_secret}"')
        if redirect_uri:
            lines.append(f'redirect_uri = "{redirect_uri}"')
        lines += ["", "[[repositories]]", 'name = "demo"', 'project = "group/sub/project"']
        self.config_path.write_text("\n".join(lines) + "\n")

    def env(self, consent: str = "Authorize") -> dict[str, str]:
        wrapper = self.root / "browser"
        if not wrapper.exists():
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DRIVER}" "$@"\n')
            wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAC_TUI_", "GITLAB_"))}
        env.update(
            PAC_TUI_DATA_DIR=str(self.data_dir),
            BROWSER=str(wrapper),
            PAC_TUI_TEST_USERNAME=self.provider.username,
            PAC_TUI_TEST_PASSWORD=self.provider.password,
            PAC_TUI_TEST_CONSENT=consent,
            PAC_TUI_TEST_BROWSER_OUT=str(self.browser_out),
            PYTHONWARNINGS="default",
        )
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pac_tui", "--config", str(self.config_path), *args]

    def run(
        self, *args: str, consent: str = "Authorize", timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            env=self.env(consent),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.outputs += [done.stdout, done.stderr]
        self.remember_tokens()
        return done

    def popen(self, *args: str, consent: str = "Authorize") -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env(consent),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def login(self) -> dict[str, Any]:
        done = self.run("login", "demo")
        assert done.returncode == 0, done.stderr
        return self.tokens()

    def status(self) -> dict[str, Any]:
        done = self.run("status", "--json")
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        return row

    def tokens(self) -> dict[str, Any]:
        self.remember_tokens()
        data = json.loads(self.store_path.read_text())
        return data["repositories"]["demo"]["tokens"]

    def browser_page(self) -> dict[str, Any]:
        page = json.loads(self.browser_out.read_text())
        self.outputs.append(json.dumps(page))
        return page

    def remember_tokens(self) -> None:
        if not self.store_path.exists():
            return
        for entry in json.loads(self.store_path.read_text())["repositories"].values():
            tokens = entry.get("tokens") or {}
            self.seen_tokens.update(
                v for k, v in tokens.items() if k in ("access_token", "refresh_token") and v
            )

    def leaked_tokens(self) -> list[str]:
        """Token values found anywhere but the store: outputs, browser pages, other files."""
        haystacks = list(self.outputs)
        for path in self.root.rglob("*"):
            if path.is_file() and path != self.store_path:
                haystacks.append(path.read_text(errors="replace"))
        return [t[:4] + "…" for t in self.seen_tokens if any(t in h for h in haystacks)]


@pytest.fixture(params=["confidential", "public"])
def harness(
    request: pytest.FixtureRequest, provider: Provider, tmp_path: Path
) -> Iterator[Harness]:
    app = provider.confidential if request.param == "confidential" else provider.public
    h = Harness(provider=provider, app=app, root=tmp_path)
    h.write_config()
    yield h
    assert h.leaked_tokens() == [], "a token value reached an output or a file besides the store"
