"""Token-less onboarding: what `tkn pac create repo` does, with the operator's OAuth session
instead of a personal access token.

Three things are put in place, each reported as created / updated / unchanged:

1. the PAC `Repository` resource: `spec.url`, `git_provider.type: gitlab`, `git_provider.url` on a
   self-managed instance (anything but https://gitlab.com), the Secret references, and
   `user: oauth2` in oauth mode. The controller URL is recorded on it as the annotation
   `pac-tui.dev/controller-url`, where `pac-tui check` finds it again;
2. the Secret: the webhook secret first (kept when the Secret has one, else the config's
   `webhook_secret`, else a random one), then the provider token through `pac_tui.kube.sync`, the
   same code as `pac-tui sync`, so the two token modes live in one place;
3. the GitLab project hook posting push, tag push, merge request and note events to the controller
   URL, with the webhook secret as its token and SSL verification on.

Everything is read first (the plan), then written (apply), so a refusal that can be seen up front
(project not found, role too low for the hook) stops the run before anything is written. A
`dry_run` only reads: it returns the YAML of the Secret (values REDACTED) and of the Repository,
and the hook it would create. When GitLab or the cluster cannot be reached, a dry run still returns
them, with a warning naming what could not be checked. A dry run never refreshes the OAuth token
(that would be a write at GitLab): a token GitLab refuses becomes a warning.

Where the binding comes from: the core takes a config `Repository` whose `[repositories.kubernetes]`
binding is set. `binding_for` merges command-line values into an existing binding (or makes one),
and `save_binding` writes it into the config file after a successful run (tomlkit: comments kept).

GitLab never shows a hook's token, so a hook that exists with the right URL and events counts as
unchanged when the webhook secret was kept; it is updated (token sent again) whenever the webhook
secret is new.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from kubernetes import client

from pac_tui.clock import Clock
from pac_tui.config import (
    TOKEN_MODES,
    KubernetesBinding,
    Repository,
    parse_config,
    parse_kubernetes_binding,
)
from pac_tui.config_writer import set_binding
from pac_tui.errors import ConfigError, NeedsLogin, PacTuiError, UsageError
from pac_tui.gitlab.api import GitLabApi, GitLabApiError, Scheme
from pac_tui.gitlab.hooks import (
    PAC_EVENTS,
    ProjectHook,
    create_hook,
    find_hook,
    list_hooks,
    update_hook,
)
from pac_tui.gitlab.projects import MAINTAINER, Project, get_project, role_name
from pac_tui.kube.cluster import Cluster, Clusters, Conflict, NotFound
from pac_tui.kube.repositories import (
    DEFAULT_WEBHOOK_KEY,
    PAC_GROUP,
    PAC_PLURAL,
    PAC_VERSION,
    SecretRef,
    parse_repository,
    split_project_url,
)
from pac_tui.kube.secrets import (
    MANAGED_BY,
    StoredSecret,
    b64decode_text,
    b64encode_text,
    read_secret,
)
from pac_tui.kube.sync import sync
from pac_tui.oauth.grant import live_tokens, login_hint
from pac_tui.readiness import CONTROLLER_ANNOTATION, EVENT_NAMES, hook_problems, project_url
from pac_tui.stores.file_store import TokenStore

GITLAB_COM = "https://gitlab.com"
REDACTED = "REDACTED"
OAUTH_USER = "oauth2"
MAX_ATTEMPTS = 5

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
WOULD_CREATE, WOULD_UPDATE, NOT_CHECKED = "would create", "would update", "not checked"


@dataclass(frozen=True)
class Item:
    """One thing onboarding puts in place, and what it did (or would do) to it."""

    kind: str  # Repository, Secret, Hook
    name: str  # namespace/name, or the hook's URL
    action: str  # created, updated, unchanged; dry run: would create, would update, not checked
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class OnboardResult:
    repo: str
    dry_run: bool
    items: tuple[Item, ...]
    warnings: tuple[str, ...]
    repository_yaml: str
    secret_yaml: str  # every value REDACTED
    hook: dict[str, Any]  # the hook's settings, its token REDACTED

    @property
    def changed(self) -> bool:
        return any(item.action in (CREATED, UPDATED) for item in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "dry_run": self.dry_run,
            "items": [item.to_json() for item in self.items],
            "warnings": list(self.warnings),
            "repository_yaml": self.repository_yaml,
            "secret_yaml": self.secret_yaml,
            "hook": self.hook,
        }


# ---- the binding ------------------------------------------------------------------------------


def binding_for(
    repo: Repository,
    *,
    namespace: str | None = None,
    mode: str | None = None,
    context: str | None = None,
    repository: str | None = None,
) -> KubernetesBinding:
    """The binding onboarding uses: the config's, with any value given here taking its place.

    Without a binding in the config, `namespace` is required; the Repository resource is named
    after the config's repository unless `repository` says otherwise.
    """
    current = repo.kubernetes
    if current is None and not namespace:
        raise UsageError(
            f"{repo.name} has no [repositories.kubernetes] table yet; give --namespace (and "
            "--controller-url) to onboard it"
        )
    if mode is not None and mode not in TOKEN_MODES:
        raise UsageError(f"--mode {mode!r}: use project-token or oauth")
    base = current or KubernetesBinding(namespace=namespace or "", repository=_k8s_name(repo.name))
    binding = replace(
        base,
        namespace=namespace or base.namespace,
        repository=repository or base.repository,
        mode=mode or base.mode,
        context=context if context is not None else base.context,
    )
    # Validate the names exactly as the config loader would.
    _validated_table(binding)
    return binding


def _k8s_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-.")
    return cleaned[:63].rstrip("-") or "repository"


def _binding_table(binding: KubernetesBinding) -> dict[str, Any]:
    table: dict[str, Any] = {}
    if binding.context is not None:
        table["context"] = binding.context
    table["namespace"] = binding.namespace
    table["repository"] = binding.repository
    table["mode"] = binding.mode
    if binding.token_days != KubernetesBinding.token_days:
        table["token_days"] = binding.token_days
    return table


def _validated_table(binding: KubernetesBinding) -> dict[str, Any]:
    table = _binding_table(binding)
    try:
        parse_kubernetes_binding(table, "kubernetes")
    except ConfigError as exc:
        raise UsageError(f"{exc.key}: {exc.problem}") from None
    return table


def save_binding(path: Path, repo_name: str, binding: KubernetesBinding) -> bool:
    """Write `binding` as the `[repositories.kubernetes]` table of `repo_name` in the config file.

    Returns False when the file already says exactly that (nothing is written). Comments and the
    rest of the file are kept (tomlkit); the result is validated before it replaces the file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the config {path} to record the binding: {exc}") from None
    config = parse_config(text, path)
    current = config.repository(repo_name)
    if current.kubernetes == binding:
        return False
    set_binding(path, repo_name, _validated_table(binding))
    return True


