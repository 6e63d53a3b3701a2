"""A fake GitLab instance for tests: its REST API (`/api/v4`) here, its OAuth from a real provider.

One base URL is both the OAuth server and the API, as on a real GitLab: ``/oauth/*`` and the sign-in
pages (``/users/*``) are reverse-proxied to an upstream test provider, ``/api/v4/*`` is served here
with GitLab's response shapes, status codes and error bodies (taken from GitLab's API docs and
sources, ``lib/api/*.rb``). Bearer tokens are checked by asking the upstream's
``/oauth/token/info`` on every call (no cache), so expiry and revocation at the provider show up
exactly as GitLab reports them. Only the django-oauth-toolkit provider (`tests.providers.dot`) has
that endpoint; panva's oidc-provider (`tests/providers/oidc/server.mjs`) has none, so this fake
runs in front of the DOT provider only. ``PRIVATE-TOKEN`` headers (and Bearer ``glpat-`` tokens) are
checked against the project access tokens this fake minted itself.

The server runs on 127.0.0.1 (free port) in its own thread and event loop, so sync and async tests
alike can use it. Tests set state between calls (not while a call runs)::

    gitlab.reset()
    project = gitlab.add_project("group/sub/project", access_level=40, tekton=["push.yaml"])
    session = await login(gitlab, tmp_path)        # real tokens, no browser
    async with session.api() as api: ...
    gitlab.count("POST", "/projects/{id}/access_tokens")

Knobs: `outage` (every request answers that HTTP status), `oauth_scopes` (the scopes every OAuth
token is taken to have, to produce ``insufficient_scope``), `bearer_always_expired` (every OAuth
token is refused as expired, even a fresh one), `block_local_webhooks` (hook URLs on loopback are
refused, GitLab's default), `signed_webhooks` (hooks take a `signing_token` and report
`signing_token_present`, as GitLab does with its `webhook_signing_token` feature on; off, the field
is ignored and not reported, as by an older GitLab), `today` (the date token expiry is judged by),
`after_next` (something that happens between two calls of a client).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from aiohttp import ClientError, ClientSession, ClientTimeout, DummyCookieJar, web
from multidict import CIMultiDict

from pac_tui.core.clock import Clock, SystemClock
from pac_tui.core.config import GitLabApp, Repository
from pac_tui.core.models import TokenSet
from pac_tui.gitlab.api import GitLabApi
from pac_tui.oauth.grant import live_tokens
from pac_tui.oauth.login import login as oauth_login
from pac_tui.oauth.token_source import repository_api
from pac_tui.stores.file_store import TokenStore
from tests.providers import gitlab_hook_events
from tests.providers.dot import DotProvider

API = "/api/v4"
ACCESS_LEVELS = (10, 15, 20, 30, 40, 50)
BOT_SCOPES = frozenset(
    {
        "api",
        "read_api",
        "read_repository",
        "write_repository",
        "read_registry",
        "write_registry",
        "create_runner",
        "manage_runner",
        "k8s_proxy",
        "self_rotate",
    }
)
HOOK_EVENTS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "note_events",
    "issues_events",
    "confidential_issues_events",
    "confidential_note_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
)
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)

# GitLab's answers for OAuth/PAT failures (lib/api/api_guard.rb, rack-oauth2).
EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
REVOKED = "Token was revoked. You have to re-authorize from the user."
SCOPE = "The request requires higher privileges than provided by the access token."


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeProject:
    """A project and the logged-in user's standing on it."""

    id: int
    path: str  # path_with_namespace
    default_branch: str | None = "main"  # None: an empty repository
    access_level: int | None = 40  # the OAuth user's role; None: not a member
    project_tokens: bool = True  # False: a gitlab.com Free plan (no project access tokens)
    public: bool = False
    files: set[str] = field(default_factory=set)  # repository paths, on every branch
    branches: set[str] = field(default_factory=set)  # besides default_branch
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class FakeToken:
    """A project access token the fake minted (or rotated into existence)."""

    id: int
    project_id: int
    user_id: int  # the bot user; a rotated token keeps it
    name: str
    scopes: list[str]
    access_level: int
    expires_at: date
    value: str = field(repr=False)
    revoked: bool = False
    created_at: str = field(default_factory=_now_iso)
    last_used_at: str | None = None

    def entity(self, today: date, *, with_token: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "revoked": self.revoked,
            "created_at": self.created_at,
            "description": None,
            "scopes": list(self.scopes),
            "user_id": self.user_id,
            "last_used_at": self.last_used_at,
            "active": not self.revoked and self.expires_at > today,
            "expires_at": self.expires_at.isoformat(),
            "last_used_ips": [],
            "access_level": self.access_level,
            "resource_type": "project",
            "resource_id": self.project_id,
        }
        if with_token:
            data["token"] = self.value
        return data


