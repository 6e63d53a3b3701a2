"""A repository's `webhook_signing_token`: validated on load, never in a message, repr or output."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pac_tui.cli.main import main
from pac_tui.core.config import parse_config
from pac_tui.core.config.signing import new_signing_token, signing_key
from pac_tui.core.errors import ConfigError

# The Standard Webhooks reference libraries' test secret (a 24-byte key).
SPEC_TOKEN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

BASE = """
[gitlab.default]
url = "https://gitlab.example.com"
client_id = "app"

[[repositories]]
name = "demo"
project = "group/demo"
"""


def config_with(value: str) -> str:
    return BASE + f"webhook_signing_token = {value}\n"


def test_a_valid_token_loads_and_is_never_in_a_repr() -> None:
    token = new_signing_token()
    config = parse_config(config_with(f'"{token}"'), None)
    repo = config.repository("demo")
    assert repo.webhook_signing_token == token and repo.signs_webhooks
    assert len(signing_key(token)) == 32
    assert token not in repr(repo) and token not in repr(config)
    assert token.removeprefix("whsec_") not in repr(config)
    spec = parse_config(config_with(f'"{SPEC_TOKEN}"'), None).repository("demo")
    assert signing_key(spec.webhook_signing_token or "") == base64.b64decode(SPEC_TOKEN[6:])


def test_without_a_token_nothing_is_signed() -> None:
    assert not parse_config(BASE, None).repository("demo").signs_webhooks


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"', '"whsec_" followed by the base64'),
        ('"whsec_not*base64!here-at-all"', "standard base64"),
        ('"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\u00e9"', "standard base64"),
        ('"whsec_c2hvcnQta2V5"', "24 to 64 bytes"),  # 9 bytes
        (f'"whsec_{base64.b64encode(bytes(65)).decode()}"', "24 to 64 bytes"),
        ('""', "non-empty string"),
        ("42", "non-empty string"),
    ],
)
def test_a_bad_token_is_refused_without_showing_it(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(value), Path("/etc/pac-tui.toml"))
    message = str(caught.value)
    assert "repositories[0].webhook_signing_token" in message and says in message
    secret = value.strip('"').removeprefix("whsec_")
    if secret and secret != "42":
        assert secret not in message


def test_the_command_refuses_a_bad_token_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config_with('"whsec_bm90IGEga2V5IGF0IGFsbA"'))  # "not a key at all": 15 bytes
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(tmp_path / "data"))
    assert main(["--config", str(path), "status"]) != 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "webhook_signing_token: the key must be 24 to 64 bytes" in err
    assert "bm90IGEga2V5IGF0IGFsbA" not in err