# ---- what is wanted ---------------------------------------------------------------------------


def check_controller_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"controller URL {url!r} is not an http(s) URL")
    if parts.username or parts.password or parts.fragment:
        raise UsageError("the controller URL must not carry user info or a fragment")
    return url.strip()


def wanted_spec(
    repo: Repository, mode: str, token_ref: SecretRef, webhook_ref: SecretRef
) -> dict[str, Any]:
    provider: dict[str, Any] = {"type": "gitlab"}
    if repo.gitlab.url.rstrip("/") != GITLAB_COM:
        provider["url"] = repo.gitlab.url
    if mode == "oauth":
        provider["user"] = OAUTH_USER
    provider["secret"] = {"name": token_ref.name, "key": token_ref.key}
    provider["webhook_secret"] = {"name": webhook_ref.name, "key": webhook_ref.key}
    return {"url": project_url(repo), "git_provider": provider}


def hook_settings(controller_url: str) -> dict[str, Any]:
    """The hook as it is sent to GitLab, its token REDACTED."""
    return {
        "url": controller_url,
        **{event: True for event in PAC_EVENTS},
        "enable_ssl_verification": True,
        "token": REDACTED,
    }


# ---- reading ----------------------------------------------------------------------------------


@dataclass
class ClusterView:
    """What the cluster holds for the binding (None everywhere when it could not be read)."""

    obj: dict[str, Any] | None = None  # the Repository resource as the API returns it
    secrets: dict[str, StoredSecret | None] = field(default_factory=dict)  # by Secret name
    error: PacTuiError | None = None

    def refs(self, name: str) -> tuple[SecretRef, SecretRef]:
        """(token, webhook) Secret references: the resource's own, else pac-tui's defaults."""
        pac = parse_repository(self.obj) if self.obj else None
        token = (pac.secret if pac else None) or SecretRef(f"{name}-gitlab", "provider.token")
        webhook = (pac.webhook_secret if pac else None) or SecretRef(
            token.name, DEFAULT_WEBHOOK_KEY
        )
        return token, webhook

    def value(self, ref: SecretRef) -> str | None:
        stored = self.secrets.get(ref.name)
        if stored is None:
            return None
        return b64decode_text((stored.body.data or {}).get(ref.key))


