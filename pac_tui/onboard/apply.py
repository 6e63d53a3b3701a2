"""Applying the plan: the Repository resource, the Secret, the GitLab hook (in that order)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kubernetes import client

from pac_tui.core.clock import Clock
from pac_tui.core.config import KubernetesBinding, Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.gitlab.hooks import create_hook, find_hook, list_hooks, update_hook
from pac_tui.kube.cluster import Cluster, ClusterSource, Conflict
from pac_tui.kube.repositories import (
    PAC_GROUP,
    PAC_PLURAL,
    PAC_VERSION,
    SecretRef,
    read_repository_object,
)
from pac_tui.kube.secrets import MANAGED_BY, b64encode_text, read_secret
from pac_tui.kube.sync import sync
from pac_tui.kube.sync_result import SyncAction
from pac_tui.onboard.plan import events_detail, signing_note, signing_to_set
from pac_tui.onboard.read import ClusterView, GitLabView
from pac_tui.onboard.result import CREATED, UNCHANGED, UPDATED, Item
from pac_tui.onboard.vocabulary import hook_problems
from pac_tui.stores.file_store import TokenStore

MAX_ATTEMPTS = 5


def apply_repository(
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


async def apply_secret(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
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
    wrote_token = synced.action not in (SyncAction.UNCHANGED, SyncAction.ADOPTED)
    what = {
        SyncAction.WRITTEN: "provider token written",
        SyncAction.MINTED: "project access token minted",
        SyncAction.ROTATED: "project access token rotated",
        SyncAction.UNCHANGED: "provider token already current",
        SyncAction.ADOPTED: "provider token already current",
    }[synced.action]
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


async def apply_hook(
    api: GitLabApi,
    repo: Repository,
    lab: GitLabView,
    url: str,
    webhook: str,
    *,
    renew: bool,
    signing_token: str | None = None,
) -> tuple[Item, bool]:
    """Create the hook, or update it when it is wrong or carries an old webhook secret; with
    `signing_token`, also when it lacks that signing token. Returns the item and whether the hook
    GitLab answered with has a signing token (an instance without signed webhooks ignores it).

    A 409 on create means a hook for that URL appeared meanwhile: it is adopted and updated.
    """
    assert lab.project is not None and lab.hooks is not None
    project = repo.project
    found = find_hook(lab.hooks, url)
    if found is None:
        try:
            created = await create_hook(api, project, url, webhook, signing_token=signing_token)
            signed = bool(signing_token) and created.signing_token_present is True
            detail = f"hook #{created.id}: {events_detail()}{signing_note(signing_token, signed)}"
            return Item("Hook", url, CREATED, detail), signed
        except GitLabApiError as exc:
            if exc.status != 409:
                raise
            found = find_hook(await list_hooks(api, project), url)
            if found is None:
                raise
            renew = True
    problems = hook_problems(found)
    resign = signing_to_set(repo, found, signing_token)
    if not problems and not renew and not resign:
        signed = bool(signing_token) and found.signing_token_present is True
        detail = f"hook #{found.id}{signing_note(signing_token, signed)}"
        return Item("Hook", url, UNCHANGED, detail), signed
    updated = await update_hook(api, project, found.id, url, webhook, signing_token=signing_token)
    signed = bool(signing_token) and updated.signing_token_present is True
    note = signing_note(signing_token, signed)
    if not problems and not renew and not signed:  # only the signing token, and GitLab ignored it
        return Item("Hook", url, UNCHANGED, f"hook #{updated.id}{note}"), False
    why = ", ".join(problems) or ("webhook secret set" if renew else "signing token set")
    return Item("Hook", url, UPDATED, f"hook #{updated.id}: fixed {why}{note}"), signed