@dataclass(frozen=True)
class Caller:
    """Who a request authenticated as: the OAuth user, or a project access token's bot."""

    user_id: int
    scopes: frozenset[str]
    bot: FakeToken | None = None


Handler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def _message(status: int, text: str) -> web.Response:
    return _json({"message": text}, status)


def _bad_request(reason: str) -> web.Response:
    return _message(400, f"400 Bad request - {reason}")


def _invalid_token(description: str) -> web.Response:
    header = f'Bearer realm="The API", error="invalid_token", error_description="{description}"'
    return _json(
        {"error": "invalid_token", "error_description": description},
        401,
        {"WWW-Authenticate": header},
    )


def _insufficient_scope(scope: str) -> web.Response:
    header = f'Bearer realm="The API", error="insufficient_scope", scope="{scope}"'
    return _json(
        {"error": "insufficient_scope", "error_description": SCOPE, "scope": scope},
        403,
        {"WWW-Authenticate": header},
    )


def _personal(entity: dict[str, Any]) -> dict[str, Any]:
    """A project token's entity as the personal-access-token endpoints show it."""
    hidden = ("access_level", "resource_type", "resource_id")
    return {k: v for k, v in entity.items() if k not in hidden}


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON or form body of a request, {} when there is none."""
    try:
        body = await request.json()
    except ValueError:
        body = dict(await request.post())
    return body if isinstance(body, dict) else {}


UNAUTHORIZED = {"message": "401 Unauthorized"}
PROJECT_NOT_FOUND = {"message": "404 Project Not Found"}


class FakeGitLab:
    """The fake instance; see the module docstring. `start()`/`stop()`, or `start_fake_gitlab`."""

    def __init__(self, provider: DotProvider) -> None:
        self.provider = provider
        self.upstream = provider.url.rstrip("/")
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.reset()

    # -- state the tests control ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget every project, token, hook, counter and knob."""
        self.projects: dict[int, FakeProject] = {}
        self.tokens: dict[int, FakeToken] = {}
        self.requests: Counter[str] = Counter()
        self.outage: int | None = None
        self.oauth_scopes: tuple[str, ...] | None = None
        self.bearer_always_expired = False
        self.block_local_webhooks = False
        self.signed_webhooks = False
        self.today: date | None = None
        self._ids = itertools.count(1)
        self._after: dict[str, Callable[[], object]] = {}

    def after_next(self, method: str, route: str, callback: Callable[[], object]) -> None:
        """Call `callback` once, in a worker thread, after the next request for `route` (named as
        `count` names it) was handled and before its answer goes out: something that happens
        between two calls of a client, e.g. another process rotating a token."""
        self._after[f"{method} {route}"] = callback

    def add_project(
        self,
        path: str,
        *,
        access_level: int | None = 40,
        default_branch: str | None = "main",
        project_tokens: bool = True,
        public: bool = False,
        files: Iterable[str] = (),
        tekton: Iterable[str] = (),
        branches: Iterable[str] = (),
    ) -> FakeProject:
        """A project; `tekton` names files to put under ``.tekton/`` (``files``: any paths)."""
        project = FakeProject(
            id=next(self._ids),
            path=path,
            default_branch=default_branch,
            access_level=access_level,
            project_tokens=project_tokens,
            public=public,
            files={*files, *(f".tekton/{name}" for name in tekton)},
            branches=set(branches),
        )
        self.projects[project.id] = project
        return project

    def add_project_token(
        self,
        project: FakeProject,
        *,
        name: str = "pac-tui",
        scopes: Iterable[str] = ("api",),
        access_level: int = 40,
        expires_at: date | None = None,
    ) -> FakeToken:
        """A project access token created 'in GitLab's UI', outside the code under test."""
        return self._mint(
            project, name, list(scopes), access_level, expires_at or self.date() + timedelta(30)
        )

    def date(self) -> date:
        return self.today or datetime.now(UTC).date()

    def count(self, method: str, route: str) -> int:
        """Requests so far for a route as written in GitLab's docs below /api/v4
        (``/projects/{id}/access_tokens``) or a proxied path (``/oauth/token``)."""
        return self.requests[f"{method} {route}"]

    @property
    def api_url(self) -> str:
        return f"{self.url}{API}"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitLab:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fake-gitlab", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    async def _start(self) -> None:
        self._session = ClientSession(
            timeout=ClientTimeout(total=15), auto_decompress=False, cookie_jar=DummyCookieJar()
        )
        app = web.Application(middlewares=[self._outage_and_counts])
        route = app.router.add_route
        route("*", "/oauth/{tail:.*}", self._proxy)
        route("*", "/users/{tail:.*}", self._proxy)
        route("GET", f"{API}/user", self._proxy)
        for method, path, handler in (
            ("GET", "/personal_access_tokens/self", self._token_self),
            ("POST", "/personal_access_tokens/self/rotate", self._token_self_rotate),
            ("GET", "/projects/{id}", self._project),
            ("GET", "/projects/{id}/members/all/{user_id}", self._member),
            ("GET", "/projects/{id}/repository/tree", self._tree),
            ("GET", "/projects/{id}/hooks", self._hooks),
            ("POST", "/projects/{id}/hooks", self._hook_create),
            ("GET", "/projects/{id}/hooks/{hook_id}", self._hook_get),
            ("PUT", "/projects/{id}/hooks/{hook_id}", self._hook_update),
            ("DELETE", "/projects/{id}/hooks/{hook_id}", self._hook_delete),
            ("GET", "/projects/{id}/hooks/{hook_id}/events", gitlab_hook_events.list_events(self)),
            (
                "POST",
                "/projects/{id}/hooks/{hook_id}/events/{hook_event_id}/resend",
                gitlab_hook_events.resend_event(self),
            ),
            (
                "POST",
                "/projects/{id}/hooks/{hook_id}/test/{trigger}",
                gitlab_hook_events.send_test(self),
            ),
            ("GET", "/projects/{id}/access_tokens", self._tokens_list),
            ("POST", "/projects/{id}/access_tokens", self._token_create),
            ("GET", "/projects/{id}/access_tokens/{token_id}", self._token_get),
            ("DELETE", "/projects/{id}/access_tokens/{token_id}", self._token_revoke),
            ("POST", "/projects/{id}/access_tokens/{token_id}/rotate", self._token_rotate),
        ):
            route(method, f"{API}{path}", self._authenticated(handler))
        route("*", f"{API}/{{tail:.*}}", self._no_route)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -- plumbing ----------------------------------------------------------------------------

    @web.middleware
    async def _outage_and_counts(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        if "{tail" in canonical:
            canonical = request.path
        key = f"{request.method} {canonical.removeprefix(API)}"
        self.requests[key] += 1
        if self.outage is not None:
            body = f"<html><body><h1>{self.outage}</h1>GitLab is not responding</body></html>"
            return web.Response(status=self.outage, text=body, content_type="text/html")
        response = await handler(request)
        callback = self._after.pop(key, None)
        if callback is not None:
            await asyncio.to_thread(callback)
        return response

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        """Forward to the upstream provider, keeping the Host so its pages and cookies fit us."""
        assert self._session is not None
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
        )
        headers["Host"] = request.host
        try:
            async with self._session.request(
                request.method,
                f"{self.upstream}{request.path_qs}",
                headers=headers,
                data=await request.read(),
                allow_redirects=False,
            ) as upstream:
                body = await upstream.read()
                out = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                )
                return web.Response(status=upstream.status, body=body, headers=out)
        except (ClientError, TimeoutError):
            return web.Response(status=502, text="502 Bad Gateway", content_type="text/html")

    async def _no_route(self, request: web.Request) -> web.Response:
        return _json({"error": "404 Not Found"}, 404)

    def _authenticated(self, handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            caller = await self._authenticate(request)
            if isinstance(caller, web.Response):
                return caller
            wanted = {"api", "read_api"} if request.method in ("GET", "HEAD") else {"api"}
            if request.path.startswith(f"{API}/personal_access_tokens/self"):
                wanted = set(caller.scopes)  # checked by the endpoints themselves
            if not wanted & caller.scopes:
                return _insufficient_scope(" ".join(sorted(wanted)))
            return await handler(request, caller)

        return wrapper

    async def _authenticate(self, request: web.Request) -> Caller | web.Response:
        private = request.headers.get("PRIVATE-TOKEN", "").strip()
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        bearer = bearer.strip() if scheme.lower() == "bearer" else ""
        if private or bearer.startswith("glpat-"):
            return self._project_token_caller(private or bearer)
        if not bearer:
            return _json(UNAUTHORIZED, 401)
        if self.bearer_always_expired:
            return _invalid_token(EXPIRED)
        assert self._session is not None
        try:
            async with self._session.get(
                f"{self.upstream}/oauth/token/info",
                headers={"Authorization": f"Bearer {bearer}"},
            ) as answer:
                info = await answer.json(content_type=None)
                status = answer.status
        except (ClientError, TimeoutError, ValueError):
            return _message(500, "500 Internal Server Error")
        if status == 401:
            description = str(info.get("error_description", ""))
            if "expired" in description:
                return _invalid_token(EXPIRED)
            if "revoked" in description:
                return _invalid_token(REVOKED)
            return _json(UNAUTHORIZED, 401)
        if status != 200:
            return _message(500, "500 Internal Server Error")
        scopes = self.oauth_scopes if self.oauth_scopes is not None else info.get("scope", [])
        return Caller(user_id=int(info["resource_owner_id"]), scopes=frozenset(scopes))

    def _project_token_caller(self, value: str) -> Caller | web.Response:
        token = next((t for t in self.tokens.values() if t.value == value), None)
        if token is None:
            return _json(UNAUTHORIZED, 401)
        if token.revoked:
            return _invalid_token(REVOKED)
        if token.expires_at <= self.date():
            return _invalid_token(EXPIRED)
        token.last_used_at = _now_iso()
        return Caller(user_id=token.user_id, scopes=frozenset(token.scopes), bot=token)

    def _find_project(self, request: web.Request, caller: Caller) -> FakeProject | None:
        """The project named by ``:id`` if the caller can see it (GitLab: 404 otherwise)."""
        ref = request.match_info["id"]
        if ref.isdigit():
            project = self.projects.get(int(ref))
        else:
            wanted = ref.casefold()
            project = next((p for p in self.projects.values() if p.path.casefold() == wanted), None)
        if project is None:
            return None
        if project.public or self._level(project, caller) is not None:
            return project
        return None

    def _level(self, project: FakeProject, caller: Caller) -> int | None:
        if caller.bot is not None:
            return caller.bot.access_level if caller.bot.project_id == project.id else None
        return project.access_level

    def _paginated(self, request: web.Request, items: list[Any]) -> web.Response:
        """GitLab's offset pagination: ``page``/``per_page`` (20 by default, 100 at most)."""
        try:
            page = max(1, int(request.query.get("page", "1")))
            per_page = min(100, max(1, int(request.query.get("per_page", "20"))))
        except ValueError:
            return _json({"error": "page is invalid"}, 400)
        total_pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1)):
            if rel == "first" or 1 <= number <= total_pages:
                url = request.url.update_query(page=str(number), per_page=str(per_page))
                links.append(f'<{url}>; rel="{rel}"')
        last = request.url.update_query(page=str(total_pages), per_page=str(per_page))
        links.append(f'<{last}>; rel="last"')
        headers["Link"] = ", ".join(links)
        return _json(chunk, headers=headers)

    # -- endpoints ---------------------------------------------------------------------------

    async def _token_self(self, request: web.Request, caller: Caller) -> web.Response:
        if caller.bot is None:
            return _bad_request("This endpoint requires token type to be a personal access token")
        return _json(_personal(caller.bot.entity(self.date())))

    async def _token_self_rotate(self, request: web.Request, caller: Caller) -> web.Response:
        if caller.bot is None:
            return _message(405, "405 Method Not Allowed")
        if not {"api", "self_rotate"} & caller.scopes:
            return _insufficient_scope("api self_rotate")
        body = await _body(request)
        try:
            expires = body.get("expires_at")
            expires_at = date.fromisoformat(expires) if expires else self.date() + timedelta(7)
        except (TypeError, ValueError):
            return _json({"error": "expires_at is invalid"}, 400)
        new = self._rotate(caller.bot, expires_at)
        return _json(_personal(new.entity(self.date(), with_token=True)))

    async def _project(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        level = self._level(project, caller)
        namespace, _, name = project.path.rpartition("/")
        return _json(
            {
                "id": project.id,
                "description": None,
                "name": name,
                "name_with_namespace": project.path.replace("/", " / "),
                "path": name,
                "path_with_namespace": project.path,
                "created_at": "2024-01-01T00:00:00.000Z",
                "default_branch": project.default_branch,
                "visibility": "public" if project.public else "private",
                "ssh_url_to_repo": f"git@{urlsplit(self.url).hostname}:{project.path}.git",
                "http_url_to_repo": f"{self.url}/{project.path}.git",
                "web_url": f"{self.url}/{project.path}",
                "namespace": {"full_path": namespace, "path": namespace.rsplit("/", 1)[-1]},
                "empty_repo": project.default_branch is None,
                "archived": False,
                "permissions": {
                    "project_access": (
                        {"access_level": level, "notification_level": 3} if level else None
                    ),
                    "group_access": None,
                },
            }
        )

    async def _member(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        user_id = request.match_info["user_id"]
        if caller.bot is not None and user_id == str(caller.bot.user_id):
            level, username = caller.bot.access_level, f"project_{project.id}_bot"
        elif project.access_level and caller.bot is None and user_id == str(caller.user_id):
            level, username = project.access_level, self.provider.username
        else:
            return _message(404, "404 Not found")
        return _json(
            {
                "id": int(user_id),
                "username": username,
                "name": username,
                "state": "active",
                "access_level": level,
                "created_at": "2024-01-01T00:00:00.000Z",
                "expires_at": None,
                "web_url": f"{self.url}/{username}",
                "membership_state": "active",
            }
        )

    async def _tree(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        ref = request.query.get("ref") or project.default_branch
        if ref is None or ref not in {project.default_branch, *project.branches}:
            return _message(404, "404 Tree Not Found")
        base = request.query.get("path", "").strip("/")
        prefix = f"{base}/" if base else ""
        children: dict[str, str] = {}
        for path in sorted(project.files):
            if path.startswith(prefix):
                head, _, rest = path[len(prefix) :].partition("/")
                children.setdefault(head, "tree" if rest else "blob")
        if not children:
            return _message(404, "404 Tree Not Found")
        items = [
            {
                "id": hashlib.sha1(f"{prefix}{name}".encode()).hexdigest(),  # noqa: S324
                "name": name,
                "type": kind,
                "path": f"{prefix}{name}",
                "mode": "040000" if kind == "tree" else "100644",
            }
            for name, kind in children.items()
        ]
        return self._paginated(request, items)

    # hooks: `authorize_admin_project` → 403 {"message": "403 Forbidden"} below Maintainer

    def _hook_project(self, request: web.Request, caller: Caller) -> FakeProject | web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        if (self._level(project, caller) or 0) < 40:
            return _message(403, "403 Forbidden")
        return project

    def _hook_entity(self, project: FakeProject, hook: dict[str, Any]) -> dict[str, Any]:
        entity = {k: v for k, v in hook.items() if k not in ("token", "signing_token")}
        if self.signed_webhooks:  # never the tokens themselves, only whether there is one
            entity["token_present"] = bool(hook.get("token"))
            entity["signing_token_present"] = bool(hook.get("signing_token"))
        return entity | {"project_id": project.id}

    def _signing_token_error(self, body: dict[str, Any]) -> web.Response | None:
        """GitLab validates a signing token (whsec_ + base64 of a 32-byte key) when it takes one,
        and ignores the field entirely without the feature."""
        if not self.signed_webhooks:
            body.pop("signing_token", None)
            return None
        token = body.get("signing_token")
        if token is None:
            return None
        try:
            key = base64.b64decode(str(token).removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not str(token).startswith("whsec_") or len(key) != 32:
            return _json({"message": {"signing_token": ["is not a valid signing token"]}}, 400)
        return None

    async def _hooks(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._hook_project(request, caller)
        if isinstance(project, web.Response):
            return project
        return self._paginated(
            request, [self._hook_entity(project, h) for h in project.hooks.values()]
        )

    def _hook_url_error(self, url: Any) -> web.Response | None:
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _json({"error": "Invalid url given"}, 422)
        if self.block_local_webhooks and parts.hostname in ("127.0.0.1", "localhost", "::1"):
            return _json({"error": "Invalid url given"}, 422)
        return None

    async def _hook_create(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._hook_project(request, caller)
        if isinstance(project, web.Response):
            return project
        body = await _body(request)
        if not body.get("url"):
            return _json({"error": "url is missing"}, 400)
        if error := self._hook_url_error(body["url"]) or self._signing_token_error(body):
            return error
        hook: dict[str, Any] = {
            "id": next(self._ids),
            "url": body["url"],
            "name": body.get("name"),
            "description": body.get("description"),
            "created_at": _now_iso(),
            "push_events": True,  # GitLab's default for a new hook
            **{event: False for event in HOOK_EVENTS if event != "push_events"},
            "repository_update_events": False,
            "enable_ssl_verification": True,
            "alert_status": "executable",
            "disabled_until": None,
            "url_variables": [],
            "push_events_branch_filter": None,
            "branch_filter_strategy": "wildcard",
            "custom_webhook_template": None,
            "custom_headers": [],
        }
        _apply_hook_settings(hook, body)
        project.hooks[hook["id"]] = hook
        return _json(self._hook_entity(project, hook), 201)

    async def _hook_get(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._hook_project(request, caller)
        if isinstance(project, web.Response):
            return project
        hook = project.hooks.get(_int(request.match_info["hook_id"]))
        if hook is None:
            return _message(404, "404 Not found")
        return _json(self._hook_entity(project, hook))

    async def _hook_update(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._hook_project(request, caller)
        if isinstance(project, web.Response):
            return project
        hook = project.hooks.get(_int(request.match_info["hook_id"]))
        if hook is None:
            return _message(404, "404 Not found")
        body = await _body(request)
        if not body:
            return _json({"error": "No parameters provided"}, 400)
        if "url" in body and (error := self._hook_url_error(body["url"])):
            return error
        if error := self._signing_token_error(body):
            return error
        _apply_hook_settings(hook, body)
        return _json(self._hook_entity(project, hook))

    async def _hook_delete(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._hook_project(request, caller)
        if isinstance(project, web.Response):
            return project
        if project.hooks.pop(_int(request.match_info["hook_id"]), None) is None:
            return _message(404, "404 Not found")
        return web.Response(status=204)

    # project access tokens (lib/api/resource_access_tokens.rb)

    def _can_read_tokens(self, project: FakeProject, caller: Caller) -> bool:
        return caller.bot is None and (self._level(project, caller) or 0) >= 40

    def _can_create_tokens(self, project: FakeProject, caller: Caller) -> bool:
        return self._can_read_tokens(project, caller) and project.project_tokens

    def _project_token(self, project: FakeProject, token_id: str) -> FakeToken | None:
        token = self.tokens.get(_int(token_id))
        return token if token is not None and token.project_id == project.id else None

    async def _tokens_list(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        if not self._can_read_tokens(project, caller):
            return _json(UNAUTHORIZED, 401)
        today = self.date()
        tokens = [t.entity(today) for t in self.tokens.values() if t.project_id == project.id]
        state = request.query.get("state")
        if state in ("active", "inactive"):
            tokens = [t for t in tokens if t["active"] == (state == "active")]
        return self._paginated(request, tokens)

    async def _token_get(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        if not self._can_read_tokens(project, caller):
            return _json(UNAUTHORIZED, 401)
        token = self._project_token(project, request.match_info["token_id"])
        if token is None:
            return _message(404, "404 project Access Token Not Found")
        return _json(token.entity(self.date()))

    async def _token_create(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        body = await _body(request)
        missing = [key for key in ("name", "scopes") if not body.get(key)]
        if missing:
            return _json({"error": ", ".join(f"{key} is missing" for key in missing)}, 400)
        scopes = body["scopes"] if isinstance(body["scopes"], list) else [body["scopes"]]
        if not set(scopes) <= BOT_SCOPES:
            return _json({"error": "scopes does not have a valid value"}, 400)
        level = body.get("access_level", 40)
        if level not in ACCESS_LEVELS:
            return _json({"error": "access_level does not have a valid value"}, 400)
        try:
            expires = body.get("expires_at")
            expires_at = date.fromisoformat(expires) if expires else self.date() + timedelta(365)
        except (TypeError, ValueError):
            return _json({"error": "expires_at is invalid"}, 400)
        if not self._can_create_tokens(project, caller):
            return _bad_request("User does not have permission to create project access token")
        if level > (self._level(project, caller) or 0):
            return _bad_request(
                "Access level of the token contains permissions not held by the creating user"
            )
        token = self._mint(project, str(body["name"]), scopes, level, expires_at)
        return _json(token.entity(self.date(), with_token=True), 201)

    async def _token_rotate(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        token = self._project_token(project, request.match_info["token_id"])
        if token is None or not self._can_create_tokens(project, caller):
            return _json(UNAUTHORIZED, 401)  # non-admins are not told whether the token exists
        body = await _body(request)
        try:
            expires = body.get("expires_at")
            expires_at = date.fromisoformat(expires) if expires else self.date() + timedelta(7)
        except (TypeError, ValueError):
            return _json({"error": "expires_at is invalid"}, 400)
        if token.revoked:
            # Reusing a revoked token revokes its whole family (every token of that bot user).
            for other in self.tokens.values():
                if other.user_id == token.user_id:
                    other.revoked = True
            return _bad_request("Token already revoked")
        return _json(self._rotate(token, expires_at).entity(self.date(), with_token=True))

    async def _token_revoke(self, request: web.Request, caller: Caller) -> web.Response:
        project = self._find_project(request, caller)
        if project is None:
            return _json(PROJECT_NOT_FOUND, 404)
        token = self._project_token(project, request.match_info["token_id"])
        if token is None:
            return _message(404, "404 project Access Token Not Found")
        if not self._can_read_tokens(project, caller):
            return _bad_request(f"{self.provider.username} cannot delete {token.name}")
        token.revoked = True
        return web.Response(status=204)

    def _rotate(self, token: FakeToken, expires_at: date) -> FakeToken:
        """Revoke `token` and issue its successor: same bot user, name, scopes and role."""
        token.revoked = True
        project = self.projects[token.project_id]
        return self._mint(
            project, token.name, token.scopes, token.access_level, expires_at, token.user_id
        )

    def _mint(
        self,
        project: FakeProject,
        name: str,
        scopes: list[str],
        access_level: int,
        expires_at: date,
        user_id: int | None = None,
    ) -> FakeToken:
        token = FakeToken(
            id=next(self._ids),
            project_id=project.id,
            user_id=user_id if user_id is not None else 10_000 + next(self._ids),
            name=name,
            scopes=list(scopes),
            access_level=access_level,
            expires_at=expires_at,
            value=f"glpat-{secrets.token_urlsafe(15)}",
        )
        self.tokens[token.id] = token
        return token


def _int(value: str) -> int:
    return int(value) if value.isdigit() else -1


def _apply_hook_settings(hook: dict[str, Any], body: dict[str, Any]) -> None:
    for key in (*HOOK_EVENTS, "enable_ssl_verification"):
        if key in body:
            value = body[key]
            hook[key] = value if isinstance(value, bool) else str(value).lower() == "true"
    kept = ("url", "token", "signing_token", "name", "description", "push_events_branch_filter")
    for key in kept:
        if key in body:
            hook[key] = body[key]


@contextmanager
def start_fake_gitlab(provider: DotProvider) -> Iterator[FakeGitLab]:
    fake = FakeGitLab(provider).start()
    try:
        yield fake
    finally:
        fake.stop()


# -- tokens at the provider ----------------------------------------------------------------


def expire_at_provider(provider: DotProvider, access_token: str) -> None:
    """Make the provider consider `access_token` expired now (its refresh token stays valid).

    Writes DOT's database directly: what a token's age would do in two hours, without waiting.
    """
    database = provider.log_path.parent / "dot.sqlite3"
    checksum = hashlib.sha256(access_token.encode()).hexdigest()
    with sqlite3.connect(database, timeout=20) as db:
        changed = db.execute(
            "UPDATE oauth2_provider_accesstoken SET expires = ? WHERE token_checksum = ?",
            ("2000-01-01 00:00:00", checksum),
        ).rowcount
    db.close()
    assert changed == 1, "the provider does not know this access token"


def revoke_at_provider(gitlab: FakeGitLab, session: Session) -> None:
    """Revoke the session's access token at the provider (``POST /oauth/revoke``), as a user
    revoking the application in GitLab's settings would."""
    app = session.repo.gitlab
    data = {"token": session.tokens().access_token, "client_id": app.client_id}
    if app.client_secret:
        data["client_secret"] = app.client_secret
    httpx.post(f"{gitlab.url}/oauth/revoke", data=data, timeout=10, trust_env=False)


# -- a logged-in repository, without a browser -------------------------------------------------


@dataclass
class Session:
    """A repository logged in to the fake with real provider tokens, and its store."""

    repo: Repository
    store: TokenStore
    clock: Clock

    def api(self) -> GitLabApi:
        return repository_api(self.repo, self.store, self.clock)

    def tokens(self) -> TokenSet:
        return live_tokens(self.repo, self.store.get(self.repo.name))


async def login(
    gitlab: FakeGitLab,
    data_dir: Path,
    *,
    name: str = "demo",
    project: str = "group/sub/project",
    confidential: bool = True,
    scopes: tuple[str, ...] = ("api",),
    clock: Clock | None = None,
) -> Session:
    """Log in through pac-tui's own browser login, with a scripted 'browser' (httpx) that signs
    in and presses Authorize on the provider's pages: real tokens in ~0.1 s, no Chromium.

    (The DOT provider only offers the authorization-code grant, so there is no password grant to
    take a shortcut through.)
    """
    provider = gitlab.provider
    oauth_app = provider.confidential if confidential else provider.public
    app = GitLabApp(
        key="default",
        url=gitlab.url,
        client_id=oauth_app.client_id,
        client_secret=oauth_app.client_secret,
        scopes=scopes,
    )
    repo = Repository(name=name, project=project, gitlab=app)
    store = TokenStore(data_dir)
    clock = clock or SystemClock()
    errors: list[BaseException] = []

    def browser(url: str) -> None:
        try:
            _authorize(url, provider.username, provider.password)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    try:
        await oauth_login(
            repo, store, clock, on_authorize_url=_ignore, open_browser=browser, wait_seconds=60
        )
    finally:
        if errors:
            raise errors[0]
    return Session(repo=repo, store=store, clock=clock)


def _ignore(url: str) -> None:
    pass


def _authorize(url: str, username: str, password: str) -> None:
    """What a person does in the browser: sign in if asked, then press Authorize."""
    with httpx.Client(timeout=10, trust_env=False, follow_redirects=False) as browser:
        page = browser.get(url)
        if page.status_code == 302 and "/users/sign_in" in page.headers["location"]:
            sign_in = urljoin(url, page.headers["location"])
            browser.get(sign_in)  # sets the CSRF cookie
            done = browser.post(
                sign_in,
                data={"username": username, "password": password},
                headers={"X-CSRFToken": browser.cookies["csrftoken"]},
            )
            assert done.status_code == 302, f"sign-in failed: HTTP {done.status_code}"
            page = browser.get(urljoin(sign_in, done.headers["location"]))
        assert page.status_code == 200, f"no consent page: HTTP {page.status_code}"
        # The consent form's hidden fields repeat the authorization request's parameters.
        form = dict(parse_qsl(urlsplit(url).query))
        form["allow"] = "true"
        answer = browser.post(url, data=form, headers={"X-CSRFToken": browser.cookies["csrftoken"]})
        assert answer.status_code == 302, f"consent failed: HTTP {answer.status_code}"
        browser.get(answer.headers["location"])  # lands on pac-tui's loopback callback
