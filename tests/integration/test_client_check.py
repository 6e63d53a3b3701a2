"""`check_client` against both real providers: it tells a known client from an unknown one, a good
secret from a wrong one, and an unreachable instance from a refusal, without any user."""

from __future__ import annotations

import secrets
import socket

import pytest

from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import ProviderRejected, ProviderUnavailable
from pac_tui.oauth.client_check import check_client
from tests.providers.base import OAuthApp, Provider


def gitlab_app(url: str, app: OAuthApp, **changes: object) -> GitLabApp:
    values: dict[str, object] = {
        "key": "default",
        "url": url,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    values.update(changes)
    return GitLabApp(**values)  # type: ignore[arg-type]


async def test_good_confidential_client_is_accepted(provider: Provider) -> None:
    await check_client(gitlab_app(provider.url, provider.confidential))


async def test_good_public_client_is_accepted(provider: Provider) -> None:
    await check_client(gitlab_app(provider.url, provider.public))


async def test_wrong_secret_is_refused_without_showing_it(provider: Provider) -> None:
    wrong = f"gloas-{secrets.token_hex(32)}"
    with pytest.raises(ProviderRejected) as caught:
        await check_client(gitlab_app(provider.url, provider.confidential, client_secret=wrong))
    message = str(caught.value)
    assert "invalid_client" in message
    assert "Secret" in message
    assert wrong not in message
    assert str(provider.confidential.client_secret) not in message


async def test_confidential_client_without_its_secret_is_refused(provider: Provider) -> None:
    with pytest.raises(ProviderRejected, match="confidential"):
        await check_client(gitlab_app(provider.url, provider.confidential, client_secret=None))


async def test_unknown_client_id_is_refused(provider: Provider) -> None:
    app = gitlab_app(provider.url, provider.public, client_id=secrets.token_hex(32))
    with pytest.raises(ProviderRejected, match="Application ID"):
        await check_client(app)


async def test_closed_port_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = GitLabApp(key="default", url=f"http://127.0.0.1:{port}", client_id="x")
    with pytest.raises(ProviderUnavailable, match="cannot reach"):
        await check_client(app)


async def test_a_server_that_is_not_gitlab_is_explained(provider: Provider) -> None:
    app = gitlab_app(f"{provider.url}/not-gitlab", provider.public)
    with pytest.raises(ProviderRejected, match="is this a GitLab instance URL"):
        await check_client(app)
