"""`--json` on `login`, `refresh` and `revoke`: one JSON document on stdout per run, progress on
stderr, errors in the objects, never a token. The real CLI, a real token store, the fake GitLab
with the real OAuth provider behind it (its pages answered by a scripted browser)."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path

import pytest

from pac_tui.cli.tokens import LOGIN_KEYS, REFRESH_KEYS, REVOKE_KEYS
from tests.providers.gitlab_api import FakeGitLab, Session, _authorize, login
from tests.unit.cli_run import config_text, pac_tui


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project("group/sub/project")
    return gitlab


class Run:
    """Runs `pac-tui` on one config and data dir, keeping every token it ever held and every
    byte it printed, to prove at the end that no token reached an output."""

    def __init__(self, s: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.s, self.monkeypatch = s, monkeypatch
        self.config, self.data = tmp_path / "config.toml", s.store.path.parent
        self.printed = ""
        self.tokens: set[str] = set()
        self.keep_tokens()

    def keep_tokens(self) -> None:
        for record in self.s.store.read_all().values():
            if record.tokens:
                self.tokens |= {record.tokens.access_token, record.tokens.refresh_token or ""}
        self.tokens.discard("")

    async def __call__(self, *argv: str) -> tuple[int, list[dict[str, object]], str]:
        status, out, err = await pac_tui(self.monkeypatch, self.config, self.data, *argv)
        self.printed += out + err
        self.keep_tokens()
        return status, json.loads(out), err

    def assert_no_token_printed(self) -> None:
        assert self.tokens
        for token in self.tokens:
            assert token not in self.printed


async def test_login_refresh_revoke_print_one_document_each(
    fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await login(fake, tmp_path / "data")
    run = Run(s, tmp_path, monkeypatch)
    run.config.write_text(config_text(s, "other"))
    provider = fake.provider
    monkeypatch.setattr(
        webbrowser, "open", lambda url: _authorize(url, provider.username, provider.password)
    )

    status, doc, err = await run("login", "demo", "--timeout", "60", "--json")
    assert status == 0, err
    (obj,) = doc
    assert list(obj) == list(LOGIN_KEYS)
    assert obj["name"] == "demo" and obj["project"] == "group/sub/project"
    assert obj["gitlab"] == fake.url and obj["scopes"] == ["api"] and obj["username"]
    assert str(obj["expires_at"]).endswith("Z") and obj["error"] is None
    assert obj["sync"] is None and obj["sync_error"] is None  # not bound
    assert "/oauth/authorize?" in err  # the URL to open went to stderr

    status, doc, err = await run("refresh", "demo", "--json")
    assert status == 0, err
    (obj,) = doc
    assert list(obj) == list(REFRESH_KEYS)
    assert obj["action"] == "refreshed" and obj["error"] is None
    assert str(obj["message"]).startswith("refreshed; expires in")

    status, doc, err = await run("refresh", "--all", "--json", "--if-expiring-within", "60")
    assert status == 0, err
    assert [(o["name"], o["action"]) for o in doc] == [("demo", "skipped"), ("other", "skipped")]
    assert "not logged in" in str(doc[1]["message"]) and doc[1]["expires_at"] is None

    status, doc, err = await run("revoke", "demo", "--json")
    assert status == 0, err
    assert doc == [{"name": "demo", "revoked": True, "warning": None, "error": None}]
    assert list(doc[0]) == list(REVOKE_KEYS)
    status, doc, err = await run("revoke", "demo", "--json")
    assert (status, doc[0]["revoked"], err) == (0, False, "")
    run.assert_no_token_printed()


async def test_failures_go_into_the_objects_with_the_usual_exit_status(
    fake: FakeGitLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await login(fake, tmp_path / "data")
    run = Run(s, tmp_path, monkeypatch)
    run.config.write_text(config_text(s, "other"))

    fake.outage = 502  # GitLab down
    status, doc, err = await run("refresh", "demo", "--json")
    assert status == 1
    (obj,) = doc
    assert obj["name"] == "demo" and obj["action"] is None and "502" in str(obj["error"])
    assert f"pac-tui: demo: {obj['error']}" in err

    status, doc, _ = await run("refresh", "--all", "--json")  # one fails, the other is skipped
    assert status == 1
    assert [o["name"] for o in doc] == ["demo", "other"]
    assert doc[0]["error"] and doc[1]["action"] == "skipped" and doc[1]["error"] is None

    status, doc, _ = await run("login", "demo", "--no-browser", "--timeout", "5", "--json")
    assert status == 1
    assert doc[0]["name"] == "demo" and doc[0]["error"] and doc[0]["username"] is None
    fake.outage = None
    run.assert_no_token_printed()
