"""Settings a user can get wrong, and what they are told: in code, and from the command line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pac_tui.gateway import GatewayConfigError, GatewaySettings
from tests.gateway.support import GatewayProcess


def test_defaults() -> None:
    settings = GatewaySettings(upstream="https://gitlab.com")
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)  # noqa: S104
    assert settings.connect_timeout == 5.0
    assert settings.read_timeout == 60.0
    assert settings.total_timeout >= 60.0
    assert settings.drain_seconds == 25.0
    assert settings.ca_bundle is settings.tls_cert is settings.tls_key is None
    assert not settings.serves_tls


@pytest.mark.parametrize(
    ("upstream", "origin", "prefix"),
    [
        ("https://gitlab.com", "https://gitlab.com", ""),
        ("https://gitlab.com/", "https://gitlab.com", ""),
        ("HTTPS://GitLab.example:8443/gitlab/", "https://gitlab.example:8443", "/gitlab"),
        ("http://127.0.0.1:8929", "http://127.0.0.1:8929", ""),
        ("http://[::1]:80/x", "http://[::1]", "/x"),
    ],
)
def test_good_upstreams(upstream: str, origin: str, prefix: str) -> None:
    target = GatewaySettings(upstream=upstream).target
    assert (target.origin, target.path_prefix) == (origin, prefix)


@pytest.mark.parametrize(
    ("upstream", "words"),
    [
        ("", "empty"),
        ("gitlab.com", "scheme must be http or https"),
        ("ftp://gitlab.com", "scheme must be http or https"),
        ("https://", "no host"),
        ("https://gitlab.com/?private_token=x", "remove the query"),
        ("https://gitlab.com/#top", "remove the query"),
        ("https://gitlab.com:99999", "port"),
        ("https://gitlab.com:0", "port"),
        ("https://user:pw@gitlab.com", "user name and password"),
    ],
)
def test_bad_upstreams_are_explained(upstream: str, words: str) -> None:
    with pytest.raises(GatewayConfigError, match=words):
        GatewaySettings(upstream=upstream)


def test_bad_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="port 70000 is out of range"):
        GatewaySettings(upstream="https://gitlab.com", port=70000)
    with pytest.raises(GatewayConfigError, match="port -1 is out of range"):
        GatewaySettings(upstream="https://gitlab.com", port=-1)
    with pytest.raises(GatewayConfigError, match="read timeout must be between"):
        GatewaySettings(upstream="https://gitlab.com", read_timeout=0)
    with pytest.raises(GatewayConfigError, match="connect timeout must be between"):
        GatewaySettings(upstream="https://gitlab.com", connect_timeout=1e9)
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(GatewayConfigError, match="certificate was given without the TLS key"):
        GatewaySettings(upstream="https://gitlab.com", tls_cert=cert)
    with pytest.raises(GatewayConfigError, match="key was given without the TLS cert"):
        GatewaySettings(upstream="https://gitlab.com", tls_key=cert)
    with pytest.raises(GatewayConfigError, match=r"TLS key file .*missing\.pem' does not exist"):
        GatewaySettings(
            upstream="https://gitlab.com", tls_cert=cert, tls_key=tmp_path / "missing.pem"
        )
    with pytest.raises(GatewayConfigError, match=r"CA bundle .* does not exist"):
        GatewaySettings(upstream="https://gitlab.com", ca_bundle=tmp_path / "nope.pem")


def test_settings_are_frozen() -> None:
    settings = GatewaySettings(upstream="https://gitlab.com")
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--upstream", "ftp://gitlab.com"], "scheme must be http or https"),
        (
            ["--upstream", "https://gitlab.com", "--tls-cert", "/etc/hostname"],
            "without the TLS key",
        ),
        (["--upstream", "https://gitlab.com", "--port", "65536"], "out of range"),
    ],
)
def test_the_command_line_says_what_is_wrong_in_one_line(args: list[str], words: str) -> None:
    with GatewayProcess(*args, ready=False) as gw:
        status, _stdout, stderr = gw.finish()
    assert status == 2
    assert stderr.count("\n") == 1 and stderr.startswith("pac-tui: gateway: ")
    assert words in stderr
    assert "Traceback" not in stderr


def test_a_port_in_use_is_one_line_and_a_non_zero_status() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        args = ["--upstream", "https://gitlab.com", "--host", "127.0.0.1", "--port", str(port)]
        with GatewayProcess(*args, ready=False) as gw:
            status, _, stderr = gw.finish()
    assert status == 1
    assert f"pac-tui: gateway: cannot listen on 127.0.0.1:{port}: address already in use" in stderr
    assert "Traceback" not in stderr
