"""An async client for one GitLab instance's REST API (`/api/v4`), authenticated per call.

Two ways to authenticate, as two token sources (`TokenSource`):

- an OAuth grant (`pac_tui.oauth.token_source.StoreTokenSource`), sent as
  ``Authorization: Bearer``. A 401 ``invalid_token`` (expired or revoked) makes the client ask the
  source for a refreshed token once and retry once; a second 401 means the user has to log in again.
- `PrivateToken`: a fixed project access token sent as ``PRIVATE-TOKEN``, exactly as PAC sends
  it, to check that a minted token works. It is never refreshed.

Every failure becomes a `PacTuiError` whose message names the instance, the project and the action,
never a token: GitLab never echoes one, and the messages are built from names and GitLab's own
error texts only.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx

from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import NeedsLogin, PacTuiError, ProviderUnavailable
from pac_tui.gitlab.http import HTTP_TIMEOUT, explain_http, http_client, json_object

ProjectRef = str | int
Scheme = Literal["bearer", "private-token"]

DEFAULT_PER_PAGE = 100
_OAUTH_ERROR = re.compile(r"[a-z]+(_[a-z]+)+")


class GitLabApiError(PacTuiError):
    """GitLab refused a REST call.

    `status` is the HTTP status, `error` GitLab's OAuth-style error code when it gave one
    (``insufficient_scope``, ``invalid_token``), `message` GitLab's own message text when it gave
    one (``404 Project Not Found``, ``400 Bad request - …``). `str(exc)` is the sentence for people.
    """

    def __init__(
        self, text: str, *, status: int, error: str | None = None, message: str | None = None
    ) -> None:
        super().__init__(text)
        self.status = status
        self.error = error
        self.message = message


class TokenSource(Protocol):
    """Where the client gets the token for each call, and how it sends it."""

    scheme: Scheme

    async def token(self) -> str:
        """The token to send now."""
        ...

    async def refreshed(self, stale: str) -> str:
        """A token that replaces `stale`, which GitLab has just refused as invalid or expired.

        Raises `NeedsLogin` when there is none to be had.
        """
        ...


@dataclass(frozen=True)
class PrivateToken:
    """A fixed token sent as ``PRIVATE-TOKEN`` (a project access token, as PAC uses it)."""

    value: str
    scheme: Scheme = "private-token"

    def __repr__(self) -> str:
        return "PrivateToken(…)"

    async def token(self) -> str:
        return self.value

    async def refreshed(self, stale: str) -> str:
        raise NeedsLogin("a project access token cannot be refreshed; mint or rotate a new one")


def project_id(project: ProjectRef) -> str:
    """A project reference for a URL path: an id, or the path URL-encoded (group%2Fproject)."""
    return str(project) if isinstance(project, int) else quote(project.strip("/"), safe="")


class GitLabApi:
    """Calls to one GitLab instance with one token source. Use as ``async with``, or `aclose()`.

    `base_url` defaults to the app's ``/api/v4`` URL; `transport` is for tests.
    `login_hint` ends messages that ask the user to log in again.
    """

    def __init__(
        self,
        app: GitLabApp,
        source: TokenSource,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = HTTP_TIMEOUT,
        login_hint: str | None = None,
    ) -> None:
        self.app = app
        self.source = source
        self.base_url = (base_url or app.api_url).rstrip("/")
        self.login_hint = login_hint or "log in again"
        self._http = http_client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            Accept="application/json",
        )

    @classmethod
    def with_private_token(
        cls,
        app: GitLabApp,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> GitLabApi:
        """A client that sends `token` as ``PRIVATE-TOKEN``, as PAC does."""
        return cls(app, PrivateToken(token), transport=transport)

    async def __aenter__(self) -> GitLabApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- calls -------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        project: ProjectRef | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one call (path relative to ``/api/v4``); the successful response or an error.

        `action` ("create a project access token") and `project` only shape error messages.
        """
        token = await self.source.token()
        response = await self._send(method, path, token, action, params, json)
        if response.status_code == 401 and _oauth_error(response) == "invalid_token":
            if self.source.scheme != "bearer":
                raise self._error(response, action, project)
            token = await self.source.refreshed(token)
            response = await self._send(method, path, token, action, params, json)
            if response.status_code == 401 and _oauth_error(response) == "invalid_token":
                raise NeedsLogin(
                    f"{self.app.url} still refuses the OAuth token right after refreshing it "
                    f"({_description(response)}); {self.login_hint}"
                )
        if response.is_success:
            return response
        raise self._error(response, action, project)

    async def get(
        self,
        path: str,
        *,
        action: str,
        project: ProjectRef | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = await self.request("GET", path, action=action, project=project, params=params)
        return _json(response)

    async def post(
        self, path: str, *, action: str, project: ProjectRef | None = None, json: Any = None
    ) -> Any:
        return _json(await self.request("POST", path, action=action, project=project, json=json))

    async def put(
        self, path: str, *, action: str, project: ProjectRef | None = None, json: Any = None
    ) -> Any:
        return _json(await self.request("PUT", path, action=action, project=project, json=json))

    async def delete(self, path: str, *, action: str, project: ProjectRef | None = None) -> None:
        await self.request("DELETE", path, action=action, project=project)

    async def paginate(
        self,
        path: str,
        *,
        action: str,
        project: ProjectRef | None = None,
        params: Mapping[str, Any] | None = None,
        per_page: int = DEFAULT_PER_PAGE,
    ) -> AsyncIterator[Any]:
        """Every item of a list endpoint, page after page.

        Follows the ``Link: rel="next"`` header (offset and keyset pagination alike), else
        ``X-Next-Page``. Only the query of a next link is used, on our own base URL: a link that
        names another host never receives the token.
        """
        query: dict[str, Any] = {"per_page": per_page, **(params or {})}
        while True:
            response = await self.request("GET", path, action=action, project=project, params=query)
            items = _json(response)
            if not isinstance(items, list):
                raise GitLabApiError(
                    f"{self.app.url} answered something other than a list while trying to "
                    f"{action}; is this the URL of a GitLab instance?",
                    status=response.status_code,
                )
            for item in items:
                yield item
            next_link = response.links.get("next", {}).get("url")
            next_page = response.headers.get("x-next-page", "").strip()
            if next_link:
                query = dict(httpx.URL(next_link).params.multi_items())
            elif next_page:
                query = {**query, "page": next_page}
            else:
                return

    async def get_all(
        self,
        path: str,
        *,
        action: str,
        project: ProjectRef | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        pages = self.paginate(path, action=action, project=project, params=params)
        return [item async for item in pages]

    # -- internals ---------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        action: str,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Response:
        if self.source.scheme == "bearer":
            headers = {"Authorization": f"Bearer {token}"}
        else:
            headers = {"PRIVATE-TOKEN": token}
        try:
            response = await self._http.request(
                method, path, headers=headers, params=params, json=json
            )
            if response.status_code >= 500:
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise explain_http(exc, self.app, action) from None
        return response

    def _error(
        self, response: httpx.Response, action: str, project: ProjectRef | None
    ) -> PacTuiError:
        status = response.status_code
        error = _oauth_error(response)
        message = _message(response)
        where = self.app.url
        what = f" on {project}" if project is not None else ""
        said = f" (GitLab: {message or error or status})"
        if status == 403 and error == "insufficient_scope" and self.source.scheme == "bearer":
            text = (
                f"the OAuth grant for {where} lacks the scope 'api' needed to {action}{what}; "
                f'put "api" in the scopes of [gitlab.{self.app.key}] and {self.login_hint}'
            )
        elif status == 403 and error == "insufficient_scope":
            text = (
                f"the access token lacks the scope 'api' needed to {action}{what} on {where}; "
                "mint one with scope api"
            )
        elif status == 401 and error == "invalid_token":
            text = (
                f"{where} refused the token while trying to {action}{what} "
                f"({_description(response)})"
            )
        elif status == 401:
            text = (
                f"{where} answered 401 Unauthorized while trying to {action}{what}: the token is "
                "unknown there, or your role does not allow this"
            )
        elif status == 403:
            subject = f"your role on {project}" if project is not None else "your account"
            text = f"{subject} does not allow you to {action} on {where}{said}"
        elif status == 404 and project is not None and _project_missing(message):
            text = f"project {project} not found on {where}, or you cannot see it"
        elif status == 404:
            text = f"{where} found nothing to {action}{what}{said}"
        elif status == 429:
            retry = response.headers.get("retry-after")
            later = f"in {retry} s" if retry else "later"
            return ProviderUnavailable(
                f"{where} is rate-limiting requests while trying to {action}; try again {later}"
            )
        else:
            text = f"{where} refused to {action}{what}{said}"
        return GitLabApiError(text, status=status, error=error, message=message)


def _body(response: httpx.Response) -> dict[str, Any]:
    return json_object(response) or {}


def _json(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise GitLabApiError(
            f"{response.request.url.host} answered HTTP {response.status_code} with something "
            "that is not JSON; is this the URL of a GitLab instance?",
            status=response.status_code,
        ) from None


def _oauth_error(response: httpx.Response) -> str | None:
    """An RFC 6750 error code (``invalid_token``, ``insufficient_scope``), not a Grape message."""
    error = _body(response).get("error")
    return error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else None


def _description(response: httpx.Response) -> str:
    body = _body(response)
    return str(body.get("error_description") or body.get("error") or response.status_code)


def _message(response: httpx.Response) -> str | None:
    """GitLab's message: ``{"message": "..."}``, ``{"message": {"field": ["..."]}}``, or a
    Grape validation error ``{"error": "name is missing"}``."""
    body = _body(response)
    message = body.get("message")
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        parts = []
        for field, problems in message.items():
            problems = problems if isinstance(problems, list) else [problems]
            parts += [f"{field} {problem}" for problem in problems]
        return "; ".join(parts) or None
    error = body.get("error")
    if isinstance(error, str) and not _oauth_error(response):
        return error
    return None


def _project_missing(message: str | None) -> bool:
    return message is None or message == "404 Project Not Found"
