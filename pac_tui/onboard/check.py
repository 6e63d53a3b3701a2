"""`pac-tui check`: is a repository ready for Pipelines-as-Code? One line per question, ✔ or ✖,
and for each ✖ the command or step that fixes it.

The GitLab side (token → project → .tekton/ and hooks) and the cluster side (Repository resource
→ Secrets) run concurrently; inside each side, what does not depend on an earlier answer runs
concurrently too. A side that fails (GitLab down, cluster unreachable, RBAC refusal) turns its own
lines ✖ with the reason; it never raises, so the other lines still show.

Where the controller URL comes from (for the hook line): the caller's, else the annotation
`pac-tui.dev/controller-url` that `pac-tui onboard` records on the Repository resource, else the
config's `[webhook] relay`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.gitlab.hook_events import hook_states, reenable_fix
from pac_tui.gitlab.hooks import find_hook
from pac_tui.gitlab.projects import (
    DEVELOPER,
    MAINTAINER,
    TEKTON_DIR,
    Project,
    current_user,
    get_project,
    role_name,
    tekton_files,
)
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.oauth.token_source import repository_api
from pac_tui.onboard.gateway_check import (
    GATEWAY,
    GatewayProbe,
    gateway_line,
    wants_gateway_line,
)
from pac_tui.onboard.vocabulary import (
    CONTROLLER_ANNOTATION,
    hook_problems,
    project_url,
)
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.kube.cluster import ClusterSource

TOKEN, PROJECT, TEKTON, STATUS, HOOK, SECRET, RESOURCE = (
    "Token",
    "Project",
    ".tekton/",
    "Commit status",
    "Webhook",
    "Secret",
    "Repository",
)
ORDER = (TOKEN, PROJECT, TEKTON, STATUS, HOOK, SECRET, RESOURCE)
ROTATION = "Rotation"  # who rotates the token in the Secret (bound repositories)


def order_for(repo: Repository) -> tuple[str, ...]:
    """The lines `run_checks` gives for `repo`: `ORDER`, the Gateway line in oauth mode, and the
    Rotation line when it is bound."""
    names = (*ORDER, GATEWAY) if wants_gateway_line(repo) else ORDER
    return (*names, ROTATION) if repo.kubernetes is not None else names


@dataclass(frozen=True)
class Check:
    """One readiness line. `fix` says what to do when `ok` is False (empty when it is True)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def all_ok(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)


