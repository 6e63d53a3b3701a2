"""Connects the dashboard to Kubernetes: discovers PAC `Repository` resources now and then,
syncs bound repositories' Secrets, and keeps the last result of each for the table and panel.

Discovery looks in the contexts and namespaces the config binds (plus each context's default
namespace). A cluster that cannot be reached or refuses is reported per context and retried on the
next round; the rest of the dashboard does not wait for it. The `kubernetes` client is imported
only when there is a cluster to talk to.

The feed holds no screen: it runs its work through the `run_worker` it is given and posts
`ui.messages` (cluster discovered, sync finished, notices) through its `post`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from pac_tui.actions.status import RepoStatus, State
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.kube.sync_result import SyncAction, SyncResult
from pac_tui.oauth.schedule import AutoRefreshPlan
from pac_tui.ui.messages import ClusterDiscovered, Post, RunWorker, SyncFinished, tell
from pac_tui.ui.widgets.cluster_info import cluster_cell

if TYPE_CHECKING:
    from pac_tui.actions.clusters import ClusterPool
    from pac_tui.kube.repositories import PacRepository
    from pac_tui.ui.context import AppContext

DISCOVER_SECONDS = 60.0


@dataclass
class ClusterView:
    """The latest discovery: Repository resources by namespace/name, errors by context."""

    repositories: dict[tuple[str | None, str], PacRepository] = field(default_factory=dict)
    errors: dict[str | None, str] = field(default_factory=dict)
    at: datetime | None = None

    def for_binding(self, repo: Repository) -> PacRepository | None:
        binding = repo.kubernetes
        if binding is None:
            return None
        return self.repositories.get((binding.context, binding.key))

    def error_for(self, repo: Repository) -> str | None:
        return self.errors.get(repo.kubernetes.context) if repo.kubernetes else None


def unmanaged_status(pac: PacRepository) -> RepoStatus:
    """A row for a Repository resource that no configured repository is bound to."""
    return RepoStatus(
        name=pac.key,
        project=pac.project,
        gitlab=pac.instance,
        state=State.UNMANAGED,
        expires_at=None,
        expires_in=None,
        scopes=(),
        refreshed_at=None,
        message=(
            f"PAC Repository {pac.key} is not managed by pac-tui; bind it with a "
            "[repositories.kubernetes] table in the config (README: PAC on Kubernetes)"
        ),
    )


def kubeconfig_present(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    paths = env.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return any(Path(p).exists() for p in paths.split(os.pathsep) if p) or bool(
        env.get("KUBERNETES_SERVICE_HOST")
    )


class ClusterFeed:
    def __init__(self, ctx: AppContext, post: Post, run_worker: RunWorker) -> None:
        self.ctx = ctx
        self._post = post
        self._run_worker = run_worker
        self.view = ClusterView()
        self._running = False
        self.sync_plan = AutoRefreshPlan()  # backoff of the automatic syncs, per repository
        self.sync_errors: dict[str, str] = {}  # the last sync failure, per repository

    def auto_sync_due(self, name: str) -> bool:
        """May a lagging Secret be synced automatically now (not running, not backing off)?"""
        retry = self.sync_plan.next_retry(name)
        return name not in self.sync_plan.in_flight and (
            retry is None or self.ctx.clock.now() >= retry
        )

    @property
    def wanted(self) -> bool:
        bound = any(r.kubernetes for r in self.ctx.config.repositories)
        return self.ctx.discover_cluster and (bound or kubeconfig_present())

    def pac_for(self, repo: Repository) -> PacRepository | None:
        """The PAC Repository `repo` is bound to, as last discovered (None: not bound, not seen)."""
        return self.view.for_binding(repo)

    def unmanaged(self) -> dict[str, PacRepository]:
        """Discovered Repository resources no configured repository binds, by namespace/name."""
        bound = {
            (r.kubernetes.context, r.kubernetes.key)
            for r in self.ctx.config.repositories
            if r.kubernetes
        }
        found = sorted(self.view.repositories.items(), key=lambda item: item[0][1])
        return {pac.key: pac for key, pac in found if key not in bound}

    def unmanaged_statuses(self, shown: set[str]) -> list[RepoStatus]:
        """Rows for the unbound Repository resources (those not already shown by name)."""
        return [unmanaged_status(pac) for key, pac in self.unmanaged().items() if key not in shown]

    def cells(self, statuses: list[RepoStatus]) -> dict[str, Text]:
        """The table's Cluster cell of each row."""
        unmanaged = self.unmanaged()
        cells = {}
        for status in statuses:
            repo = self.ctx.config.find(status.name)
            if repo is not None:
                pac, error = self.view.for_binding(repo), self.view.error_for(repo)
            else:
                pac, error = unmanaged.get(status.name), None
            cells[status.name] = cluster_cell(status, pac, error)
        return cells

    def error_for(self, repo: Repository) -> str | None:
        """Why the panel's cluster part has trouble: the cluster, or the last sync."""
        return self.view.error_for(repo) or self.sync_errors.get(repo.name)

    def retry_lagging(self, statuses: list[RepoStatus]) -> None:
        """Sync, quietly and with backoff, bound repositories whose Secret lags the store."""
        for status in statuses:
            repo = self.ctx.config.find(status.name)
            if (
                repo is not None
                and repo.kubernetes is not None
                and status.cluster is not None
                and not status.cluster.synced
                and status.state is not State.NEEDS_LOGIN
                and repo.kubernetes.context not in self.view.errors
                and self.auto_sync_due(repo.name)
            ):
                self.start_sync(repo, quiet=True)

    def start_sync(self, repo: Repository, quiet: bool) -> None:
        self.sync_plan.started(repo.name)
        self._run_worker(self._sync(repo, quiet), group="sync", exit_on_error=False)

    async def _sync(self, repo: Repository, quiet: bool) -> None:
        """Sync one Secret; `quiet` (the automatic retry) backs off instead of notifying."""
        notify = partial(tell, self._post)
        try:
            result = await self.sync(repo)
        except PacTuiError as exc:
            self.sync_errors[repo.name] = str(exc)
            self.sync_plan.failed(repo.name, self.ctx.clock.now())
            if not quiet:
                notify(str(exc), title=f"Sync of {repo.name} failed", severity="error")
        else:
            self.sync_errors.pop(repo.name, None)
            self.sync_plan.succeeded(repo.name)
            if not quiet or result.action != SyncAction.UNCHANGED:
                notify(f"{result.describe()}.")
            for warning in result.warnings:
                notify(warning, title=repo.name, severity="warning", timeout=10)
        finally:
            self._post(SyncFinished(repo.name))

    def start(self, every: Callable[[float, Callable[[], None]], object]) -> None:
        """Discover now and, through `every` (the screen's `set_interval`), every minute."""
        if not self.wanted:
            return
        self.discover()
        every(DISCOVER_SECONDS, self.discover)

    def discover(self) -> None:
        """Start a discovery round (unless one runs); posts `ClusterDiscovered` when it ends."""
        if self._running:
            return
        self._running = True
        self._run_worker(self._discover(), group="cluster", exit_on_error=False)

    async def _discover(self) -> None:
        try:
            self.view = await asyncio.to_thread(self._discover_blocking, self.ctx.clusters)
        finally:
            self._running = False
        self._post(ClusterDiscovered(self.view))

    def _discover_blocking(self, clusters: ClusterPool) -> ClusterView:
        from pac_tui.kube.repositories import list_repositories

        view = ClusterView(at=self.ctx.clock.now())
        targets: dict[str | None, set[str]] = {}
        for repo in self.ctx.config.repositories:
            if repo.kubernetes:
                targets.setdefault(repo.kubernetes.context, set()).add(repo.kubernetes.namespace)
        if not targets:
            targets[None] = set()
        for context, namespaces in targets.items():
            try:
                cluster = clusters.get(context)
                for namespace in sorted(namespaces | {cluster.namespace}):
                    for pac in list_repositories(cluster, namespace):
                        view.repositories[(context, pac.key)] = pac
            except PacTuiError as exc:
                view.errors[context] = str(exc)
        return view

    async def sync(self, repo: Repository) -> SyncResult:
        """Sync one bound repository (raises the core's errors; the record notes them)."""
        from pac_tui.kube.sync import sync

        return await sync(repo, self.ctx.store, self.ctx.clock, self.ctx.clusters)
