"""Projects, roles and the PAC pipeline files of a project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pac_tui.gitlab.api import GitLabApi, GitLabApiError, ProjectRef, project_id

GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 15, 20, 30, 40, 50
ROLE_NAMES = {
    GUEST: "Guest",
    PLANNER: "Planner",
    REPORTER: "Reporter",
    DEVELOPER: "Developer",
    MAINTAINER: "Maintainer",
    OWNER: "Owner",
}
TEKTON_DIR = ".tekton"


def role_name(access_level: int | None) -> str:
    """``Maintainer`` for 40; ``no role`` for None; the number for a level GitLab added later."""
    if access_level is None:
        return "no role"
    return ROLE_NAMES.get(access_level, f"access level {access_level}")


@dataclass(frozen=True)
class Project:
    id: int
    path_with_namespace: str
    web_url: str
    default_branch: str | None  # None for a project without commits
    access_level: int | None  # the caller's role: the higher of project and group membership

    @property
    def role(self) -> str:
        return role_name(self.access_level)


@dataclass(frozen=True)
class GitLabUser:
    id: int
    username: str


async def get_project(api: GitLabApi, project: ProjectRef) -> Project:
    """``GET /projects/:id``; the caller's role comes from its ``permissions``."""
    data = await api.get(
        f"/projects/{project_id(project)}", action="read the project", project=project
    )
    return Project(
        id=int(data["id"]),
        path_with_namespace=str(data["path_with_namespace"]),
        web_url=str(data.get("web_url") or ""),
        default_branch=data.get("default_branch") or None,
        access_level=_access_level(data.get("permissions")),
    )


def _access_level(permissions: Any) -> int | None:
    if not isinstance(permissions, dict):
        return None
    levels = [
        access.get("access_level")
        for access in (permissions.get("project_access"), permissions.get("group_access"))
        if isinstance(access, dict)
    ]
    numbers = [level for level in levels if isinstance(level, int)]
    return max(numbers) if numbers else None


async def member_access_level(api: GitLabApi, project: ProjectRef, user_id: int) -> int | None:
    """The user's effective role on the project, inherited ones included; None if not a member."""
    try:
        data = await api.get(
            f"/projects/{project_id(project)}/members/all/{user_id}",
            action="read the project's members",
            project=project,
        )
    except GitLabApiError as exc:
        if exc.status == 404 and exc.message != "404 Project Not Found":
            return None
        raise
    level = data.get("access_level") if isinstance(data, dict) else None
    return level if isinstance(level, int) else None


async def current_user(api: GitLabApi) -> GitLabUser:
    data = await api.get("/user", action="find out who is logged in")
    return GitLabUser(id=int(data["id"]), username=str(data["username"]))


async def tekton_files(api: GitLabApi, project: ProjectRef, ref: str) -> list[str]:
    """Paths of the ``.yaml``/``.yml`` files directly under ``.tekton/`` at `ref`, sorted.

    These are the files PAC reads. No ``.tekton`` directory (GitLab answers 404) gives [].
    """
    try:
        entries = await api.get_all(
            f"/projects/{project_id(project)}/repository/tree",
            action=f"list {TEKTON_DIR}/ at {ref}",
            project=project,
            params={"path": TEKTON_DIR, "ref": ref},
        )
    except GitLabApiError as exc:
        if exc.status == 404 and exc.message != "404 Project Not Found":
            return []
        raise
    return sorted(
        str(entry["path"])
        for entry in entries
        if entry.get("type") == "blob" and str(entry.get("name", "")).endswith((".yaml", ".yml"))
    )
