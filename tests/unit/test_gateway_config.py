"""The token gateway in the config and the CLI: the `[gateway]` table, a binding's `gateway`,
`onboard --gateway-url`, and where `pac-tui gateway` takes its settings from."""

import io
from pathlib import Path
from typing import Any

import pytest

from pac_tui import cli
from pac_tui.core.config import TokenMode, parse_config
from pac_tui.core.errors import ConfigError, UsageError
from pac_tui.gateway import GatewaySettings
from pac_tui.onboard import binding_for

APP = """
[gitlab.default]
url = "https://gitlab.example.com"
client_id = "app-id"
"""

REPO = """
[[repositories]]
name = "demo"
project = "group/app"
"""


def parse(text: str) -> Any:
    return parse_config(APP + text, Path("/etc/pac-tui/config.toml"))


def test_gateway_table_defaults_and_files() -> None:
    config = parse(
        '[gateway]\nupstream = "https://gitlab.example.com/"\nport = 9090\n'
        'ca_bundle = "ca.pem"\ntls_cert = "/tls/crt.pem"\ntls_key = "/tls/key.pem"\n'
    )
    table = config.gateway
    assert table.upstream == "https://gitlab.example.com"
    assert (table.host, table.port) == ("0.0.0.0", 9090)  # noqa: S104
    assert table.ca_bundle == Path("/etc/pac-tui/ca.pem")  # relative to the config file
    assert table.tls_cert == Path("/tls/crt.pem")
    assert parse("").gateway.upstream is None


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[gateway]\nupstream = "ftp://x"\n', "gateway.upstream", "not an http(s) URL"),
        ('[gateway]\nupstream = "https://u:p@x"\n', "gateway.upstream", "user info"),
        ("[gateway]\nport = 70000\n", "gateway.port", "port number"),
        ('[gateway]\ntls_cert = "c.pem"\n', "gateway", "go together"),
        ('[gateway]\nlisten = "x"\n', "gateway.listen", "unknown key"),
    ],
)
def test_gateway_table_errors_name_the_key(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.key == key and problem in info.value.problem


def test_a_binding_gateway_needs_oauth_mode() -> None:
    table = '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\n'
    gateway = 'gateway = "http://pac-tui-gateway.pac-tui.svc"\n'
    bound = parse(REPO + table + 'mode = "oauth"\n' + gateway).repository("demo").kubernetes
    assert bound is not None and bound.gateway == "http://pac-tui-gateway.pac-tui.svc"
    with pytest.raises(ConfigError) as info:
        parse(REPO + table + gateway)
    assert info.value.key == "repositories[0].kubernetes.gateway"
    assert 'mode = "oauth"' in info.value.problem


def test_onboard_gateway_url_implies_oauth_and_is_checked() -> None:
    repo = parse(REPO).repository("demo")
    binding = binding_for(repo, namespace="ci", gateway="http://gw.pac-tui.svc:8080")
    assert binding.mode == TokenMode.OAUTH and binding.gateway == "http://gw.pac-tui.svc:8080"
    with pytest.raises(UsageError, match="--mode oauth"):
        binding_for(repo, namespace="ci", mode="project-token", gateway="http://gw")
    with pytest.raises(UsageError, match="not an http"):
        binding_for(repo, namespace="ci", gateway="gw.pac-tui.svc")
    # Switching an oauth binding with a gateway to project-token mode drops the gateway.
    from dataclasses import replace

    bound = replace(repo, kubernetes=binding)
    assert binding_for(bound, mode="project-token").gateway is None


def run_gateway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: str, *argv: str
) -> tuple[int, str, list[GatewaySettings]]:
    seen: list[GatewaySettings] = []
    monkeypatch.setattr("pac_tui.gateway.server.run", lambda settings: seen.append(settings) or 0)
    path = tmp_path / "config.toml"
    path.write_text(config)
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    status = cli.main(["--config", str(path), "gateway", *argv])
    return status, err.getvalue(), seen


def test_gateway_command_takes_flags_then_the_table_then_the_one_instance(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status, _, seen = run_gateway(monkeypatch, tmp_path, APP)
    assert status == 0 and seen[-1].upstream == "https://gitlab.example.com"
    assert (seen[-1].host, seen[-1].port) == ("0.0.0.0", 8080)  # noqa: S104

    table = '[gateway]\nupstream = "https://gitlab.internal/gitlab"\nport = 9000\n'
    status, _, seen = run_gateway(monkeypatch, tmp_path, APP + table)
    assert status == 0 and seen[-1].upstream == "https://gitlab.internal/gitlab"
    assert seen[-1].port == 9000

    status, _, seen = run_gateway(
        monkeypatch, tmp_path, APP + table, "--upstream", "https://other.example", "--port", "0"
    )
    assert status == 0 and (seen[-1].upstream, seen[-1].port) == ("https://other.example", 0)


def test_gateway_command_without_an_upstream_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    two = APP + '[gitlab.other]\nurl = "https://gitlab.com"\nclient_id = "x"\n'
    status, err, seen = run_gateway(monkeypatch, tmp_path, two)
    assert status == 2 and seen == []
    assert "give --upstream URL or [gateway] upstream" in err
    assert "https://gitlab.com, https://gitlab.example.com" in err