def read_cluster(cluster: Cluster, binding: KubernetesBinding) -> ClusterView:
    """Blocking: the Repository resource and the Secrets it names (or would name)."""
    view = ClusterView(obj=read_repository_object(cluster, binding.namespace, binding.repository))
    for ref in view.refs(binding.repository):
        if ref.name not in view.secrets:
            view.secrets[ref.name] = read_secret(cluster, binding.namespace, ref.name, ref.key)
    return view


def read_repository_object(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return cluster.call(
            f"read PAC Repository {namespace}/{name}",
            cluster.custom.get_namespaced_custom_object,
            PAC_GROUP,
            PAC_VERSION,
            namespace,
            PAC_PLURAL,
            name,
        )
    except NotFound as exc:
        if _crd_missing(str(exc)):
            raise PacTuiError(
                f"Pipelines-as-Code is not installed in context {cluster.context}: the "
                f"{PAC_PLURAL}.{PAC_GROUP} resource type does not exist. Install PAC "
                "(https://pipelinesascode.com/docs/install/) and try again"
            ) from None
        return None


def _crd_missing(message: str) -> bool:
    return "could not find the requested resource" in message


class ReadOnlyToken:
    """The stored OAuth token, never refreshed: a dry run writes nothing, not even at GitLab."""

    scheme: Scheme = "bearer"

    def __init__(self, repo: Repository, store: TokenStore) -> None:
        self.repo = repo
        self.store = store

    async def token(self) -> str:
        return live_tokens(self.repo, self.store.get(self.repo.name)).access_token

    async def refreshed(self, stale: str) -> str:
        raise NeedsLogin(
            f"{self.repo.gitlab.url} refused the stored OAuth token; a dry run does not refresh "
            f"it (run pac-tui refresh {self.repo.name}, or {login_hint(self.repo)})"
        )


@dataclass
class GitLabView:
    project: Project | None = None
    hooks: list[ProjectHook] | None = None
    error: PacTuiError | None = None


async def read_gitlab(api: GitLabApi, repo: Repository) -> GitLabView:
    """The project and its hooks; what could not be read is None, with the error."""
    view = GitLabView()
    try:
        view.project = await get_project(api, repo.project)
        view.hooks = await list_hooks(api, repo.project)
    except GitLabApiError as exc:
        if exc.status == 403 and exc.error is None and view.project is not None:
            role = role_name(view.project.access_level)
            exc = GitLabApiError(
                f"managing the webhooks of {repo.project} needs the Maintainer role (yours: "
                f"{role}); ask a Maintainer to run the onboarding, or for the role",
                status=403,
                message=exc.message,
            )
        view.error = exc
    except PacTuiError as exc:
        view.error = exc
    return view


# ---- plan and apply ---------------------------------------------------------------------------


async def onboard(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: Clusters,
    *,
    controller_url: str | None,
    dry_run: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OnboardResult:
    """Onboard `repo` (its `kubernetes` binding set; see `binding_for`). See the module docstring.

    `controller_url` may be None when the Repository resource already records one.
    `transport` is for tests (the GitLab calls of the hook and the checks).
    """
    if repo.kubernetes is None:
        raise UsageError(f"{repo.name}: onboarding needs a binding; see binding_for")
    binding = repo.kubernetes
    if dry_run:
        api = GitLabApi(
            repo.gitlab,
            ReadOnlyToken(repo, store),
            transport=transport,
            login_hint=login_hint(repo),
        )
    else:
        api = GitLabApi.for_repository(repo, store, clock, transport=transport)
    async with api:
        view, lab = await asyncio.gather(_read_cluster(clusters, binding), read_gitlab(api, repo))
        warnings: list[str] = []
        if lab.project is not None and binding.mode == "project-token":
            refusal = _maintainer_needed(repo, lab.project)
            if refusal and not dry_run:
                raise PacTuiError(refusal)
            warnings += [refusal] if refusal else []
        if view.error is not None:
            if not dry_run:
                raise view.error
            warnings.append(f"could not check the cluster ({view.error}); shown as if empty")
        if lab.error is not None:
            if not dry_run:
                raise lab.error
            warnings.append(f"could not check GitLab ({lab.error}); the hook is shown as new")

        recorded = ((view.obj or {}).get("metadata") or {}).get("annotations") or {}
        url = controller_url or recorded.get(CONTROLLER_ANNOTATION)
        if not url:
            raise UsageError(
                f"{repo.name}: give the PAC controller's URL (--controller-url), where GitLab "
                "will send the events"
            )
        url = check_controller_url(url)
        token_ref, webhook_ref = view.refs(binding.repository)
        wanted = _wanted_object(repo, binding, view.obj, token_ref, webhook_ref, url)

        held_webhook = view.value(webhook_ref)
        webhook = held_webhook or repo.webhook_secret or secrets.token_urlsafe(32)
        yamls = (_dump(_shown(wanted)), _secret_yaml(binding, token_ref, webhook_ref))
        if dry_run:
            items = _planned_items(repo, binding, view, lab, wanted, url, token_ref, webhook_ref)
            return OnboardResult(
                repo.name, True, items, tuple(warnings), *yamls, hook_settings(url)
            )

        cluster = await asyncio.to_thread(clusters.get, binding.context)
        resource = await asyncio.to_thread(
            _apply_repository,
            cluster,
            binding,
            view.obj,
            lambda current: _wanted_object(repo, binding, current, token_ref, webhook_ref, url),
        )
        secret = await _apply_secret(
            repo, store, clock, clusters, cluster, view, token_ref, webhook_ref, webhook
        )
        hook = await _apply_hook(api, repo, lab, url, webhook, renew=held_webhook is None)
        return OnboardResult(
            repo.name, False, (resource, secret, hook), tuple(warnings), *yamls, hook_settings(url)
        )


async def _read_cluster(clusters: Clusters, binding: KubernetesBinding) -> ClusterView:
    try:
        cluster = await asyncio.to_thread(clusters.get, binding.context)
        return await asyncio.to_thread(read_cluster, cluster, binding)
    except PacTuiError as exc:
        return ClusterView(error=exc)


def _maintainer_needed(repo: Repository, project: Project) -> str | None:
    if (project.access_level or 0) < MAINTAINER:
        return (
            f"{repo.name}: project-token mode mints a project access token, which needs the "
            f"Maintainer role on {project.path_with_namespace} (yours: "
            f"{role_name(project.access_level)}); ask a Maintainer, or use --mode oauth"
        )
    return None


def _wanted_object(
    repo: Repository,
    binding: KubernetesBinding,
    current: dict[str, Any] | None,
    token_ref: SecretRef,
    webhook_ref: SecretRef,
    controller_url: str,
) -> dict[str, Any]:
    """The Repository resource as it should be: the current one with pac-tui's fields set."""
    spec = wanted_spec(repo, binding.mode, token_ref, webhook_ref)
    if current is None:
        obj: dict[str, Any] = {
            "apiVersion": f"{PAC_GROUP}/{PAC_VERSION}",
            "kind": "Repository",
            "metadata": {
                "name": binding.repository,
                "namespace": binding.namespace,
                "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
                "annotations": {CONTROLLER_ANNOTATION: controller_url},
            },
            "spec": spec,
        }
        return obj
    pac = parse_repository(current)
    if pac.url and not _same_project(pac.url, pac.instance, repo):
        raise UsageError(
            f"{repo.name}: PAC Repository {pac.key} already exists for {pac.url}, not "
            f"{project_url(repo)}; pick another name with --repository"
        )
    obj = copy.deepcopy(current)
    meta = obj.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), CONTROLLER_ANNOTATION: controller_url}
    have = obj.setdefault("spec", {})
    if not pac.url:
        have["url"] = spec["url"]
    provider = have.setdefault("git_provider", {})
    for key, value in spec["git_provider"].items():
        if key == "url" and str(provider.get("url") or "").rstrip("/") == value.rstrip("/"):
            continue
        provider[key] = value
    return obj


