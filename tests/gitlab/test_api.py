"""GitLabApi against the fake GitLab with real provider tokens: refresh on 401, errors people can
act on, pagination, and no token value in any message."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pac_tui.core.clock import ManualClock
from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import NeedsLogin, PacTuiError, ProviderUnavailable
from pac_tui.gitlab.api import GitLabApi, GitLabApiError, project_id
from pac_tui.gitlab.projects import get_project
from pac_tui.oauth.refresh import refresh
from pac_tui.oauth.token_source import StoreTokenSource
from tests.providers.dot import DotProvider
from tests.providers.gitlab_api import (
    FakeGitLab,
    Session,
    expire_at_provider,
    login,
    revoke_at_provider,
)

PROJECT = "group/sub/project"


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(PROJECT)
    return gitlab


def assert_no_token(error: BaseException, session: Session, *others: str) -> None:
    tokens = session.tokens() if session.store.get(session.repo.name).tokens else None
    secrets = [*others]
    if tokens:
        secrets += [tokens.access_token, tokens.refresh_token or ""]
    text = f"{error} {error!r}"
    assert not [s for s in secrets if s and s in text], "a token value is in an error message"


async def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    fake: FakeGitLab, dot_provider: DotProvider, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    stale = session.tokens()
    expire_at_provider(dot_provider, stale.access_token)
    before = dot_provider.token_requests("refresh_token")

    async with session.api() as api:
        project = await get_project(api, PROJECT)

    assert project.path_with_namespace == PROJECT and project.access_level == 40
    assert dot_provider.token_requests("refresh_token") == before + 1
    assert fake.count("GET", "/projects/{id}") == 2  # refused once, then served
    fresh = session.tokens()
    assert fresh.access_token != stale.access_token
    assert dot_provider.is_active(fresh.access_token)


async def test_a_second_401_means_login_after_exactly_one_refresh(
    fake: FakeGitLab, dot_provider: DotProvider, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    fake.bearer_always_expired = True
    before = dot_provider.token_requests("refresh_token")

    async with session.api() as api:
        with pytest.raises(NeedsLogin) as caught:
            await get_project(api, PROJECT)

    assert dot_provider.token_requests("refresh_token") == before + 1
    assert fake.count("GET", "/projects/{id}") == 2
    assert "still refuses" in str(caught.value) and "pac-tui login demo" in str(caught.value)
    assert_no_token(caught.value, session)


async def test_a_grant_revoked_at_the_provider_needs_login(
    fake: FakeGitLab, dot_provider: DotProvider, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    old = session.tokens()
    revoke_at_provider(fake, session)
    before = dot_provider.token_requests("refresh_token")

    async with session.api() as api:
        with pytest.raises(NeedsLogin) as caught:
            await get_project(api, PROJECT)

    assert dot_provider.token_requests("refresh_token") == before + 1
    assert "invalid_grant" in str(caught.value) and "pac-tui login demo" in str(caught.value)
    record = session.store.get("demo")
    assert record is not None and record.tokens is None and record.needs_login
    assert_no_token(caught.value, session, old.access_token, old.refresh_token or "")


class _StaleOnce(StoreTokenSource):
    """Hands out a token that another process has meanwhile replaced, once."""

    def __init__(self, session: Session, stale: str) -> None:
        super().__init__(session.repo, session.store, session.clock)
        self.stale: str | None = stale

    async def token(self) -> str:
        if self.stale is not None:
            stale, self.stale = self.stale, None
            return stale
        return await super().token()


async def test_a_token_refreshed_by_another_process_is_adopted_without_a_refresh(
    fake: FakeGitLab, dot_provider: DotProvider, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    stale = session.tokens().access_token
    await refresh(session.repo, session.store, session.clock)  # "another process"
    before = dot_provider.token_requests("refresh_token")

    source = _StaleOnce(session, stale)
    async with GitLabApi(session.repo.gitlab, source) as api:
        project = await get_project(api, PROJECT)

    assert project.id > 0
    assert dot_provider.token_requests("refresh_token") == before
    assert fake.count("GET", "/projects/{id}") == 2


async def test_insufficient_scope_says_which_scope_and_to_log_in_again(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path, scopes=("read_user",))
    async with session.api() as api:
        with pytest.raises(GitLabApiError) as caught:
            await get_project(api, PROJECT)
    error = caught.value
    assert (error.status, error.error) == (403, "insufficient_scope")
    assert "lacks the scope 'api'" in str(error) and "pac-tui login demo" in str(error)
    assert_no_token(error, session)


async def test_not_found_and_forbidden_name_the_project(fake: FakeGitLab, tmp_path: Path) -> None:
    fake.add_project("other/secret", access_level=None)
    fake.add_project("group/readonly", access_level=30)
    session = await login(fake, tmp_path)
    async with session.api() as api:
        for missing in ("group/missing", "other/secret"):
            with pytest.raises(GitLabApiError) as caught:
                await get_project(api, missing)
            assert caught.value.status == 404
            assert str(caught.value) == (
                f"project {missing} not found on {fake.url}, or you cannot see it"
            )
            assert_no_token(caught.value, session)
        with pytest.raises(GitLabApiError) as caught:
            await api.get(
                f"/projects/{project_id('group/readonly')}/hooks",
                action="list the webhooks",
                project="group/readonly",
            )
    assert caught.value.status == 403 and caught.value.message == "403 Forbidden"
    assert str(caught.value).startswith(
        "your role on group/readonly does not allow you to list the webhooks"
    )


async def test_gitlab_down_or_failing_is_provider_unavailable(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    fake.outage = 502
    async with session.api() as api:
        with pytest.raises(ProviderUnavailable) as caught:
            await get_project(api, PROJECT)
    assert "answered HTTP 502 while trying to read the project" in str(caught.value)
    assert_no_token(caught.value, session)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = GitLabApp(key="default", url=closed, client_id=session.repo.gitlab.client_id)
    source = StoreTokenSource(session.repo, session.store, session.clock)
    async with GitLabApi(app, source) as api:
        with pytest.raises(ProviderUnavailable) as caught:
            await get_project(api, PROJECT)
    assert f"cannot reach {closed} to read the project" in str(caught.value)
    assert_no_token(caught.value, session)


async def test_pagination_follows_next_links(fake: FakeGitLab, tmp_path: Path) -> None:
    names = [f"p{i}.yaml" for i in range(5)]
    fake.add_project("group/many", tekton=names)
    session = await login(fake, tmp_path)
    async with session.api() as api:
        items = [
            item["name"]
            async for item in api.paginate(
                f"/projects/{project_id('group/many')}/repository/tree",
                action="list .tekton",
                params={"path": ".tekton", "ref": "main"},
                per_page=2,
            )
        ]
    assert items == names
    assert fake.count("GET", "/projects/{id}/repository/tree") == 3


async def test_headers_sent_and_project_paths_encoded() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 7, "path_with_namespace": "a/b/c"})

    app = GitLabApp(key="default", url="https://gitlab.example.com", client_id="id")
    async with GitLabApi.with_private_token(
        app, "glpat-secret", transport=httpx.MockTransport(answer)
    ) as api:
        project = await get_project(api, "a/b/c")
    assert project.id == 7 and project.access_level is None
    (request,) = seen
    assert request.url.raw_path == b"/api/v4/projects/a%2Fb%2Fc"
    assert request.headers["PRIVATE-TOKEN"] == "glpat-secret"
    assert "Authorization" not in request.headers
    assert request.headers["User-Agent"] == "pac-tui"


async def test_a_refused_private_token_is_not_refreshed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_token", "error_description": "Token was revoked."}
        return httpx.Response(401, json=body)

    app = GitLabApp(key="default", url="https://gitlab.example.com", client_id="id")
    async with GitLabApi.with_private_token(
        app, "glpat-secret", transport=httpx.MockTransport(answer)
    ) as api:
        with pytest.raises(PacTuiError) as caught:
            await get_project(api, "a/b")
    assert isinstance(caught.value, GitLabApiError) and caught.value.status == 401
    assert "Token was revoked" in str(caught.value) and "glpat-secret" not in str(caught.value)


async def test_a_token_expired_by_our_clock_is_refreshed_before_the_call(
    fake: FakeGitLab, dot_provider: DotProvider, tmp_path: Path
) -> None:
    clock = ManualClock(datetime.now(UTC))
    session = await login(fake, tmp_path, clock=clock)
    clock.advance(7200)
    before = dot_provider.token_requests("refresh_token")
    async with session.api() as api:
        await get_project(api, PROJECT)
    assert dot_provider.token_requests("refresh_token") == before + 1
    assert fake.count("GET", "/projects/{id}") == 1  # no request was spent on a certain 401