async def run_checks(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource | None,
    *,
    controller_url: str | None = None,
    relay_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    """Every readiness line for `repo`, in `order_for(repo)`.

    `clusters` may be None for a repository that is not bound: the dashboard's check of an
    unbound repository never imports kubernetes (this module imports it only to read a cluster).
    """
    cluster_side = asyncio.create_task(_cluster_side(repo, clusters))

    async def controller() -> str | None:
        if controller_url:
            return controller_url
        side = await cluster_side
        return side.controller_url or relay_url

    adopt = None
    if clusters is not None and repo.kubernetes is not None:
        from pac_tui.kube.sync_grant import grant_adopter  # imports kubernetes

        adopt = grant_adopter(repo, store, clock, clusters)
    gitlab_lines = await _gitlab_side(repo, store, clock, controller, transport, adopt)
    cluster_lines = (await cluster_side).checks
    lines = {check.name: check for check in [*gitlab_lines, *cluster_lines]}
    return [lines[name] for name in order_for(repo)]


# ---- GitLab -----------------------------------------------------------------------------------


def _onboard_fix(repo: Repository) -> str:
    binding = repo.kubernetes
    if binding is None:
        return f"run: pac-tui onboard {repo.name} --namespace NS --controller-url URL"
    return f"run: pac-tui onboard {repo.name}"


def _skipped(names: tuple[str, ...], why: str) -> list[Check]:
    return [Check(name, False, f"not checked: {why}", "fix the line above first") for name in names]


async def _gitlab_side(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    controller: Any,
    transport: httpx.AsyncBaseTransport | None,
    adopt: Any = None,
) -> list[Check]:
    later = (PROJECT, TEKTON, STATUS, HOOK)
    try:
        live_tokens(repo, store.get(repo.name))
    except NeedsLogin as exc:
        if adopt is None or not await adopt():  # the cluster's newer grant, if bound in oauth
            return [Check(TOKEN, False, str(exc), login_hint(repo)), *_skipped(later, "no token")]
    async with repository_api(repo, store, clock, transport=transport, adopt=adopt) as api:
        token = await _token_line(api, repo)
        if not token.ok:
            return [token, *_skipped(later, "the token does not work")]
        try:
            project = await get_project(api, repo.project)
        except PacTuiError as exc:
            line = Check(PROJECT, False, str(exc), _fix_for(exc, repo))
            return [token, line, *_skipped((TEKTON, STATUS, HOOK), "project not reachable")]
        role = role_name(project.access_level)
        project_line = Check(
            PROJECT, True, f"{project.path_with_namespace} reachable; your role: {role}"
        )
        tekton, hook = await asyncio.gather(
            _tekton_line(api, repo, project), _hook_line(api, repo, project, controller)
        )
        return [token, project_line, tekton, _status_line(project), hook]


def _fix_for(exc: PacTuiError, repo: Repository) -> str:
    """What to do about a GitLab failure, by its kind."""
    if isinstance(exc, NeedsLogin):
        return login_hint(repo)
    if isinstance(exc, GitLabApiError):
        if exc.error == "insufficient_scope":
            return f'put "api" in the scopes of [gitlab.{repo.gitlab.key}], then {login_hint(repo)}'
        if exc.status == 401:
            return login_hint(repo)
        if exc.status == 404:
            return "check the project path in the config, or ask for access to the project"
        if exc.status == 403:
            return "ask a Maintainer of the project for a higher role"
    return "try again when GitLab answers"


async def _token_line(api: GitLabApi, repo: Repository) -> Check:
    try:
        user = await current_user(api)
    except PacTuiError as exc:
        return Check(TOKEN, False, str(exc), _fix_for(exc, repo))
    return Check(TOKEN, True, f"OAuth token valid (signed in as {user.username})")


async def _tekton_line(api: GitLabApi, repo: Repository, project: Project) -> Check:
    fix = f"add a PipelineRun under {TEKTON_DIR}/ (tkn pac generate writes one)"
    if project.default_branch is None:
        return Check(TEKTON, False, "the repository is empty (no default branch)", fix)
    try:
        files = await tekton_files(api, project.path_with_namespace, project.default_branch)
    except PacTuiError as exc:
        return Check(TEKTON, False, str(exc), _fix_for(exc, repo))
    where = f"on {project.default_branch}"
    if not files:
        return Check(TEKTON, False, f"no {TEKTON_DIR}/*.yaml {where}", fix)
    count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    return Check(TEKTON, True, f"{TEKTON_DIR}/ present {where}: {count}")


def _status_line(project: Project) -> Check:
    role = role_name(project.access_level)
    if (project.access_level or 0) >= DEVELOPER:
        return Check(STATUS, True, f"allowed: your role {role} can set commit statuses")
    return Check(
        STATUS,
        False,
        f"your role {role} cannot set commit statuses (Developer or higher needed)",
        "ask a Maintainer of the project for the Developer role",
    )


async def _hook_line(api: GitLabApi, repo: Repository, project: Project, controller: Any) -> Check:
    fix = _onboard_fix(repo)
    try:
        states = await hook_states(api, project.path_with_namespace)
    except GitLabApiError as exc:
        if exc.status == 403:
            role = role_name(project.access_level)
            return Check(
                HOOK,
                False,
                f"cannot list the project's webhooks: your role is {role}, "
                f"{role_name(MAINTAINER)} needed",
                "ask a Maintainer to run pac-tui onboard, or for the Maintainer role",
            )
        return Check(HOOK, False, str(exc), _fix_for(exc, repo))
    except PacTuiError as exc:
        return Check(HOOK, False, str(exc), _fix_for(exc, repo))
    hooks = [state.hook for state in states]
    url = await controller()
    if not url:
        return Check(
            HOOK,
            False,
            f"the PAC controller's URL is unknown ({len(hooks)} hook(s) on the project)",
            f"run: pac-tui onboard {repo.name} --controller-url URL",
        )
    hook = find_hook(hooks, url)
    if hook is None:
        return Check(HOOK, False, f"no webhook posts to {url}", fix)
    problems = hook_problems(hook)
    disabled = next(s.disabled_text() for s in states if s.hook.id == hook.id)
    if disabled:
        return Check(
            HOOK,
            False,
            f"hook #{hook.id} → {url}: {disabled}",
            reenable_fix(repo.name),
        )
    if problems:
        return Check(HOOK, False, f"hook #{hook.id} → {url}: {', '.join(problems)}", fix)
    return Check(HOOK, True, f"hook #{hook.id} → {url}: push, tag push, merge request, note")


# ---- the cluster ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ClusterSide:
    checks: list[Check]
    controller_url: str | None = None
    probe: GatewayProbe | None = None


async def _cluster_side(repo: Repository, clusters: ClusterSource | None) -> _ClusterSide:
    binding = repo.kubernetes
    if binding is None or clusters is None:
        why = f"{repo.name} is not bound to a PAC Repository"
        fix = _onboard_fix(repo)
        return _ClusterSide([Check(SECRET, False, why, fix), Check(RESOURCE, False, why, fix)])
    try:
        side = await asyncio.to_thread(_read_cluster, repo, clusters)
    except PacTuiError as exc:
        context = binding.context or "the current context"
        fix = f"check the cluster connection (kubectl --context {context} get ns)"
        names = (SECRET, RESOURCE, GATEWAY) if wants_gateway_line(repo) else (SECRET, RESOURCE)
        names += (ROTATION,)
        return _ClusterSide([Check(name, False, str(exc), fix) for name in names])
    if wants_gateway_line(repo):
        ok, detail, fix = await gateway_line(repo, side.probe)
        side.checks.append(Check(GATEWAY, ok, detail, fix))
    return side


def _read_cluster(repo: Repository, clusters: ClusterSource) -> _ClusterSide:
    """Blocking: the Repository resource, then its Secrets."""
    from pac_tui.kube.repositories import parse_repository
    from pac_tui.kube.rotation import readiness
    from pac_tui.kube.secrets import b64decode_text, read_secret
    from pac_tui.onboard.read import ClusterView, read_cluster

    binding = repo.kubernetes
    assert binding is not None
    cluster = clusters.get(binding.context)
    view: ClusterView = read_cluster(cluster, binding)
    fix = _onboard_fix(repo)
    key = binding.key
    if view.obj is None:
        missing = f"PAC Repository {key} does not exist"
        return _ClusterSide(
            [
                Check(SECRET, False, f"not checked: {missing}", fix),
                Check(RESOURCE, False, missing, fix),
                Check(ROTATION, False, f"not checked: {missing}", fix),
            ]
        )
    pac = parse_repository(view.obj)
    annotations = (view.obj.get("metadata") or {}).get("annotations") or {}
    wanted = project_url(repo)
    same = pac.project.casefold() == repo.project.casefold() and (
        pac.instance.rstrip("/").casefold() == repo.gitlab.url.casefold()
    )
    if same:
        resource = Check(RESOURCE, True, f"{key} → {pac.url}")
    else:
        resource = Check(
            RESOURCE,
            False,
            f"{key} is for {pac.url or 'no URL'}, the project is {wanted}",
            f"set spec.url of {key} to {wanted}, or bind another Repository in the config",
        )
    token_ref, webhook_ref = view.refs(binding.repository)
    problems = []
    read = {}
    for ref in dict.fromkeys((token_ref, webhook_ref)):
        stored = view.secrets.get(ref.name)
        if stored is None:
            stored = read_secret(cluster, binding.namespace, ref.name, ref.key)
        read[ref] = stored
        if stored is None:
            problems.append(f"Secret {binding.namespace}/{ref.name} does not exist")
        elif ref.key not in stored.keys:
            problems.append(f"Secret {binding.namespace}/{ref.name} has no key {ref.key}")
        elif ref == webhook_ref and not b64decode_text((stored.body.data or {}).get(ref.key)):
            problems.append(
                f"Secret {binding.namespace}/{ref.name}: {ref.key} is empty, so PAC refuses "
                "every delivery"
            )
    if pac.webhook_secret is None:
        # PAC's GitLab Validate refuses every delivery when the Repository has no webhook secret.
        problems.insert(
            0, f"{key} names no git_provider.webhook_secret, so PAC refuses every delivery"
        )
    if pac.secret is None:
        problems.insert(0, f"{key} names no git_provider.secret")
    if problems:
        if any("PAC refuses every delivery" in problem for problem in problems):
            fix += " (it makes a webhook secret, stores it in the Secret and gives it to the hook)"
        secret = Check(SECRET, False, "; ".join(dict.fromkeys(problems)), fix)
    else:
        names = " and ".join(f"{r.name}:{r.key}" for r in dict.fromkeys((token_ref, webhook_ref)))
        secret = Check(SECRET, True, f"{names} present")
    probe = None
    if binding.mode == TokenMode.OAUTH:
        held = read[token_ref]
        token = held.tokens.token if held is not None and held.tokens is not None else None
        probe = GatewayProbe(pac.provider_url, token)
    oauth = binding.mode == TokenMode.OAUTH
    rotation = Check(ROTATION, *readiness(cluster, pac, read[token_ref], oauth, repo.name))
    checks = [secret, resource, rotation]
    return _ClusterSide(checks, annotations.get(CONTROLLER_ANNOTATION), probe)