def _same_project(url: str, instance: str, repo: Repository) -> bool:
    if instance.rstrip("/").casefold() != repo.gitlab.url.casefold():
        base, path = split_project_url(url, repo.gitlab.url)
        return (
            base.casefold() == repo.gitlab.url.casefold()
            and path.casefold() == repo.project.casefold()
        )
    _, path = split_project_url(url, instance)
    return path.casefold() == repo.project.casefold()


def _planned_items(
    repo: Repository,
    binding: KubernetesBinding,
    view: ClusterView,
    lab: GitLabView,
    wanted: dict[str, Any],
    url: str,
    token_ref: SecretRef,
    webhook_ref: SecretRef,
) -> tuple[Item, ...]:
    ns = binding.namespace
    key = f"{ns}/{binding.repository}"
    if view.error is not None:
        resource = Item("Repository", key, NOT_CHECKED, "cluster not reachable")
        secret = Item("Secret", f"{ns}/{token_ref.name}", NOT_CHECKED, "cluster not reachable")
    else:
        resource = Item(
            "Repository",
            key,
            WOULD_CREATE if view.obj is None else UNCHANGED if wanted == view.obj else WOULD_UPDATE,
        )
        secret = _planned_secret(binding, view, token_ref, webhook_ref)
    if lab.hooks is None:
        hook = Item("Hook", url, NOT_CHECKED, "GitLab not reachable")
    else:
        found = find_hook(lab.hooks, url)
        if found is None:
            hook = Item("Hook", url, WOULD_CREATE, _events_detail())
        elif hook_problems(found) or view.value(webhook_ref) is None:
            hook = Item("Hook", url, WOULD_UPDATE, f"hook #{found.id}")
        else:
            hook = Item("Hook", url, UNCHANGED, f"hook #{found.id}")
    return resource, secret, hook


