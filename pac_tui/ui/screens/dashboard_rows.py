"""What the dashboard's repositories table shows: which rows, in which order, and one row's texts.

The table asks for a row's texts only when the row is on screen and what it showed may have
changed, so `row` is called for a few dozen rows a second whatever the number configured. The
filter needs every row's state; it is re-applied only when one of them may change (`until`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pac_tui.actions.status import RepoStatus, repo_status
from pac_tui.core.config import Repository
from pac_tui.core.humanize import countdown
from pac_tui.oauth.schedule import AutoRefreshPlan
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.cluster import ClusterFeed, unmanaged_status
from pac_tui.ui.feeds.hooks import HookFeed
from pac_tui.ui.feeds.tokens import StoreWatch
from pac_tui.ui.feeds.webhooks import WebhookFeed
from pac_tui.ui.widgets.badges import matches
from pac_tui.ui.widgets.cluster_info import cluster_cell
from pac_tui.ui.widgets.repo_rows import Row, make_row, state_change
from pac_tui.ui.widgets.repo_table import RowInfo
from pac_tui.ui.widgets.token_panel import PanelState

if TYPE_CHECKING:
    from pac_tui.kube.repositories import PacRepository


class DashboardRows:
    def __init__(
        self,
        ctx: AppContext,
        store: StoreWatch,
        cluster: ClusterFeed,
        webhooks: WebhookFeed,
        hooks: HookFeed,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.cluster = cluster
        self.webhooks = webhooks
        self.hooks = hooks
        self.repos: dict[str, Repository] = {}  # the configured repositories by name
        self.unmanaged: dict[str, PacRepository] = {}  # as of the last discovery
        self.until: datetime | None = None  # when a filtered row may change state

    def reload(self) -> None:
        """The config or the cluster changed."""
        self.repos = {repo.name: repo for repo in self.ctx.config.repositories}
        self.unmanaged = self.cluster.unmanaged()

    def statuses(self, now: datetime) -> list[RepoStatus]:
        """Every row's status (O(n): for the filter and the cluster's retries, not the tick)."""
        configured = [
            repo_status(repo, self.store.records.get(name), now)
            for name, repo in self.repos.items()
        ]
        return configured + [
            unmanaged_status(pac) for name, pac in self.unmanaged.items() if name not in self.repos
        ]

    def shown(self, filter_text: str, now: datetime) -> list[RowInfo]:
        """The rows the filter lets through, in order; sets `until`."""
        needle = filter_text.casefold().strip()
        if not needle:
            self.until = None
            names = list(self.repos) + [n for n in self.unmanaged if n not in self.repos]
        else:
            statuses = self.statuses(now)
            names = [s.name for s in statuses if matches(s, needle)]
            changes = [c for s in statuses if (c := state_change(s, now)) is not None]
            self.until = min(changes) if changes else None
        return [self.info(name) for name in names]

    def info(self, name: str) -> RowInfo:
        repo = self.repos.get(name)
        if repo is not None:
            return RowInfo(name, repo.project, repo.gitlab.url.split("://", 1)[-1])
        status = unmanaged_status(self.unmanaged[name])
        return RowInfo(name, status.project, status.gitlab.split("://", 1)[-1])

    def row(self, name: str, now: datetime) -> Row:
        """One row's texts as of `now`."""
        repo = self.repos.get(name)
        if repo is not None:
            status = repo_status(repo, self.store.records.get(name), now)
            view = self.cluster.view
            cluster = cluster_cell(status, view.for_binding(repo), view.error_for(repo))
        else:
            pac = self.unmanaged[name]
            status = unmanaged_status(pac)
            cluster = cluster_cell(status, pac, None)
        last, hook = self.webhooks.last_per_repo.get(name), self.hooks.health.get(name)
        return make_row(status, now, last, cluster, hook, self.ctx.local_tz)

    def panel(
        self, name: str | None, row_key: object, now: datetime, plan: AutoRefreshPlan
    ) -> tuple[object, PanelState | PacRepository | None]:
        """What the token panel shows for the selected row, and a key that changes when it may:
        its state, the row's texts (the countdown, the "ago"s), the retry countdown, or the
        minute (the slower clocks: the lifetime bar, a last run's age)."""
        minute = int(now.timestamp()) // 60
        repo = self.repos.get(name) if name is not None else None
        if repo is None:
            pac = self.unmanaged.get(name) if name is not None else None
            return ("unmanaged", name, pac, minute), pac
        record = self.store.records.get(repo.name)
        state = PanelState(
            status=repo_status(repo, record, now),
            record=record,
            auto_refresh=self.ctx.auto_refresh,
            next_retry=plan.next_retry(repo.name),
            refreshing=repo.name in plan.in_flight,
            pac=self.cluster.view.for_binding(repo),
            cluster_error=self.cluster.error_for(repo),
            hook=self.hooks.health.get(repo.name),
        )
        retry = state.next_retry
        retry_text = countdown((retry - now).total_seconds()) if retry else None
        return (state, row_key, retry_text, minute), state

    def title(self, failing: int) -> str:
        """The screen's sub-title: how many rows, auto-refresh, refreshes failing."""
        count, unbound = len(self.repos), len(self.unmanaged)
        return (
            f"{count} repositor{'y' if count == 1 else 'ies'}"
            + (f" · {unbound} more in the cluster" if unbound else "")
            + ("" if self.ctx.auto_refresh else " · auto-refresh off")
            + (f" · {failing} refresh{'es' if failing > 1 else ''} failing" if failing else "")
        )

    def empty_hint(self, filter_text: str) -> list[str]:
        """What an empty table says: how to add a repository, or that the filter hides all."""
        if filter_text.strip():
            return ["No repository matches the filter (esc clears it)."]
        return [
            "No repositories yet. To add one:",
            "  press o (the onboarding walkthrough),",
            "  or run: pac-tui onboard",
            "  or add a [[repositories]] entry to the config file:",
            f"    {self.ctx.config_path}",
        ]
