"""Project access tokens: minted with the operator's OAuth session, rotated before they expire.

What GitLab answers when it will not let the caller manage them (GitLab's
`lib/api/resource_access_tokens.rb` and `ResourceAccessTokens::CreateService`):

- create: 400 ``{"message": "400 Bad request - User does not have permission to create project
  access token"}`` both when the role is below Maintainer and when the plan lacks the feature
  (gitlab.com Free) or a group owner switched token creation off. The text is the same, so the
  caller's role (``GET /projects/:id``) tells the two apart.
- list/get: 401 ``{"message": "401 Unauthorized"}`` below Maintainer (not an auth failure).
- rotate: 401 ``{"message": "401 Unauthorized"}`` below Maintainer, on a plan without the feature,
  and for a token id that does not exist.

A refusal for role or plan raises `ProjectTokensUnavailable`, whose message offers oauth mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pac_tui.core.models import mask
from pac_tui.gitlab.api import GitLabApi, GitLabApiError, ProjectRef, project_id
from pac_tui.gitlab.projects import MAINTAINER, get_project, role_name

DEFAULT_NAME = "pac-tui"
DEFAULT_SCOPES = ("api",)
DEFAULT_LIFETIME_DAYS = 30
ROTATION_THRESHOLD_DAYS = 7
USE_OAUTH = (
    "project access tokens need the Maintainer role and, on gitlab.com, a Premium or Ultimate "
    'plan; use mode = "oauth" instead'
)
_NO_PERMISSION = "does not have permission to create"
_LIMIT_REACHED = "Access token limit reached"
_LEVEL_NOT_HELD = "permissions not held by the creating user"


class ProjectTokensUnavailable(GitLabApiError):
    """GitLab will not let this user manage project access tokens on this project.

    `reason` is ``role`` (below Maintainer), ``plan`` (the role suffices, so the plan or a group
    setting forbids them) or ``unknown`` (the role could not be read).
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        reason: Literal["role", "plan", "unknown"],
        message: str | None = None,
    ) -> None:
        super().__init__(text, status=status, message=message)
        self.reason = reason


@dataclass(frozen=True)
class ProjectToken:
    """A project access token as GitLab describes it; `token` only right after create/rotate."""

    id: int
    name: str
    scopes: tuple[str, ...]
    access_level: int | None
    expires_at: date | None  # the token stops working at 00:00 UTC on that day
    active: bool
    revoked: bool
    created_at: datetime | None
    token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"ProjectToken(id={self.id}, name={self.name!r}, scopes={self.scopes}, "
            f"access_level={self.access_level}, expires_at={self.expires_at}, "
            f"active={self.active}, revoked={self.revoked}, token={mask(self.token)})"
        )

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProjectToken:
        expires = data.get("expires_at")
        created = data.get("created_at")
        level = data.get("access_level")
        token = data.get("token")
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            scopes=tuple(str(s) for s in data.get("scopes") or ()),
            access_level=level if isinstance(level, int) else None,
            expires_at=date.fromisoformat(expires) if expires else None,
            active=bool(data.get("active")),
            revoked=bool(data.get("revoked")),
            created_at=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None,
            token=token if isinstance(token, str) and token else None,
        )


def default_expiry(today: date, days: int = DEFAULT_LIFETIME_DAYS) -> date:
    return today + timedelta(days=days)


def needs_rotation(
    token: ProjectToken, today: date, *, threshold_days: int = ROTATION_THRESHOLD_DAYS
) -> bool:
    """True if an active token expires within `threshold_days` days of `today`.

    A revoked or inactive token cannot be rotated (GitLab then revokes its whole family): mint a
    new one instead; this returns False for it.
    """
    if token.revoked or not token.active or token.expires_at is None:
        return False
    return (token.expires_at - today).days <= threshold_days


def _tokens_path(project: ProjectRef, token_id: int | None = None) -> str:
    path = f"/projects/{project_id(project)}/access_tokens"
    return path if token_id is None else f"{path}/{token_id}"


async def mint(
    api: GitLabApi,
    project: ProjectRef,
    *,
    name: str = DEFAULT_NAME,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    expires_at: date,
    access_level: int = MAINTAINER,
) -> ProjectToken:
    """Create a project access token; the result carries its value (shown only this once)."""
    body = {
        "name": name,
        "scopes": list(scopes),
        "expires_at": expires_at.isoformat(),
        "access_level": access_level,
    }
    action = "create a project access token"
    try:
        data = await api.post(_tokens_path(project), action=action, project=project, json=body)
    except GitLabApiError as exc:
        if exc.error == "insufficient_scope":
            raise
        if exc.status == 400 and exc.message and _LEVEL_NOT_HELD in exc.message:
            raise GitLabApiError(
                f"a token with the {role_name(access_level)} role would have more rights on "
                f"{project} than you have; mint it with a lower access_level",
                status=exc.status,
                message=exc.message,
            ) from None
        if exc.status in (400, 403) and _refusal(exc.message):
            raise await _unavailable(api, project, exc, action) from None
        raise
    return ProjectToken.from_api(data)