def _planned_secret(
    binding: KubernetesBinding, view: ClusterView, token_ref: SecretRef, webhook_ref: SecretRef
) -> Item:
    name = f"{binding.namespace}/{token_ref.name}"
    stored = view.secrets.get(token_ref.name)
    if stored is None:
        return Item("Secret", name, WOULD_CREATE, _token_detail(binding.mode))
    tokens = stored.tokens
    if view.value(webhook_ref) is None or tokens is None or tokens.mode != binding.mode:
        return Item("Secret", name, WOULD_UPDATE, _token_detail(binding.mode))
    return Item("Secret", name, UNCHANGED, "pac-tui sync keeps its token fresh")


def _token_detail(mode: str) -> str:
    if mode == "oauth":
        return "provider token: the OAuth access token (refreshed by pac-tui)"
    return "provider token: a project access token minted now (scope api)"


def _events_detail() -> str:
    events = ", ".join(EVENT_NAMES[e] for e in PAC_EVENTS)
    return f"{events} events; SSL verification on"


def _apply_repository(
    cluster: Cluster,
    binding: KubernetesBinding,
    current: dict[str, Any] | None,
    build: Callable[[dict[str, Any] | None], dict[str, Any]],
) -> Item:
    """Blocking: create or update the Repository resource, conditional on its resourceVersion.

    On a conflict the resource is read again and `build` decides anew from what is there.
    """
    ns, name = binding.namespace, binding.repository
    item_name = f"{ns}/{name}"
    for _ in range(MAX_ATTEMPTS):
        wanted = build(current)
        if current is not None and wanted == current:
            return Item("Repository", item_name, UNCHANGED)
        try:
            if current is None:
                cluster.call(
                    f"create PAC Repository {item_name}",
                    cluster.custom.create_namespaced_custom_object,
                    PAC_GROUP,
                    PAC_VERSION,
                    ns,
                    PAC_PLURAL,
                    wanted,
                )
                return Item("Repository", item_name, CREATED)
            cluster.call(
                f"update PAC Repository {item_name}",
                cluster.custom.replace_namespaced_custom_object,
                PAC_GROUP,
                PAC_VERSION,
                ns,
                PAC_PLURAL,
                name,
                wanted,
            )
            return Item("Repository", item_name, UPDATED)
        except Conflict:
            current = read_repository_object(cluster, ns, name)
    raise PacTuiError(f"PAC Repository {item_name} kept changing while pac-tui wrote it; try again")


