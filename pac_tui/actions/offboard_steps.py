"""The steps of `pac-tui offboard` (`actions.offboard`): what each one is, what it reads from the
plan's facts, and the work it runs. Values (tokens) stay in memory; a step's message names ids and
keys only.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.config.write import remove_repository
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import ProjectTokenRecord
from pac_tui.gitlab.api import GitLabApi
from pac_tui.gitlab.hooks import delete_hook
from pac_tui.gitlab.project_tokens import revoke as revoke_project_token
from pac_tui.kube.cluster import ClusterSource, Conflict
from pac_tui.kube.repositories import delete_repository, remove_annotations
from pac_tui.kube.secrets import REFRESH_KEY, SecretTokens
from pac_tui.kube.sync_grant import grant_adopter
from pac_tui.kube.unbind import SecretUnbind, UnbindAction, plan_unbind, unbind
from pac_tui.oauth.grant import login_hint
from pac_tui.oauth.revoke import revoke, revoke_tokens
from pac_tui.oauth.token_source import repository_api
from pac_tui.onboard.read import ClusterView, ReadOnlyToken
from pac_tui.onboard.vocabulary import CONTROLLER_ANNOTATION
from pac_tui.stores.file_store import TokenStore


class StepState(enum.StrEnum):
    PLANNED = "planned"
    DONE = "done"
    SKIPPED = "skipped"  # already absent, nothing of pac-tui's, or not asked for
    FAILED = "failed"


ALREADY_ABSENT = "already absent"
NOT_DONE = "not done: an earlier step failed"


@dataclass
class Step:
    """One thing offboarding does: what, to which target, and how it stands."""

    # hook, annotation, secret, project-token, oauth-grant, token-store, repository or config
    what: str
    target: str
    state: StepState
    message: str
    run: Callable[[], Awaitable[str]] | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, str]:
        return {
            "what": self.what,
            "target": self.target,
            "state": self.state,
            "message": self.message,
        }


@dataclass
class Facts:
    """What the plan read; values stay in memory, never in a step's message."""

    view: ClusterView
    hook_url: str | None = None
    hook_id: int | None = None
    live_token_ids: list[int] = field(default_factory=list)
    secret_grant: SecretTokens | None = None
    secret_project_token: SecretTokens | None = None  # may be newer than the record's (rotated)


def noted(exc: PacTuiError, note: str) -> PacTuiError:
    """`exc` (same type and attributes) with `note` added to its message."""
    exc.args = (f"{str(exc).rstrip('.')}; {note}", *exc.args[1:])
    return exc


def api_for(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    read_only: bool,
    transport: httpx.AsyncBaseTransport | None,
) -> GitLabApi:
    if read_only:  # a dry run never refreshes the grant (a write at GitLab)
        return GitLabApi(
            repo.gitlab,
            ReadOnlyToken(repo, store),
            transport=transport,
            login_hint=login_hint(repo),
        )
    adopt = grant_adopter(repo, store, clock, clusters)  # the in-cluster refresher's grant
    return repository_api(repo, store, clock, transport=transport, adopt=adopt)


def build_steps(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    facts: Facts,
    delete_resource: bool,
    transport: httpx.AsyncBaseTransport | None,
) -> list[Step]:
    assert repo.kubernetes is not None
    binding = repo.kubernetes
    view = facts.view
    resource = binding.key

    def api() -> GitLabApi:
        return api_for(repo, store, clock, clusters, False, transport)

    steps: list[Step] = []
    if facts.hook_url is None:
        steps.append(
            Step(
                "hook",
                repo.project,
                StepState.SKIPPED,
                "no controller URL recorded on the Repository: no hook of pac-tui's",
            )
        )
    elif facts.hook_id is None:
        steps.append(Step("hook", facts.hook_url, StepState.SKIPPED, ALREADY_ABSENT))
    else:
        hook_id = facts.hook_id

        async def remove_hook() -> str:
            async with api() as client:
                gone = await delete_hook(client, repo.project, hook_id)
            return f"deleted hook #{hook_id}" if gone else ALREADY_ABSENT

        steps.append(
            Step(
                "hook",
                facts.hook_url,
                StepState.PLANNED,
                f"delete hook #{hook_id} of {repo.project}",
                remove_hook,
            )
        )

    if facts.hook_url is None:
        steps.append(Step("annotation", resource, StepState.SKIPPED, ALREADY_ABSENT))
    else:
        version = str(((view.obj or {}).get("metadata") or {}).get("resourceVersion") or "")

        async def unannotate() -> str:
            cluster = await asyncio.to_thread(clusters.get, binding.context)
            await asyncio.to_thread(
                remove_annotations,
                cluster,
                binding.namespace,
                binding.repository,
                [CONTROLLER_ANNOTATION],
                version,
            )
            return f"removed {CONTROLLER_ANNOTATION}"

        steps.append(
            Step(
                "annotation",
                resource,
                StepState.PLANNED,
                f"remove {CONTROLLER_ANNOTATION} from the Repository",
                _conflict_says(unannotate, f"PAC Repository {resource}"),
            )
        )

    token_ref, webhook_ref = view.refs(binding.repository)
    for name in dict.fromkeys((token_ref.name, webhook_ref.name)):
        own = [token_ref.key, REFRESH_KEY] if name == token_ref.name else []
        webhook_key = webhook_ref.key if name == webhook_ref.name else None
        plan = plan_unbind(view.secrets.get(name), binding.namespace, name, own, webhook_key)
        steps.append(_secret_step(plan, clusters, binding.context))

    steps.append(_project_token_step(repo, store, facts, api))
    steps.append(_grant_step(repo, store, clock, facts))
    record = store.get(repo.name)
    if record is None:
        steps.append(Step("token-store", repo.name, StepState.SKIPPED, ALREADY_ABSENT))
    else:
        steps.append(
            Step(
                "token-store",
                repo.name,
                StepState.PLANNED,
                "forget the local record (user, sync state)",
                lambda: _forget_record(store, repo.name),
            )
        )

    if view.obj is None:
        steps.append(Step("repository", resource, StepState.SKIPPED, ALREADY_ABSENT))
    elif not delete_resource:
        steps.append(
            Step(
                "repository",
                resource,
                StepState.SKIPPED,
                "kept (--delete-repository deletes it)",
            )
        )
    else:

        async def drop() -> str:
            cluster = await asyncio.to_thread(clusters.get, binding.context)
            gone = await asyncio.to_thread(
                delete_repository, cluster, binding.namespace, binding.repository
            )
            return "deleted" if gone else ALREADY_ABSENT

        steps.append(
            Step("repository", resource, StepState.PLANNED, "delete the PAC Repository", drop)
        )
    return steps


