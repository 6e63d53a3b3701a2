"""One onboarding run: read both sides, plan, then return the dry run or apply."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError, UsageError
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.cluster import ClusterSource
from pac_tui.kube.sync_grant import grant_adopter
from pac_tui.oauth.grant import login_hint
from pac_tui.oauth.token_source import repository_api
from pac_tui.onboard.apply import apply_hook, apply_repository, apply_secret
from pac_tui.onboard.manifests import repository_yaml, secret_yaml
from pac_tui.onboard.plan import maintainer_needed, planned_items
from pac_tui.onboard.read import ReadOnlyToken, read_cluster_or_error, read_gitlab
from pac_tui.onboard.result import OnboardResult
from pac_tui.onboard.vocabulary import CONTROLLER_ANNOTATION
from pac_tui.onboard.wanted import check_controller_url, hook_settings, wanted_object
from pac_tui.stores.file_store import TokenStore


async def onboard(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    *,
    controller_url: str | None,
    dry_run: bool = False,
    signing_token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OnboardResult:
    """Onboard `repo` (its `kubernetes` binding set; see `binding_for`). See `pac_tui.onboard`.

    `controller_url` may be None when the Repository resource already records one.
    `signing_token` (see `signing_token_for`) goes on the hook where the instance signs webhooks;
    the result's `signing_token` says whether it took it.
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
        adopt = grant_adopter(repo, store, clock, clusters)  # the in-cluster refresher's grant
        api = repository_api(repo, store, clock, transport=transport, adopt=adopt)
    async with api:
        view, lab = await asyncio.gather(
            read_cluster_or_error(clusters, binding), read_gitlab(api, repo)
        )
        warnings: list[str] = []
        if lab.project is not None and binding.mode == TokenMode.PROJECT_TOKEN:
            refusal = maintainer_needed(repo, lab.project)
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
        wanted = wanted_object(repo, binding, view.obj, token_ref, webhook_ref, url)

        held_webhook = view.value(webhook_ref)
        webhook = held_webhook or repo.webhook_secret or secrets.token_urlsafe(32)
        yamls = (repository_yaml(wanted), secret_yaml(binding, token_ref, webhook_ref))
        hook_shown = hook_settings(url, signing_token is not None)
        if dry_run:
            items = planned_items(
                repo, binding, view, lab, wanted, url, token_ref, webhook_ref, signing_token
            )
            return OnboardResult(repo.name, True, items, tuple(warnings), *yamls, hook_shown)

        cluster = await asyncio.to_thread(clusters.get, binding.context)
        resource = await asyncio.to_thread(
            apply_repository,
            cluster,
            binding,
            view.obj,
            lambda current: wanted_object(repo, binding, current, token_ref, webhook_ref, url),
        )
        secret = await apply_secret(
            repo, store, clock, clusters, cluster, view, token_ref, webhook_ref, webhook
        )
        hook, signed = await apply_hook(
            api, repo, lab, url, webhook, renew=held_webhook is None, signing_token=signing_token
        )
        if signing_token is not None and signing_token == repo.webhook_signing_token and not signed:
            warnings.append(
                f"GitLab ignored the hook's signing token (it does not sign webhooks), so "
                f"deliveries come unsigned, and pac-tui's receiver rejects them while {repo.name} "
                "has a webhook_signing_token: remove it from the config, or have the instance's "
                "signed webhooks turned on (GitLab's webhook_signing_token feature) and run again"
            )
        return OnboardResult(
            repo.name,
            False,
            (resource, secret, hook),
            tuple(warnings),
            *yamls,
            hook_shown,
            webhook_secret=webhook,
            signing_token=signing_token if signed else None,
        )
