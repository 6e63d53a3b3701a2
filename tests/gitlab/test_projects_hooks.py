"""Projects, roles, .tekton files and the PAC webhook, against the fake GitLab."""

from __future__ import annotations

from pathlib import Path

import pytest

from pac_tui.gitlab.api import GitLabApiError
from pac_tui.gitlab.hooks import PAC_EVENTS, create_hook, find_hook, list_hooks, update_hook
from pac_tui.gitlab.projects import (
    current_user,
    get_project,
    member_access_level,
    role_name,
    tekton_files,
)
from tests.providers.gitlab_api import FakeGitLab, login

PROJECT = "group/sub/project"
HOOK_SECRET = "hook-secret-value-0123456789"


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(
        PROJECT,
        tekton=["push.yaml", "pull-request.yml", "notes.txt"],
        files=[".tekton/tasks/build.yaml", "README.md"],
        branches=["feature"],
    )
    return gitlab


async def test_project_user_and_roles(fake: FakeGitLab, tmp_path: Path) -> None:
    fake.add_project("group/dev", access_level=30)
    session = await login(fake, tmp_path)
    async with session.api() as api:
        project = await get_project(api, PROJECT)
        dev = await get_project(api, "group/dev")
        me = await current_user(api)
        mine = await member_access_level(api, project.id, me.id)
        nobody = await member_access_level(api, project.id, me.id + 1000)
    assert project.default_branch == "main" and project.web_url == f"{fake.url}/{PROJECT}"
    assert (project.role, dev.role) == ("Maintainer", "Developer")
    assert me.username == fake.provider.username
    assert (mine, nobody) == (40, None)
    assert [role_name(n) for n in (10, 15, 20, 50, None, 60)] == [
        "Guest",
        "Planner",
        "Reporter",
        "Owner",
        "no role",
        "access level 60",
    ]


async def test_tekton_files(fake: FakeGitLab, tmp_path: Path) -> None:
    fake.add_project("group/empty")
    session = await login(fake, tmp_path)
    async with session.api() as api:
        assert await tekton_files(api, PROJECT, "main") == [
            ".tekton/pull-request.yml",
            ".tekton/push.yaml",
        ]
        assert await tekton_files(api, PROJECT, "feature") != []
        assert await tekton_files(api, PROJECT, "no-such-branch") == []
        assert await tekton_files(api, "group/empty", "main") == []
        with pytest.raises(GitLabApiError) as caught:
            await tekton_files(api, "group/missing", "main")
    assert caught.value.status == 404 and "group/missing not found" in str(caught.value)


async def test_hooks_create_list_find_update(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    url = "https://pac.example.com/"
    async with session.api() as api:
        assert await list_hooks(api, PROJECT) == []
        created = await create_hook(api, PROJECT, url, HOOK_SECRET)
        other = await create_hook(
            api, PROJECT, "https://elsewhere.example.com", HOOK_SECRET, events=["push_events"]
        )
        hooks = await list_hooks(api, PROJECT)
        updated = await update_hook(
            api,
            PROJECT,
            other.id,
            "https://elsewhere.example.com/v2",
            HOOK_SECRET,
            enable_ssl_verification=False,
        )
    assert created.sends(PAC_EVENTS) and created.enable_ssl_verification
    assert other.push_events and not other.note_events and not other.sends()
    assert find_hook(hooks, "https://pac.example.com") == created
    assert find_hook(hooks, "https://nowhere.example.com") is None
    assert updated.id == other.id and updated.sends() and not updated.enable_ssl_verification
    assert updated.url == "https://elsewhere.example.com/v2"
    stored = next(iter(fake.projects.values())).hooks[other.id]
    assert stored["token"] == HOOK_SECRET  # kept by GitLab, never returned
    assert fake.count("POST", "/projects/{id}/hooks") == 2
    assert fake.count("PUT", "/projects/{id}/hooks/{hook_id}") == 1


async def test_hook_refusals_are_explained(fake: FakeGitLab, tmp_path: Path) -> None:
    fake.add_project("group/dev", access_level=30)
    fake.block_local_webhooks = True
    session = await login(fake, tmp_path)
    async with session.api() as api:
        with pytest.raises(GitLabApiError) as forbidden:
            await list_hooks(api, "group/dev")
        with pytest.raises(GitLabApiError) as local:
            await create_hook(api, PROJECT, "http://127.0.0.1:8080/", HOOK_SECRET)
    assert forbidden.value.status == 403
    assert str(forbidden.value).startswith("your role on group/dev does not allow")
    assert local.value.status == 422 and "administrator must allow" in str(local.value)
    for error in (forbidden.value, local.value):
        assert HOOK_SECRET not in str(error)
        assert session.tokens().access_token not in str(error)
