"""Fixtures shared by every test area: the two real OAuth providers (docs/ARCHITECTURE.md)."""

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


from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from tests.providers.gitlab_api import FakeGitLab


@pytest.fixture(scope="session")
def gitlab(dot_provider: Provider) -> Iterator[FakeGitLab]:
    """A fake GitLab (REST API served here, OAuth proxied to `dot_provider`) for the session.

    Its state is shared: call `gitlab.reset()` at the start of a test (or wrap this in a per-test
    fixture that does). `tests.providers.gitlab_api.login(gitlab, tmp_path)` gives a logged-in
    repository and token store without a browser.
    """
    from tests.providers.dot import DotProvider
    from tests.providers.gitlab_api import start_fake_gitlab

    assert isinstance(dot_provider, DotProvider)
    with start_fake_gitlab(dot_provider) as fake:
        yield fake