async def _apply_secret(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: Clusters,
    cluster: Cluster,
    view: ClusterView,
    token_ref: SecretRef,
    webhook_ref: SecretRef,
    webhook: str,
) -> Item:
    assert repo.kubernetes is not None
    ns = repo.kubernetes.namespace
    existed = view.secrets.get(token_ref.name) is not None
    added = await asyncio.to_thread(_ensure_key, cluster, ns, webhook_ref, webhook)
    try:
        synced = await sync(repo, store, clock, clusters)
    except PacTuiError as exc:
        raise type(exc)(
            f"{exc} (the Repository resource and the webhook secret are in place; run "
            f"pac-tui onboard {repo.name} again once this is fixed)"
        ) from None
    wrote_token = synced.action not in ("unchanged", "adopted")
    what = {
        "written": "provider token written",
        "minted": "project access token minted",
        "rotated": "project access token rotated",
        "unchanged": "provider token already current",
        "adopted": "provider token already current",
    }.get(synced.action, f"provider token {synced.action}")
    detail = f"{what}; webhook secret {'generated' if added else 'kept'}"
    if synced.warnings:
        detail += "; " + "; ".join(synced.warnings)
    name = f"{ns}/{token_ref.name}"
    if not existed:
        return Item("Secret", name, CREATED, detail)
    return Item("Secret", name, UPDATED if (added or wrote_token) else UNCHANGED, detail)


def _ensure_key(cluster: Cluster, namespace: str, ref: SecretRef, value: str) -> bool:
    """Blocking: put `value` under `ref.key` unless the Secret has that key; True if written."""
    for _ in range(MAX_ATTEMPTS):
        current = read_secret(cluster, namespace, ref.name, ref.key)
        try:
            if current is None:
                body = client.V1Secret(
                    api_version="v1",
                    kind="Secret",
                    type="Opaque",
                    metadata=client.V1ObjectMeta(
                        name=ref.name, namespace=namespace, labels={MANAGED_BY[0]: MANAGED_BY[1]}
                    ),
                    data={ref.key: b64encode_text(value)},
                )
                cluster.call(
                    f"create Secret {namespace}/{ref.name}",
                    cluster.core.create_namespaced_secret,
                    namespace,
                    body,
                )
                return True
            if ref.key in current.keys:
                return False
            body = current.body
            body.data = {**(body.data or {}), ref.key: b64encode_text(value)}
            cluster.call(
                f"update Secret {namespace}/{ref.name}",
                cluster.core.replace_namespaced_secret,
                ref.name,
                namespace,
                body,
            )
            return True
        except Conflict:
            continue
    raise PacTuiError(f"Secret {namespace}/{ref.name} kept changing while pac-tui wrote it")


async def _apply_hook(
    api: GitLabApi, repo: Repository, lab: GitLabView, url: str, webhook: str, *, renew: bool
) -> Item:
    """Create the hook, or update it when it is wrong or carries an old webhook secret.

    A 409 on create means a hook for that URL appeared meanwhile: it is adopted and updated.
    """
    assert lab.project is not None and lab.hooks is not None
    project = repo.project
    found = find_hook(lab.hooks, url)
    if found is None:
        try:
            created = await create_hook(api, project, url, webhook)
            return Item("Hook", url, CREATED, f"hook #{created.id}: {_events_detail()}")
        except GitLabApiError as exc:
            if exc.status != 409:
                raise
            found = find_hook(await list_hooks(api, project), url)
            if found is None:
                raise
            renew = True
    problems = hook_problems(found)
    if not problems and not renew:
        return Item("Hook", url, UNCHANGED, f"hook #{found.id}")
    updated = await update_hook(api, project, found.id, url, webhook)
    why = ", ".join(problems) if problems else "webhook secret set"
    return Item("Hook", url, UPDATED, f"hook #{updated.id}: fixed {why}")


# ---- YAML -------------------------------------------------------------------------------------


def _secret_yaml(binding: KubernetesBinding, token_ref: SecretRef, webhook_ref: SecretRef) -> str:
    docs = []
    keys: dict[str, list[str]] = {}
    keys.setdefault(token_ref.name, []).append(token_ref.key)
    if binding.mode == "oauth":
        keys[token_ref.name].append("pac-tui.refresh-token")
    keys.setdefault(webhook_ref.name, []).append(webhook_ref.key)
    for name, names in keys.items():
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": binding.namespace,
                    "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
                },
                "type": "Opaque",
                "stringData": dict.fromkeys(names, REDACTED),
            }
        )
    return "---\n".join(_dump(doc) for doc in docs)


def _shown(obj: dict[str, Any]) -> dict[str, Any]:
    """The resource without what the server adds (uid, resourceVersion, status, …)."""
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": kept,
        "spec": obj.get("spec"),
    }


def _dump(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
