"""The main screen: the repositories table, the token panel, the webhook pane, one 1 Hz tick."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from pac_tui.actions.status import RepoStatus, State, repo_status
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.ui.context import AppContext
from pac_tui.ui.feeds.cluster import ClusterFeed
from pac_tui.ui.feeds.hooks import HookFeed
from pac_tui.ui.feeds.tokens import RefreshFeed, StoreWatch, TokenFeed
from pac_tui.ui.feeds.webhooks import FLUSH_SECONDS, WebhookFeed
from pac_tui.ui.messages import (
    ClusterDiscovered,
    DeliveriesArrived,
    DeliveryRead,
    HookHealthArrived,
    Notified,
    StoreWritten,
    WebhookStatus,
)
from pac_tui.ui.screens.confirm import confirm_revoke
from pac_tui.ui.screens.dashboard_rows import DashboardRows
from pac_tui.ui.screens.help import HelpScreen
from pac_tui.ui.screens.login import LoginScreen
from pac_tui.ui.widgets.event_log import EventLog
from pac_tui.ui.widgets.repo_table import RepoTable
from pac_tui.ui.widgets.token_panel import PanelState, TokenPanel
from pac_tui.ui.widgets.webhook_pane import WebhookPane


class DashboardScreen(Screen[None]):
    # Narrow terminals put the token panel under the table (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("l", "login", "Login"),
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False),
        Binding("x", "revoke", "Revoke"),
        Binding("D", "offboard", "Offboard", show=False),
        Binding("s", "sync", "Sync"),
        Binding("a", "toggle_auto", "Auto-refresh"),
        Binding("slash", "filter", "Filter"),
        Binding("o", "onboard", "Add repo"),
        Binding("c", "check_pac", "Check PAC"),
        Binding("d", "deliveries", "Deliveries", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("j", "cursor(1)", show=False),
        Binding("k", "cursor(-1)", show=False),
    ]

    def __init__(self, ctx: AppContext, tick_interval: float | None = 1.0) -> None:
        super().__init__()
        self.ctx = ctx
        self.tick_interval = tick_interval
        self.webhooks = WebhookFeed(ctx, self.post_message, self.run_worker)
        self.cluster = ClusterFeed(ctx, self.post_message, self.run_worker)
        self.refreshes = RefreshFeed(ctx, self.post_message, self.run_worker)
        self.plan = self.refreshes.plan
        self.tokens = TokenFeed(ctx, self.post_message, self.run_worker)
        self.store = StoreWatch(ctx.store)
        self.filter_text = ""
        self.hooks = HookFeed(ctx, self.post_message, self.run_worker, self.cluster.pac_for)
        self.rows = DashboardRows(ctx, self.store, self.cluster, self.webhooks, self.hooks)
        self._panel_key: object = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="filter by name, project, instance or state", id="filter")
                yield RepoTable(self.rows.row, on_cursor=self._cursor_moved, id="repos")
            yield TokenPanel(id="panel", classes="pane")
        yield WebhookPane(self.ctx.config.webhook.buffer, self.ctx.local_tz, id="webhooks")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#panel", TokenPanel).border_title = "Token"
        self.query_one("#repos", RepoTable).focus()
        self._rows_changed()
        self.tick()
        if self.tick_interval:
            self.set_interval(self.tick_interval, self.tick)
            self.set_interval(FLUSH_SECONDS, self.flush_events)
        self.webhooks.start()
        if self.tick_interval:
            self.cluster.start(self.set_interval)

    @property
    def receiver_url(self) -> str | None:
        """Where the webhook receiver listens; None while it does not."""
        return self.webhooks.receiver_url

    def flush_events(self) -> None:
        """The log pane's one timer, ~10 times a second: deliveries queued since the last flush
        come back as one `DeliveriesArrived`."""
        self.webhooks.flush()

    # ---- what the feeds post -----------------------------------------------------------------

    @on(Notified)
    def _notified(self, message: Notified) -> None:
        self.notify(**asdict(message.notice))

    @on(DeliveriesArrived)
    def _deliveries_arrived(self, message: DeliveriesArrived) -> None:
        """New deliveries (or the journal's history): into the log, and the Webhook cells of the
        rows they came for (a flood for one repository redraws one row, not the screen)."""
        self.query_one("#webhooks", WebhookPane).add(message.deliveries)
        table = self.query_one("#repos", RepoTable)
        if message.repos is None:
            table.invalidate(self.ctx.clock.now())
        elif message.repos:
            table.invalidate_rows(message.repos, self.ctx.clock.now())

    @on(HookHealthArrived)
    def _hook_health(self, message: HookHealthArrived) -> None:
        """GitLab said something new about these rows' PAC hooks: redraw them and the panel."""
        self.query_one("#repos", RepoTable).invalidate_rows(message.names, self.ctx.clock.now())
        self._show_panel()

    @on(WebhookStatus)
    def _webhook_status(self, message: WebhookStatus) -> None:
        self.query_one("#webhooks", WebhookPane).set_status(message.status)

    @on(DeliveryRead)
    def _delivery_read(self, message: DeliveryRead) -> None:
        from pac_tui.ui.screens.event_detail import EventDetailScreen

        self.app.push_screen(EventDetailScreen(message.delivery, self.ctx.config))

    @on(ClusterDiscovered)
    def _cluster_discovered(self) -> None:
        """A discovery round ended: redraw, and retry Secrets that lag (the cluster is back)."""
        self._rows_changed()
        self._show_panel()
        self.cluster.retry_lagging(self.statuses())

    @on(StoreWritten)
    def _store_written(self) -> None:
        self.reload()

    async def shutdown(self) -> None:
        await self.webhooks.stop()
        self.ctx.clusters.close()

    # ---- the one timer -------------------------------------------------------------------

    def tick(self) -> None:
        """Reload the store if another process changed it, redraw what moved, run auto-refresh.

        Its cost follows the rows on screen: the table recomputes only rows whose texts may have
        changed, the auto-refresh plan is a heap, and a filter is re-applied only when a row's
        state word may have changed.
        """
        if self._load_records():
            self._rows_changed()
        now = self.ctx.clock.now()
        if self.rows.until is not None and now >= self.rows.until:
            self._apply_rows(now)
        table = self.query_one("#repos", RepoTable)
        table.tick(now)
        self._poll_hooks(table, now)
        self._show_panel()
        self.sub_title = self.rows.title(self.plan.failing())
        if self.ctx.auto_refresh:
            for name in self.plan.due(now):
                repo = self.rows.repos.get(name)
                if repo is not None:
                    self._start_refresh(repo, auto=True)

    def _poll_hooks(self, table: RepoTable, now: datetime) -> None:
        """Ask about the PAC hooks of the rows on screen (and the selected one) that are due."""
        names = table.on_screen()  # none before the first layout: one round for the screen
        if names and table.selected_name is not None:
            names.append(table.selected_name)
        self.hooks.poll(names, self.rows.repos, self.store.records, now)

    def _rows_changed(self) -> None:
        """The config, the store or the cluster changed: every row may show something else."""
        self.rows.reload()
        self.plan.schedule(self.ctx.config.repositories, self.store.records)
        now = self.ctx.clock.now()
        self._apply_rows(now)
        self.query_one("#repos", RepoTable).invalidate(now)

    def _apply_rows(self, now: datetime) -> None:
        """Which rows the table shows, in order (the filter's)."""
        table = self.query_one("#repos", RepoTable)
        table.empty_hint = self.rows.empty_hint(self.filter_text)
        table.set_rows(self.rows.shown(self.filter_text, now), now)

    @on(EventLog.Opened)
    def _open_event(self, event: EventLog.Opened) -> None:
        self.webhooks.open(event.entry.id)

    def _load_records(self, force: bool = False) -> bool:
        """Re-read the store if it changed (or `force`); True when the records were re-read."""
        before = self.store.records
        try:
            self.store.load(force)
        except PacTuiError as exc:
            self.notify(str(exc), title="Token store", severity="error", timeout=15)
        return self.store.records is not before

    def statuses(self) -> list[RepoStatus]:
        return self.rows.statuses(self.ctx.clock.now())

    def _show_panel(self) -> None:
        """Redraw the panel only when what it shows may have changed (`DashboardRows.panel`)."""
        table = self.query_one("#repos", RepoTable)
        now = self.ctx.clock.now()
        name = table.selected_name
        row_key = table.row(name, now).key if name is not None else None
        key, shown = self.rows.panel(name, row_key, now, self.plan)
        if key == self._panel_key:
            return
        self._panel_key = key
        panel = self.query_one("#panel", TokenPanel)
        if isinstance(shown, PanelState):
            if panel.border_title != "Token":  # setting it parses markup and repaints
                panel.border_title = "Token"
            panel.show(shown, now, self.ctx.local_tz)
        elif shown is not None:
            panel.show_unmanaged(shown, now)
        else:
            panel.show(None, now, self.ctx.local_tz)

    def selected_repo(self) -> Repository | None:
        name = self.query_one("#repos", RepoTable).selected_name
        return None if name is None else self.ctx.config.find(name)

    @on(RepoTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._show_panel()

    def _cursor_moved(self, name: str | None) -> None:
        """The table's cursor moved (a key, a click): the panel follows in the same frame."""
        self._show_panel()

    def reload(self) -> None:
        self._load_records(force=True)
        self._rows_changed()
        self.tick()

    # ---- actions --------------------------------------------------------------------------

    def _need_repo(self) -> Repository | None:
        repo = self.selected_repo()
        if repo is None:
            name = self.query_one("#repos", RepoTable).selected_name
            if name in self.cluster.unmanaged():
                self.notify(
                    f"{name} is not managed by pac-tui: bind it in the config first "
                    "(see the panel).",
                    severity="warning",
                )
            else:
                self.notify("No repository selected.", severity="warning")
        return repo

    def action_cursor(self, delta: int) -> None:
        table = self.query_one("#repos", RepoTable)
        table.move_cursor(row=table.cursor_row + delta)

    def action_login(self) -> None:
        repo = self._need_repo()
        if repo is not None:
            self.app.push_screen(LoginScreen(self.ctx, repo), lambda _: self.reload())

    def action_refresh(self) -> None:
        repo = self._need_repo()
        if repo is None:
            return
        if repo.name in self.plan.in_flight:
            self.notify(f"{repo.name} is already being refreshed.")
            return
        self._start_refresh(repo, auto=False)

    def action_refresh_all(self) -> None:
        now = self.ctx.clock.now()
        started = 0
        for repo in self.ctx.config.repositories:
            record = self.store.records.get(repo.name)
            if (
                record
                and record.tokens
                and repo.name not in self.plan.in_flight
                and repo_status(repo, record, now).state is not State.NEEDS_LOGIN
            ):
                self._start_refresh(repo, auto=False)
                started += 1
        self.notify(f"Refreshing {started} repositor{'y' if started == 1 else 'ies'}.")

    def action_revoke(self) -> None:
        if (repo := self._need_repo()) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.tokens.revoke(repo)

        self.app.push_screen(confirm_revoke(repo), answered)

    def action_offboard(self) -> None:
        from pac_tui.ui.screens.offboard import offboard_selected  # the kubernetes client

        offboard_selected(self.ctx, self._need_repo(), self)

    def action_sync(self) -> None:
        repo = self._need_repo()
        if repo is None:
            return
        if repo.kubernetes is None:
            self.notify(
                f"{repo.name} is not bound to a PAC Repository; add a [repositories.kubernetes] "
                "table to its config entry.",
                severity="warning",
            )
            return
        self.cluster.start_sync(repo, quiet=False)

    def action_toggle_auto(self) -> None:
        self.ctx.auto_refresh = not self.ctx.auto_refresh
        self.notify(f"Auto-refresh {'on' if self.ctx.auto_refresh else 'off'}.")
        self.tick()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("visible") or box.value:
            box.value = ""
            box.remove_class("visible")
            self.filter_text = ""
            self.query_one("#repos", RepoTable).focus()
            self._apply_rows(self.ctx.clock.now())
            self.tick()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._apply_rows(self.ctx.clock.now())
        self.tick()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one("#repos", RepoTable).focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_onboard(self) -> None:
        from pac_tui.ui.screens.onboarding.screen import OnboardingScreen

        self.app.push_screen(OnboardingScreen(self.ctx), lambda _: self.after_onboarding())

    def action_check_pac(self) -> None:
        from pac_tui.ui.screens.readiness import ReadinessScreen

        repo = self._need_repo()
        if repo is not None:
            self.app.push_screen(ReadinessScreen(self.ctx, repo))

    def action_deliveries(self) -> None:
        from pac_tui.ui.screens.deliveries import DeliveriesScreen

        repo = self._need_repo()
        if repo is not None:  # a test event there may re-enable the hook: ask again
            self.app.push_screen(
                DeliveriesScreen(self.ctx, repo), lambda _: self.hooks.forget(repo.name)
            )

    def after_onboarding(self) -> None:
        try:
            self.ctx.reload_config()
        except PacTuiError as exc:
            self.notify(str(exc), title="Config", severity="error", timeout=15)
        self.reload()

    # ---- workers --------------------------------------------------------------------------

    def _start_refresh(self, repo: Repository, auto: bool) -> None:
        self.refreshes.start(repo, auto)
        self._show_panel()
