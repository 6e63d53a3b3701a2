"""HTTPS on both sides: serving it (cert and key given), and reaching a TLS upstream whose
certificate a private CA signed (trusted only through `ca_bundle`)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from pac_tui.gateway import GatewayConfigError, GatewaySettings
from pac_tui.gateway.server import serve
from tests.gateway.support import BackgroundServer, Recorder, gateway

pytest.importorskip("cryptography")

from tests.gateway.certs import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_upstream(pki: Pki) -> Iterator[tuple[Recorder, BackgroundServer]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert, pki.key)
    recorder = Recorder()
    with BackgroundServer(recorder, ssl_context=context) as server:
        yield recorder, server


def trusting(pki: Pki) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cafile=str(pki.ca))
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


async def test_the_gateway_serves_https_with_the_given_certificate(
    pki: Pki, tls_upstream: tuple[Recorder, BackgroundServer]
) -> None:
    rec, server = tls_upstream
    async with gateway(server.url, ca_bundle=pki.ca, tls_cert=pki.cert, tls_key=pki.key) as url:
        assert url.startswith("https://127.0.0.1:")
        async with trusting(pki) as http:
            async with http.get(f"{url}/healthz") as answer:
                assert answer.status == 200
            async with http.get(f"{url}/api/v4/user", headers={"Private-Token": "t"}) as answer:
                assert answer.status == 200
        # Plain HTTP to the TLS port gets no answer.
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                async with http.get(url.replace("https", "http") + "/healthz"):
                    pass
    assert rec.seen[0].header("Authorization") == "Bearer t"


async def test_a_tls_upstream_is_verified_against_the_ca_bundle(
    pki: Pki, tls_upstream: tuple[Recorder, BackgroundServer]
) -> None:
    rec, server = tls_upstream
    async with (
        gateway(server.url, ca_bundle=pki.ca) as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v4/user") as answer,
    ):
        assert answer.status == 200
    assert len(rec.seen) == 1


async def test_without_the_ca_bundle_verification_fails_with_a_502(
    tls_upstream: tuple[Recorder, BackgroundServer],
) -> None:
    rec, server = tls_upstream
    async with (
        gateway(server.url) as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v4/user", headers={"Private-Token": "tok"}) as answer,
    ):
        body = await answer.json()
    assert answer.status == 502
    assert body["error"] == "upstream unreachable"
    assert body["upstream"] == server.url
    assert body["detail"].startswith("TLS verification failed: ")
    assert "certificate" in body["detail"], body
    assert rec.seen == []  # nothing was sent to an unverified peer


async def test_a_key_that_does_not_match_the_certificate_is_a_config_error(pki: Pki) -> None:
    settings = GatewaySettings(
        upstream="https://gitlab.com",
        host="127.0.0.1",
        port=0,
        tls_cert=pki.cert,
        tls_key=pki.other_key,
    )
    with pytest.raises(GatewayConfigError, match="cannot use TLS certificate"):
        await serve(settings)


async def test_a_ca_bundle_without_certificates_is_a_config_error(tmp_path: Path) -> None:
    bundle = tmp_path / "empty.pem"
    bundle.write_text("not a certificate\n")
    settings = GatewaySettings(
        upstream="https://gitlab.com", host="127.0.0.1", port=0, ca_bundle=bundle
    )
    with pytest.raises(GatewayConfigError, match="CA bundle"):
        await serve(settings)
