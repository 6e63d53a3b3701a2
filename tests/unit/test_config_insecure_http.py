"""A GitLab instance on plain http to another machine is refused at config load (the client
secret and every token would cross the network in clear) unless its table allows it on purpose,
which then warns on every run; http to this machine (the tests' fake GitLab) is fine."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from pac_tui.cli import main
from pac_tui.core.config import load_config
from pac_tui.core.config.write import normalize_gitlab_url
from pac_tui.core.errors import ConfigError


def config_at(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[gitlab.lab]\nurl = "{url}"\nclient_id = "app"\nclient_secret = "s3cr3t"\n{extra}'
        '\n[[repositories]]\nname = "demo"\nproject = "g/p"\ngitlab = "lab"\n'
    )
    path.chmod(0o600)
    return path


def cli(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["--config", str(path), "status"])
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "url",
    [
        "http://gitlab.internal",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]",
        "http://127.0.0.1.nip.io",
    ],
)
def test_plain_http_to_another_machine_is_refused_with_the_reason_and_the_way_out(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_at(tmp_path, url)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert f"{path}: gitlab.lab.url: {url!r} is plain http to another machine" in message
    assert "client secret and every access and refresh token would cross the network in clear" in (
        message
    )
    assert "Use https://" in message
    assert "add allow_insecure_http = true to [gitlab.lab]" in message
    assert "s3cr3t" not in message

    status, out, err = cli(tmp_path, path, monkeypatch)
    assert (status, out) == (2, "")
    assert err.startswith("pac-tui: ") and "in clear" in err


def test_allow_insecure_http_loads_it_and_warns_on_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_at(tmp_path, "http://gitlab.internal", "allow_insecure_http = true\n")
    app = load_config(path).gitlab["lab"]
    assert app.allow_insecure_http and app.in_clear
    status, out, err = cli(tmp_path, path, monkeypatch)
    assert status == 0 and out.startswith("NAME")
    assert err == (
        "pac-tui: warning: [gitlab.lab] http://gitlab.internal is plain http "
        "(allow_insecure_http = true): the OAuth client secret and every token cross the "
        "network in clear; use https:// if it can\n"
    )

    path = config_at(tmp_path, "http://gitlab.internal", 'allow_insecure_http = "yes"\n')
    with pytest.raises(ConfigError, match=r"gitlab.lab.allow_insecure_http: must be true or false"):
        load_config(path)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:3000",
        "http://localhost:9000/gitlab",
        "http://LOCALHOST",
        "https://gitlab.internal",
    ],
)
def test_loopback_and_https_need_nothing(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_config(config_at(tmp_path, url)).gitlab["lab"]
    assert not app.in_clear and app.insecure_warning() is None
    status, _, err = cli(tmp_path, config_at(tmp_path, url), monkeypatch)
    assert (status, err) == (0, "")


def test_the_seed_variables_cannot_allow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    env = {"GITLAB_URL": "http://gitlab.internal", "GITLAB_CLIENT_ID": "seed-id"}
    with pytest.raises(ConfigError, match=r"\$GITLAB_URL alone cannot"):
        load_config(None, env=env)
    env["GITLAB_URL"] = "http://127.0.0.1:3000"
    assert load_config(None, env=env).gitlab["default"].url == "http://127.0.0.1:3000"


def test_the_walkthrough_refuses_it_unless_the_config_allows_that_instance() -> None:
    with pytest.raises(ValueError, match="in clear: use https://"):
        normalize_gitlab_url("http://gitlab.internal/")
    assert normalize_gitlab_url("http://gitlab.internal/", {"http://gitlab.internal"}) == (
        "http://gitlab.internal"
    )
    assert normalize_gitlab_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("https://oauth2:glpat-in-the-url-123@gitlab.example.com", ""),
        ("http://oauth2:glpat-in-the-url-123@gitlab.lan", "allow_insecure_http = true"),
        (
            "https://gitlab.example.com",
            'redirect_uri = "http://u:glpat-in-the-url-123@127.0.0.1/cb"',
        ),
    ],
)
def test_user_info_in_a_url_is_refused_without_repeating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, extra: str
) -> None:
    """A credential pasted into a URL: refused at load (before any warning could print the URL),
    and the message names the key, never the value."""
    path = config_at(tmp_path, url, extra)
    with pytest.raises(ConfigError, match="user info") as raised:
        load_config(path, env={})
    assert "glpat-in-the-url-123" not in str(raised.value)
    status, out, err = cli(tmp_path, path, monkeypatch)
    assert status != 0 and "user info" in err
    assert "glpat-in-the-url-123" not in out + err
