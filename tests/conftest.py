"""Fixtures shared by every test area: the two real OAuth providers (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers.base import Provider


@pytest.fixture(scope="session")
def dot_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    from tests.providers.dot import start_dot_provider

    with start_dot_provider(tmp_path_factory.mktemp("dot")) as provider:
        yield provider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    from tests.providers.oidc_provider import start_oidc_provider

    with start_oidc_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture(params=["dot", "oidc"], ids=["django-oauth-toolkit", "oidc-provider"])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.getfixturevalue(f"{request.param}_provider")
