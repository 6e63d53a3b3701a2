"""Every GitLab client verifies with one TLS context per CA bundle: building one parses the whole
bundle (about 25 ms of CPU on the dashboard's loop), and the dashboard builds a client for each
row whose hook health it asks about."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest

from pac_tui.core.config import GitLabApp
from pac_tui.gitlab.http import _tls_context, http_client
from pac_tui.oauth.client import oauth_client


@pytest.fixture
def bundles_read(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The CA bundles loaded into a TLS context from now on."""
    _tls_context.cache_clear()
    read: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        read.append(args[0] if args else kwargs)
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    yield read
    _tls_context.cache_clear()


async def test_clients_share_one_tls_context(bundles_read: list[object]) -> None:
    app = GitLabApp(key="default", url="https://gitlab.example.com", client_id="app-id")
    clients = [http_client(base_url=app.url) for _ in range(5)] + [oauth_client(app)]
    assert bundles_read == [certifi.where()]  # once, for six clients
    for client in clients:
        await client.aclose()


async def test_a_ca_bundle_named_in_the_environment_is_honoured(
    bundles_read: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    await http_client().aclose()
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    await http_client().aclose()
    await http_client().aclose()
    assert bundles_read == [certifi.where(), str(bundle)]
