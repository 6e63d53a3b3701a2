"""The config writer adds a repository and keeps everything else: comments, order, other tables."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pac_tui.core.config import load_config
from pac_tui.core.config.write import (
    add_repository,
    check_name,
    check_project,
    normalize_gitlab_url,
    suggest_name,
)
from pac_tui.core.errors import ConfigError, UsageError

EXISTING = """\
# my pac-tui config; keep this comment
[gitlab.default]   # the company instance
url = "https://gitlab.example.com"
client_id = "app-id"
client_secret = "app-secret"

# the first repository
[[repositories]]
name = "payments"
project = "acme/payments"   # the API
"""


def add(path: Path, **changes: object) -> str:
    values: dict[str, object] = {
        "gitlab_url": "https://gitlab.example.com",
        "client_id": "app-id",
        "client_secret": "app-secret",
        "name": "docs",
        "project": "acme/docs",
        "webhook_secret": "hook-secret",
    }
    values.update(changes)
    return add_repository(path, **values)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_in_a_new_directory(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "pac-tui" / "config.toml"
    assert add(path, client_secret=None) == "default"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    config = load_config(path, env={})
    (repo,) = config.repositories
    assert (repo.name, repo.project, repo.gitlab.key) == ("docs", "acme/docs", "default")
    assert repo.webhook_secret == "hook-secret"
    assert repo.gitlab.url == "https://gitlab.example.com"
    assert repo.gitlab.client_secret is None
    assert path.read_text().startswith("# pac-tui config")
    assert list(path.parent.iterdir()) == [path], "no temp file is left behind"


def test_existing_file_keeps_its_text_and_reuses_the_matching_gitlab_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    path.chmod(0o644)
    assert add(path, gitlab_url="https://gitlab.example.com/") == "default"
    text = path.read_text()
    assert text.startswith(EXISTING), "what was there stays byte for byte"
    assert text.count("[gitlab.") == 1
    assert mode(path) == 0o600
    config = load_config(path, env={})
    assert [r.name for r in config.repositories] == ["payments", "docs"]
    assert config.repository("docs").gitlab.key == "default"
    assert config.repository("payments").project == "acme/payments"


def test_second_add_reuses_the_key_the_first_one_created(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert add(path, name="one", project="g/one") == "default"
    assert add(path, name="two", project="g/two") == "default"
    config = load_config(path, env={})
    assert list(config.gitlab) == ["default"]
    assert [r.name for r in config.repositories] == ["one", "two"]


def test_another_instance_gets_a_key_named_after_its_host(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    key = add(path, gitlab_url="https://gitlab.other.org:8443", client_id="other-id")
    assert key == "gitlab-other-org-8443"
    # Same host, another application: a unique key again.
    key2 = add(path, gitlab_url="https://gitlab.other.org:8443", client_id="third", name="third")
    assert key2 == "gitlab-other-org-8443-2"
    text = path.read_text()
    assert text.startswith(EXISTING)
    config = load_config(path, env={})
    assert config.repository("docs").gitlab.url == "https://gitlab.other.org:8443"
    assert config.repository("docs").gitlab.client_id == "other-id"
    assert config.repository("third").gitlab.client_id == "third"
    assert config.repository("payments").gitlab.key == "default"


def test_same_client_with_another_secret_is_a_new_key_and_the_old_one_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    assert add(path, client_secret="renewed") == "gitlab-example-com"
    config = load_config(path, env={})
    assert config.gitlab["default"].client_secret == "app-secret"
    assert config.repository("docs").gitlab.client_secret == "renewed"


def test_duplicate_name_is_refused_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    before = path.stat()
    with pytest.raises(UsageError, match="'payments' is already configured") as caught:
        add(path, name="payments")
    assert str(path) in str(caught.value)
    assert path.read_text() == EXISTING
    assert path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize(
    "broken",
    [
        "[gitlab.default\nurl = 1\n",  # not TOML
        'surprise = "unknown key"\n',  # TOML, but not a config pac-tui accepts
    ],
)
def test_a_broken_file_is_reported_and_left_untouched(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(broken)
    with pytest.raises(ConfigError) as caught:
        add(path)
    assert str(path) in str(caught.value)
    assert path.read_text() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_an_invalid_entry_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    with pytest.raises(ConfigError, match="project path"):
        add(path, project="not a path")
    assert path.read_text() == EXISTING


def test_inline_tables_are_edited_in_place_keeping_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = (
        "# inline style\n"
        'gitlab = { default = { url = "https://gitlab.example.com", client_id = "app-id" } }\n'
        'repositories = [ { name = "payments", project = "acme/payments" } ]  # one\n'
    )
    path.write_text(text)
    assert add(path, client_secret=None) == "default"
    new = path.read_text()
    assert new.startswith("# inline style\n")
    assert "# one" in new
    config = load_config(path, env={})
    assert [r.name for r in config.repositories] == ["payments", "docs"]


def test_values_are_quoted_safely(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    add(path, client_id='we"ird\\id\n')
    assert load_config(path, env={}).repository("docs").gitlab.client_id == 'we"ird\\id'


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text(EXISTING)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    add(link)
    assert link.is_symlink()
    assert "docs" in real.read_text()


def test_the_checks_the_walkthrough_shows() -> None:
    assert normalize_gitlab_url(" https://gitlab.com/ ") == "https://gitlab.com"
    assert normalize_gitlab_url("http://127.0.0.1:8080/gitlab") == "http://127.0.0.1:8080/gitlab"
    for bad, why in [
        ("", "enter the URL"),
        ("gitlab.com", "did you mean https://gitlab.com"),
        ("ftp://gitlab.com", "must start with https://"),
        ("https://", "no valid host"),
        ("https://gitlab.com:99999", "invalid port"),
        ("https://gitlab.com/?x=1", "query"),
    ]:
        with pytest.raises(ValueError, match=why):
            normalize_gitlab_url(bad)

    assert check_project(" /group/sub/project/ ") == "group/sub/project"
    with pytest.raises(ValueError, match="path only"):
        check_project("https://gitlab.com/group/project.git")
    with pytest.raises(ValueError, match="not a GitLab project path"):
        check_project("project")

    assert check_name("docs", ["payments"]) == "docs"
    with pytest.raises(ValueError, match="already configured"):
        check_name("payments", ["payments"])
    with pytest.raises(ValueError, match="letters, digits"):
        check_name("my docs", [])

    assert suggest_name("acme/web/storefront") == "storefront"
    assert suggest_name("acme/storefront", ["storefront"]) == "storefront-2"
    assert suggest_name("acme/.hidden") == "hidden"


def test_the_writer_and_the_client_check_are_core_without_textual() -> None:
    code = (
        "import sys, pac_tui.core.config.write, pac_tui.oauth.client_check\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert out.stderr == ""
