"""Project access tokens through the operator's OAuth session, checked the way PAC uses them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.gitlab.project_tokens import (
    USE_OAUTH,
    ProjectToken,
    ProjectTokensUnavailable,
    default_expiry,
    needs_rotation,
)
from pac_tui.gitlab.projects import get_project
from tests.providers.gitlab_api import FakeGitLab, Session, login

PROJECT = "group/sub/project"
TODAY = datetime.now(UTC).date()  # GitLab judges expiry in UTC; the fake is pinned to it


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.today = TODAY  # the same day for both sides, even when a run straddles midnight
    gitlab.add_project(PROJECT)
    return gitlab


def pac_api(session: Session, value: str) -> GitLabApi:
    """A client that sends the project token as PAC does: PRIVATE-TOKEN."""
    return GitLabApi.with_private_token(session.repo.gitlab, value)


def assert_clean(error: BaseException, *secrets: str | None) -> None:
    text = f"{error} {error!r}"
    assert not [s for s in secrets if s and s in text], "a token value is in an error message"


async def test_minted_token_works_as_pac_uses_it(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    expires = default_expiry(TODAY)
    async with session.api() as api:
        token = await project_tokens.mint(api, PROJECT, expires_at=expires)
    assert token.token and token.token.startswith("glpat-")
    assert (token.name, token.scopes, token.access_level) == ("pac-tui", ("api",), 40)
    assert token.expires_at == expires and token.active and not token.revoked
    assert token.token not in repr(token) and "token=glpa…" in repr(token)

    async with pac_api(session, token.token) as pac:
        project = await get_project(pac, PROJECT)
        info = await project_tokens.self_info(pac)
    assert project.path_with_namespace == PROJECT and project.access_level == 40
    assert info.id == token.id and info.token is None

    async with session.api() as api:
        listed = await project_tokens.get(api, PROJECT, token.id)
    assert listed is not None and listed.token is None and listed.active


async def test_rotate_gives_a_new_token_and_kills_the_old(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    async with session.api() as api:
        old = await project_tokens.mint(api, PROJECT, expires_at=TODAY + timedelta(5))
        assert needs_rotation(old, TODAY)
        new = await project_tokens.rotate(api, PROJECT, old.id, expires_at=TODAY + timedelta(30))
        old_now = await project_tokens.get(api, PROJECT, old.id)
    assert new.id != old.id and new.token and new.token != old.token
    assert new.expires_at == TODAY + timedelta(30) and not needs_rotation(new, TODAY)
    assert old_now is not None and old_now.revoked and not old_now.active

    async with pac_api(session, new.token) as pac:
        assert (await get_project(pac, PROJECT)).id > 0
    async with pac_api(session, str(old.token)) as pac:
        with pytest.raises(GitLabApiError) as caught:
            await get_project(pac, PROJECT)
    assert (caught.value.status, caught.value.error) == (401, "invalid_token")
    assert "revoked" in str(caught.value)
    assert_clean(caught.value, old.token, new.token)

    async with session.api() as api:
        with pytest.raises(GitLabApiError) as caught:
            await project_tokens.rotate(api, PROJECT, old.id, expires_at=TODAY + timedelta(30))
    assert "already revoked" in str(caught.value) and "mint a new one" in str(caught.value)


async def test_developer_is_told_why_and_offered_oauth_mode(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    fake.add_project("group/dev", access_level=30)
    existing = fake.add_project_token(next(iter(fake.projects.values())))
    session = await login(fake, tmp_path)
    async with session.api() as api:
        with pytest.raises(ProjectTokensUnavailable) as caught:
            await project_tokens.mint(api, "group/dev", expires_at=default_expiry(TODAY))
        with pytest.raises(ProjectTokensUnavailable) as on_get:
            await project_tokens.get(api, "group/dev", 1)
    error = caught.value
    assert error.reason == "role" and error.status == 400
    assert str(error).startswith("your role on group/dev is Developer")
    assert USE_OAUTH in str(error) and 'mode = "oauth"' in str(error)
    assert on_get.value.reason == "role"
    assert_clean(error, existing.value, session.tokens().access_token)


async def test_plan_without_project_tokens(fake: FakeGitLab, tmp_path: Path) -> None:
    free = fake.add_project("free/project", project_tokens=False)
    existing = fake.add_project_token(free)  # made before a downgrade, say
    session = await login(fake, tmp_path)
    async with session.api() as api:
        with pytest.raises(ProjectTokensUnavailable) as caught:
            await project_tokens.mint(api, "free/project", expires_at=default_expiry(TODAY))
        with pytest.raises(ProjectTokensUnavailable) as on_rotate:
            await project_tokens.rotate(
                api, "free/project", existing.id, expires_at=default_expiry(TODAY)
            )
        readable = await project_tokens.get(api, "free/project", existing.id)
    for error in (caught.value, on_rotate.value):
        assert error.reason == "plan"
        assert "although your role there is Maintainer" in str(error)
        assert USE_OAUTH in str(error)
        assert_clean(error, existing.value, session.tokens().access_token)
    assert caught.value.message == (
        "400 Bad request - User does not have permission to create project access token"
    )
    assert on_rotate.value.status == 401
    assert readable is not None and readable.active  # Maintainers may still list them


async def test_get_revoke_and_missing_tokens(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    async with session.api() as api:
        token = await project_tokens.mint(api, PROJECT, expires_at=default_expiry(TODAY))
        assert await project_tokens.get(api, PROJECT, 999_999) is None
        assert await project_tokens.revoke(api, PROJECT, token.id) is True
        assert await project_tokens.revoke(api, PROJECT, 999_999) is False
        revoked = await project_tokens.get(api, PROJECT, token.id)
        with pytest.raises(GitLabApiError) as caught:
            await project_tokens.rotate(api, PROJECT, 999_999, expires_at=default_expiry(TODAY))
    assert revoked is not None and revoked.revoked
    assert caught.value.status == 404 and "no longer exists" in str(caught.value)
    async with pac_api(session, str(token.token)) as pac:
        with pytest.raises(GitLabApiError):
            await get_project(pac, PROJECT)


async def test_a_token_above_your_role_is_refused_with_a_hint(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    session = await login(fake, tmp_path)
    async with session.api() as api:
        with pytest.raises(GitLabApiError) as caught:
            await project_tokens.mint(
                api, PROJECT, expires_at=TODAY + timedelta(9), access_level=50
            )
    assert not isinstance(caught.value, ProjectTokensUnavailable)
    assert "Owner role" in str(caught.value) and "lower access_level" in str(caught.value)


def test_needs_rotation_and_default_expiry() -> None:
    def token(expires: date | None, *, active: bool = True, revoked: bool = False) -> ProjectToken:
        return ProjectToken(1, "pac-tui", ("api",), 40, expires, active, revoked, None)

    today = date(2026, 3, 1)
    assert default_expiry(today) == date(2026, 3, 31)
    assert default_expiry(today, days=7) == date(2026, 3, 8)
    assert needs_rotation(token(date(2026, 3, 8)), today)
    assert not needs_rotation(token(date(2026, 3, 9)), today)
    assert needs_rotation(token(date(2026, 3, 20)), today, threshold_days=30)
    assert not needs_rotation(token(None), today)
    assert not needs_rotation(token(date(2026, 3, 2), revoked=True, active=False), today)


async def test_a_project_token_rotates_itself(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    async with session.api() as api:
        old = await project_tokens.mint(api, PROJECT, expires_at=TODAY + timedelta(3))
        with pytest.raises(GitLabApiError) as oauth_self:
            await project_tokens.self_info(api)  # an OAuth token is not a personal access token
    assert oauth_self.value.status == 400
    assert old.token is not None

    async with pac_api(session, old.token) as pac:
        new = await project_tokens.rotate_self(pac, expires_at=TODAY + timedelta(30))
    assert new.token and new.id != old.id and new.expires_at == TODAY + timedelta(30)
    assert new.scopes == old.scopes and new.name == old.name
    async with pac_api(session, new.token) as pac:
        assert (await project_tokens.self_info(pac)).id == new.id
    async with pac_api(session, old.token) as pac:
        with pytest.raises(GitLabApiError) as caught:
            await project_tokens.rotate_self(pac, expires_at=TODAY + timedelta(30))
    assert (caught.value.status, caught.value.error) == (401, "invalid_token")
    assert_clean(caught.value, old.token, new.token)