def _secret_step(plan: SecretUnbind, clusters: ClusterSource, context: str | None) -> Step:
    if plan.action == UnbindAction.ABSENT:
        return Step("secret", plan.key, StepState.SKIPPED, plan.describe())

    async def run() -> str:
        cluster = await asyncio.to_thread(clusters.get, context)
        written = await asyncio.to_thread(unbind, cluster, plan)
        if not written:
            return ALREADY_ABSENT
        if plan.action == UnbindAction.DELETE:
            return "deleted"
        return f"removed pac-tui's label, annotations and keys; kept {', '.join(plan.kept)}"

    return Step(
        "secret", plan.key, StepState.PLANNED, plan.describe(), _conflict_says(run, plan.key)
    )


def _conflict_says(run: Callable[[], Awaitable[str]], what: str) -> Callable[[], Awaitable[str]]:
    async def checked() -> str:
        try:
            return await run()
        except Conflict:
            raise PacTuiError(
                f"{what} changed since it was read (the in-cluster refresher may have rotated "
                "the token meanwhile); nothing was removed from it"
            ) from None

    return checked


def _project_token_step(
    repo: Repository,
    store: TokenStore,
    facts: Facts,
    api: Callable[[], GitLabApi],
) -> Step:
    ids = list(facts.live_token_ids)
    if not ids:
        record = store.get(repo.name)
        if record is not None and record.project_token is not None:
            return Step(
                "project-token",
                repo.project,
                StepState.PLANNED,
                "forget the id of a project token already revoked",
                lambda: _drop_project_token(store, repo.name, "nothing left to revoke"),
            )
        return Step("project-token", repo.project, StepState.SKIPPED, ALREADY_ABSENT)
    named = ", ".join(f"#{i}" for i in ids)

    async def run() -> str:
        try:
            async with api() as client:
                for token_id in ids:
                    await revoke_project_token(client, repo.project, token_id)
        except PacTuiError as exc:
            await _keep_secret_token(store, repo.name, facts.secret_project_token, ids)
            raise noted(
                exc,
                f"project access token {named} is still valid; the local store keeps its id, so a "
                f"rerun revokes it (or revoke it in GitLab: {repo.gitlab.url}/{repo.project}"
                "/-/settings/access_tokens)",
            ) from None
        return await _drop_project_token(store, repo.name, f"revoked project access token {named}")

    return Step(
        "project-token",
        repo.project,
        StepState.PLANNED,
        f"revoke project access token {named}",
        run,
    )


async def _keep_secret_token(
    store: TokenStore, name: str, held: SecretTokens | None, live: list[int]
) -> None:
    """A revoke failed after the Secret step took the token out of the Secret: if the Secret's
    token was not the record's (the in-cluster refresher rotated it), the record takes it, so
    that the rerun the error promises finds it and revokes it, instead of losing track of a
    valid token. A record whose own token is still valid keeps it (the rerun revokes that)."""
    if held is None or held.token_id is None or held.expires_at is None:
        return
    async with store.atransaction() as txn:
        record = txn.get(name)
        kept = record.project_token if record is not None else None
        if record is None or (kept is not None and kept.token_id in live):
            return
        token = ProjectTokenRecord(held.token_id, held.token, held.expires_at, held.issued_at)
        txn.put(name, record.with_(project_token=token))


async def _drop_project_token(store: TokenStore, name: str, said: str) -> str:
    async with store.atransaction() as txn:
        record = txn.get(name)
        if record is not None and record.project_token is not None:
            txn.put(name, record.with_(project_token=None))
    return said


def _grant_step(repo: Repository, store: TokenStore, clock: Clock, facts: Facts) -> Step:
    record = store.get(repo.name)
    local = record.tokens if record is not None else None
    held = facts.secret_grant
    extra = (
        held if held is not None and (local is None or held.token != local.access_token) else None
    )
    if local is None and extra is None:
        return Step("oauth-grant", repo.gitlab.url, StepState.SKIPPED, ALREADY_ABSENT)
    where = " and ".join(
        (["the local tokens"] if local else []) + (["the tokens the Secret held"] if extra else [])
    )

    async def run() -> str:
        if extra is not None:
            await revoke_tokens(repo, extra.token, extra.refresh_token)
        if local is not None:
            await revoke(repo, store, clock)
        return f"revoked {where}"

    return Step("oauth-grant", repo.gitlab.url, StepState.PLANNED, f"revoke {where}", run)


async def _forget_record(store: TokenStore, name: str) -> str:
    async with store.atransaction() as txn:
        if txn.records.pop(name, None) is None:
            return ALREADY_ABSENT
        txn.commit()
    return "forgot the local record"


async def forget_entry(path: Path, name: str) -> str:
    removed = await asyncio.to_thread(remove_repository, path, name)
    return f"removed {name} from {path}" if removed else ALREADY_ABSENT
