"""Through the gateway to the fake GitLab, whose OAuth tokens come from a real provider (DOT).

The client sends exactly what go-gitlab's ``NewClient(token, WithBaseURL(url))`` sends: the
token in ``PRIVATE-TOKEN``, ``User-Agent: go-gitlab``, ``Accept: application/json``. GitLab (and
the fake, which follows GitLab's auth finders) refuses an OAuth token there and accepts it only
as Bearer; access tokens are accepted either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.gateway.support import gateway
from tests.providers.gitlab_api import FakeGitLab, login


def go_gitlab(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": "go-gitlab", "Accept": "application/json"}
    if token is not None:
        headers["PRIVATE-TOKEN"] = token
    return headers


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(skip_auto_headers=("User-Agent",)) as session:
        yield session


async def get(
    http: aiohttp.ClientSession, url: str | URL, headers: dict[str, str]
) -> tuple[int, Any, bytes]:
    async with http.get(url, headers=headers) as answer:
        body = await answer.read()
        return answer.status, answer.headers.get("Content-Type"), body


@pytest.fixture
async def oauth_token(gitlab: FakeGitLab, tmp_path: Path) -> str:
    gitlab.reset()
    session = await login(gitlab, tmp_path)
    return session.tokens().access_token


async def test_an_oauth_token_in_private_token_works_only_through_the_gateway(
    gitlab: FakeGitLab, oauth_token: str, http: aiohttp.ClientSession
) -> None:
    direct = await get(http, f"{gitlab.api_url}/user", go_gitlab(oauth_token))
    assert direct[0] == 401, "the fake must refuse an OAuth token in PRIVATE-TOKEN, as GitLab does"
    assert json.loads(direct[2]) == {"message": "401 Unauthorized"}
    async with gateway(gitlab.url) as url:
        status, content_type, body = await get(http, f"{url}/api/v4/user", go_gitlab(oauth_token))
    assert status == 200, body
    assert content_type == "application/json"
    assert json.loads(body)["username"] == gitlab.provider.username


async def test_an_oauth_token_reaches_project_endpoints_with_an_escaped_path(
    gitlab: FakeGitLab, oauth_token: str, http: aiohttp.ClientSession
) -> None:
    project = gitlab.add_project("group/sub/project")
    path = "/api/v4/projects/group%2Fsub%2Fproject"
    direct = await get(http, URL(f"{gitlab.url}{path}", encoded=True), go_gitlab(oauth_token))
    assert direct[0] == 401
    async with gateway(gitlab.url) as url:
        status, _, body = await get(http, URL(f"{url}{path}", encoded=True), go_gitlab(oauth_token))
    assert status == 200, body
    assert json.loads(body)["path_with_namespace"] == project.path


async def test_a_project_access_token_still_works_through_the_gateway(
    gitlab: FakeGitLab, http: aiohttp.ClientSession
) -> None:
    gitlab.reset()
    project = gitlab.add_project("group/project")
    token = gitlab.add_project_token(project).value
    path = f"/api/v4/projects/{project.id}"
    assert (await get(http, f"{gitlab.url}{path}", go_gitlab(token)))[0] == 200
    async with gateway(gitlab.url) as url:
        status, _, body = await get(http, f"{url}{path}", go_gitlab(token))
    assert status == 200, body


async def test_without_a_token_gitlab_s_401_comes_back_unchanged(
    gitlab: FakeGitLab, http: aiohttp.ClientSession
) -> None:
    gitlab.reset()
    project = gitlab.add_project("group/project")
    async with gateway(gitlab.url) as url:
        for path in ("/api/v4/user", f"/api/v4/projects/{project.id}"):
            direct = await get(http, f"{gitlab.url}{path}", go_gitlab(None))
            through = await get(http, f"{url}{path}", go_gitlab(None))
            assert direct[0] == 401
            assert through == direct


async def test_an_expired_oauth_token_gets_gitlab_s_invalid_token_answer(
    gitlab: FakeGitLab, oauth_token: str, http: aiohttp.ClientSession
) -> None:
    gitlab.bearer_always_expired = True
    try:
        async with (
            gateway(gitlab.url) as url,
            http.get(f"{url}/api/v4/projects/1", headers=go_gitlab(oauth_token)) as a,
        ):
            assert a.status == 401
            assert 'error="invalid_token"' in a.headers["WWW-Authenticate"]
            assert (await a.json())["error"] == "invalid_token"
    finally:
        gitlab.bearer_always_expired = False
