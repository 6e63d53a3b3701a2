"""Who a token belongs to, for telling the operator what was authorized."""

from __future__ import annotations

import httpx

from pac_tui.core.config import GitLabApp
from pac_tui.gitlab.http import http_client


async def current_username(app: GitLabApp, access_token: str) -> str | None:
    """The username behind `access_token` (GET /api/v4/user), or None if it cannot be told.

    Best effort: the login has already succeeded; this only makes the message friendlier.
    """
    try:
        async with http_client(timeout=httpx.Timeout(10.0)) as http:
            response = await http.get(
                f"{app.api_url}/user", headers={"Authorization": f"Bearer {access_token}"}
            )
        if response.status_code != 200:
            return None
        username = response.json().get("username")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return username if isinstance(username, str) and username else None