async def rotate(
    api: GitLabApi, project: ProjectRef, token_id: int, *, expires_at: date
) -> ProjectToken:
    """Replace token `token_id`: GitLab revokes it at once and returns a new token, new id.

    Store the result before anything else: the old value stops working immediately.
    """
    action = f"rotate project access token {token_id}"
    path = f"{_tokens_path(project, token_id)}/rotate"
    try:
        data = await api.post(
            path, action=action, project=project, json={"expires_at": expires_at.isoformat()}
        )
    except GitLabApiError as exc:
        if exc.status == 400 and exc.message and "already revoked" in exc.message:
            raise GitLabApiError(
                f"project access token {token_id} of {project} is already revoked and cannot be "
                "rotated; mint a new one",
                status=exc.status,
                message=exc.message,
            ) from None
        if exc.status == 401 and exc.error is None:
            # Below Maintainer, a plan without the feature, or no such token: find out which.
            if await get(api, project, token_id) is None:
                raise GitLabApiError(
                    f"project access token {token_id} no longer exists on {project}; mint a new "
                    "one",
                    status=404,
                    message=exc.message,
                ) from None
            raise await _unavailable(api, project, exc, action) from None
        raise
    return ProjectToken.from_api(data)


async def get(api: GitLabApi, project: ProjectRef, token_id: int) -> ProjectToken | None:
    """Token `token_id` of the project, or None if GitLab has no such token there."""
    action = f"read project access token {token_id}"
    try:
        data = await api.get(_tokens_path(project, token_id), action=action, project=project)
    except GitLabApiError as exc:
        if exc.status == 404 and exc.message != "404 Project Not Found":
            return None
        if exc.status == 401 and exc.error is None:
            raise await _unavailable(api, project, exc, action) from None
        raise
    return ProjectToken.from_api(data)


async def revoke(api: GitLabApi, project: ProjectRef, token_id: int) -> bool:
    """Revoke token `token_id`; False if GitLab had no such token (nothing left to revoke)."""
    action = f"revoke project access token {token_id}"
    try:
        await api.delete(_tokens_path(project, token_id), action=action, project=project)
    except GitLabApiError as exc:
        if exc.status == 404 and exc.message != "404 Project Not Found":
            return False
        raise
    return True


async def rotate_self(api: GitLabApi, *, expires_at: date) -> ProjectToken:
    """Rotate the token `api` sends, with that token alone (``POST
    /personal_access_tokens/self/rotate``, GitLab ≥ 16.10; the token needs scope ``api`` or
    ``self_rotate``). For a refresher that holds only the project token, not the OAuth session.

    GitLab revokes the sending token at once: store the result before anything else.
    """
    data = await api.post(
        "/personal_access_tokens/self/rotate",
        action="rotate the access token",
        json={"expires_at": expires_at.isoformat()},
    )
    return ProjectToken.from_api(data)


async def self_info(api: GitLabApi) -> ProjectToken:
    """What GitLab says about the token `api` sends (``GET /personal_access_tokens/self``).

    With `GitLabApi.with_private_token` this checks a minted token the way PAC will use it.
    """
    data = await api.get("/personal_access_tokens/self", action="check the access token")
    return ProjectToken.from_api(data)


def _refusal(message: str | None) -> bool:
    text = message or ""
    return _NO_PERMISSION in text or _LIMIT_REACHED in text or text == "403 Forbidden"


async def _unavailable(
    api: GitLabApi, project: ProjectRef, exc: GitLabApiError, action: str
) -> GitLabApiError:
    """Say why GitLab refused: the caller's role decides between role and plan."""
    said = f" (GitLab: {exc.message})" if exc.message else ""
    if exc.message and _LIMIT_REACHED in exc.message:
        return ProjectTokensUnavailable(
            f"GitLab refused to {action} on {project}: the token limit is reached (a gitlab.com "
            f"trial allows one project access token){said}; {USE_OAUTH}",
            status=exc.status,
            reason="plan",
            message=exc.message,
        )
    try:
        level = (await get_project(api, project)).access_level
    except GitLabApiError:
        return ProjectTokensUnavailable(
            f"GitLab refused to {action} on {project}{said}; {USE_OAUTH}",
            status=exc.status,
            reason="unknown",
            message=exc.message,
        )
    if level is None or level < MAINTAINER:
        return ProjectTokensUnavailable(
            f"your role on {project} is {role_name(level)}, so GitLab refused to {action}; "
            f"{USE_OAUTH}",
            status=exc.status,
            reason="role",
            message=exc.message,
        )
    return ProjectTokensUnavailable(
        f"GitLab refused to {action} on {project} although your role there is "
        f"{role_name(level)}: the plan does not include project access tokens, or a group owner "
        f"switched their creation off{said}; {USE_OAUTH}",
        status=exc.status,
        reason="plan",
        message=exc.message,
    )
