from pathlib import Path

import pytest

from pac_tui.core.config import DEFAULT_REDIRECT_URI, load_config, parse_config
from pac_tui.core.errors import ConfigError, UsageError

GOOD = """
[gitlab.default]
url = "https://gitlab.example.com/"
client_id = "app-id"
client_secret = "app-secret"

[gitlab.public]
url = "https://gitlab.com"
client_id = "other"
scopes = ["api", "read_user"]
redirect_uri = "http://localhost:8123/cb"

[[repositories]]
name = "demo"
project = "group/sub/project"
webhook_secret = "hook"

[[repositories]]
name = "other"
project = "team/app"
gitlab = "public"
"""


def test_parses_the_documented_format(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    config = load_config(path, env={})
    demo = config.repository("demo")
    assert demo.gitlab.url == "https://gitlab.example.com"
    assert demo.gitlab.confidential
    assert demo.gitlab.scopes == ("api",)
    assert demo.gitlab.redirect_uri == DEFAULT_REDIRECT_URI
    assert demo.gitlab.token_url == "https://gitlab.example.com/oauth/token"
    assert demo.webhook_secret == "hook"
    other = config.repository("other")
    assert not other.gitlab.confidential
    assert other.gitlab.scopes == ("api", "read_user")
    assert other.gitlab.redirect_uri == "http://localhost:8123/cb"


def test_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    config = parse_config(GOOD, tmp_path / "c.toml")
    assert "app-secret" not in repr(config)
    assert "hook" not in repr(config.repository("demo"))


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[gitlab.default\n", None, "not valid TOML"),
        ('[gitlab.default]\nurl = "https://x"\n', "gitlab.default.client_id", "missing"),
        (
            '[gitlab.default]\nclient_id = "x"\n[[repositories]]\nname = "a"\nproject = "g/p"\n'
            'gitlab = "prod"\n',
            "repositories[0].gitlab",
            "'prod' is not defined under [gitlab] (defined: default)",
        ),
        (
            '[gitlab.default]\nclient_id = "x"\n[[repositories]]\nname = "a"\nproject = "g/p"\n'
            '[[repositories]]\nname = "a"\nproject = "g/q"\n',
            "repositories[1].name",
            "'a' is used twice",
        ),
        (
            '[gitlab.default]\nclient_id = "x"\nredirect_uri = "https://127.0.0.1/cb"\n',
            "gitlab.default.redirect_uri",
            "must be http on a loopback host",
        ),
        (
            '[gitlab.default]\nclient_id = "x"\nredirect_uri = "http://example.com/cb"\n',
            "gitlab.default.redirect_uri",
            "must be http on a loopback host",
        ),
        (
            '[gitlab.default]\nclient_id = "x"\nredirect_uri = "http://localhost/cb"\n',
            "gitlab.default.redirect_uri",
            "port included",
        ),
        ('[gitlab.default]\nclient_id = "x"\nurl = "gitlab.com"\n', "gitlab.default.url", "http"),
        ('[gitlab.default]\nclient_id = "x"\nscopes = []\n', "gitlab.default.scopes", "non-empty"),
        ("[gitlab.default]\nclient_id = 3\n", "gitlab.default.client_id", "non-empty string"),
        ('[gitlab.default]\nclientid = "x"\n', "gitlab.default.clientid", "unknown key"),
        (
            '[gitlab.default]\nclient_id = "x"\n[[repositories]]\nname = "a"\n'
            'project = "nogroup"\n',
            "repositories[0].project",
            "not a GitLab project path",
        ),
        (
            '[gitlab.default]\nclient_id = "x"\n[[repositories]]\nproject = "g/p"\n',
            "repositories[0].name",
            "missing",
        ),
        ("repositories = 3\n", "repositories", "array"),
    ],
)
def test_broken_config_names_file_key_and_problem(
    tmp_path: Path, text: str, key: str | None, problem: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    err = caught.value
    assert err.exit_code == 2
    assert str(path) in str(err)
    if key:
        assert err.key == key
        assert f": {key}: " in str(err)
    assert problem in str(err)


def test_named_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", env={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(None, env={"PAC_TUI_CONFIG": str(tmp_path / "absent.toml")})


def test_env_config_location(tmp_path: Path) -> None:
    path = tmp_path / "env.toml"
    path.write_text(GOOD)
    assert load_config(None, env={"PAC_TUI_CONFIG": str(path)}).path == path


def test_without_a_file_the_seed_variables_define_gitlab_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    env = {
        "GITLAB_URL": "https://gitlab.internal",
        "GITLAB_CLIENT_ID": "seed-id",
        "GITLAB_CLIENT_SECRET": "seed-secret",
        "GITLAB_REDIRECT_URI": "http://127.0.0.1:9999/callback",
    }
    config = load_config(None, env=env)
    app = config.gitlab["default"]
    assert (app.url, app.client_id, app.client_secret) == (
        "https://gitlab.internal",
        "seed-id",
        "seed-secret",
    )
    assert app.redirect_uri == "http://127.0.0.1:9999/callback"
    assert config.repositories == ()
    bad = dict(env, GITLAB_REDIRECT_URI="http://evil.example/cb")
    with pytest.raises(ConfigError, match="must be http on a loopback host"):
        load_config(None, env=bad)


def test_unknown_repository_lists_the_known_ones(tmp_path: Path) -> None:
    config = parse_config(GOOD, tmp_path / "c.toml")
    with pytest.raises(UsageError, match=r"known: demo, other"):
        config.repository("nope")
