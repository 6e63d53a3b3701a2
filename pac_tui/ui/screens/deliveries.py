"""The deliveries of the selected repository (key d): what GitLab sent PAC, what PAC answered,
the PipelineRuns that followed, and why nothing ran when nothing did.

The timeline comes from `pac_tui.actions.deliveries` (as `pac-tui deliveries` prints it), loaded
in a worker that posts `TimelineLoaded`; the screen alone touches its widgets. `e` resends the
highlighted delivery from GitLab and `t` has GitLab send a test push event through its hook
(which re-enables a hook GitLab disabled), each after a confirmation, each in a worker whose
outcome comes back as `Notified`. Headers are shown redacted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import tzinfo
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from pac_tui.actions.deliveries import DeliveriesReport, DeliveryView, deliveries_report
from pac_tui.actions.redeliver import resend, send_test
from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.ui.context import AppContext
from pac_tui.ui.messages import Notified, TimelineLoaded, tell
from pac_tui.ui.screens.confirm import ConfirmScreen

Loader = Callable[..., Awaitable[DeliveriesReport]]
COLUMNS = ("At", "Event", "Status", "ms", "PipelineRuns / why nothing ran")


def _when(view: DeliveryView, zone: tzinfo | None) -> str:
    at = view.event.created_at
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S}" if at else "?"


def _outcome(view: DeliveryView) -> Text:
    runs = view.pipelineruns or []
    if runs:
        parts = Text()
        for n, run in enumerate(runs):
            ok = run.outcome.succeeded
            style = "green" if ok else "red" if ok is False else "yellow"
            parts.append(("" if n == 0 else ", ") + f"{run.name} {run.outcome.status}", style)
        return parts
    if view.why:
        return Text(view.why, style="red" if not view.event.succeeded else "yellow")
    return Text("not bound: PipelineRuns unknown" if view.pipelineruns is None else "")


def row(view: DeliveryView, zone: tzinfo | None) -> tuple[Any, ...]:
    status = view.event.response_status
    style = "green" if view.event.succeeded else "bold red"
    ms = str(view.duration_ms) if view.duration_ms is not None else ""
    # The summary is the sender's text (an MR title): a Text, so "[/]" or "[skip ci]" is shown
    # as written, where a str cell would be read as markup.
    return (_when(view, zone), Text(view.summary), Text(status, style), ms, _outcome(view))


def detail(view: DeliveryView, zone: tzinfo | None) -> Text:
    """Everything about one delivery, headers redacted."""
    e = view.event
    text = Text()
    text.append(f"#{e.id} {e.trigger}", "bold")
    text.append(f" · {e.response_status} · {view.duration_ms} ms · {_when(view, zone)}\n")
    text.append(f"to {e.url} (hook #{e.hook_id})\n")
    text.append("PAC answered: ", "bold")
    text.append(f"{view.answer or '(nothing)'}\n")
    if view.why:
        text.append("Why nothing ran: ", "bold")
        text.append(f"{view.why}\n", "yellow")
    text.append("PipelineRuns: ", "bold")
    if view.pipelineruns is None:
        text.append("not known (the repository is not bound to a cluster)\n")
    elif not view.pipelineruns:
        text.append("none\n")
    else:
        text.append("\n")
        for run in view.pipelineruns:
            origin = f" (.tekton/ {run.original_name})" if run.original_name else ""
            text.append(f"  {run.namespace}/{run.name}{origin}: {run.outcome.status}\n")
    if view.journal is not None:
        j = view.journal
        relay = f", relay {j.relay_status}" if j.relay_status else ""
        text.append(f"Journal: #{j.id} {j.verdict}{relay}\n")
    text.append("Request headers:\n", "bold")
    for name, value in view.headers.items():
        text.append(f"  {name}: {value}\n")
    return text


class DeliveriesScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("r", "reload", "Reload"),
        Binding("e", "resend", "Resend"),
        Binding("t", "send_test", "Test event"),
    ]
    DEFAULT_CSS = """
    DeliveriesScreen #deliveries-title { text-style: bold; padding: 0 1; }
    DeliveriesScreen #deliveries-status { padding: 0 1; color: $text-muted; }
    DeliveriesScreen #deliveries-table { height: 1fr; }
    DeliveriesScreen #delivery-detail-box { height: 14; border-top: solid $primary; }
    DeliveriesScreen #delivery-detail { padding: 0 1; }
    """

    def __init__(self, ctx: AppContext, repo: Repository, load: Loader | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.repo = repo
        self._load = load or deliveries_report
        self.report: DeliveriesReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"Deliveries of {self.repo.name}  ({self.repo.project})", id="deliveries-title"
            )
            yield Static("Loading GitLab's record of the last 7 days…", id="deliveries-status")
            yield DataTable(id="deliveries-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="delivery-detail-box"):
                yield Static(id="delivery-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one(DataTable).focus()
        self.reload()

    # ---- work -------------------------------------------------------------------------------

    def reload(self) -> None:
        self.run_worker(self._fetch(), group="deliveries", exclusive=True, exit_on_error=False)

    async def _fetch(self) -> None:
        from pac_tui.webhooks.journal import JournalReader
        from pac_tui.webhooks.service import journal_path

        path = journal_path(self.ctx.store.data_dir)
        journal = JournalReader(path) if path.exists() else None
        try:
            report = await self._load(
                self.repo,
                self.ctx.store,
                self.ctx.clock,
                self.ctx.clusters if self.repo.kubernetes is not None else None,
                relay_url=self.ctx.config.webhook.relay,
                journal=journal,
            )
        except PacTuiError as exc:
            self.post_message(TimelineLoaded(None, str(exc)))
            return
        finally:
            if journal is not None:
                journal.close()
        self.post_message(TimelineLoaded(report))

    async def _ask(self, work: Awaitable[str]) -> None:
        try:
            tell(self.post_message, await work, title="GitLab")
        except PacTuiError as exc:
            tell(self.post_message, str(exc), title="GitLab", severity="error", timeout=15)
        self.reload()

    # ---- what the workers post --------------------------------------------------------------

    @on(TimelineLoaded)
    def _timeline_loaded(self, message: TimelineLoaded) -> None:
        status = self.query_one("#deliveries-status", Static)
        table = self.query_one(DataTable)
        table.clear()
        self.report = message.report
        if message.report is None:
            status.update(Text(f"Could not read the deliveries: {message.error}", "red"))
            self.query_one("#delivery-detail", Static).update("")
            return
        report = message.report
        for view in report.deliveries:
            table.add_row(*row(view, self.ctx.local_tz), key=str(view.event.id))
        words = [f"{len(report.deliveries)} deliveries in the last 7 days, newest first"]
        words += [f"hook #{s.hook.id}: {s.disabled_text()}" for s in report.hooks if not s.enabled]
        words += report.notes
        status.update(Text(" · ".join(words)))  # GitLab's and PAC's words: never markup
        self._show(0)

    @on(Notified)
    def _notified(self, message: Notified) -> None:
        self.notify(**asdict(message.notice))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, index: int) -> None:
        view = self.selected(index)
        box = self.query_one("#delivery-detail", Static)
        box.update(detail(view, self.ctx.local_tz) if view else "")

    def selected(self, index: int | None = None) -> DeliveryView | None:
        views = self.report.deliveries if self.report else []
        index = self.query_one(DataTable).cursor_row if index is None else index
        return views[index] if 0 <= index < len(views) else None

    # ---- keys -------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.reload()

    def action_resend(self) -> None:
        view = self.selected()
        if view is None:
            return
        question = ConfirmScreen(
            f"Resend delivery #{view.event.id}?",
            f"GitLab sends this {escape(view.event.trigger)} delivery to {escape(view.event.url)} "
            "again, as it was, with the hook's secret token. PAC may start its PipelineRuns again.",
            "Resend",
        )
        self._confirm(question, lambda: resend(self.repo, self.ctx.store, self.ctx.clock, view))

    def action_send_test(self) -> None:
        view = self.selected()
        hooks = self.report.hooks if self.report else []
        hook_id = view.event.hook_id if view else hooks[0].hook.id if hooks else None
        if hook_id is None:
            return
        question = ConfirmScreen(
            f"Send a test event through hook #{hook_id}?",
            "GitLab sends a test push event (from the project's last commit) through the hook. "
            "If it succeeds, GitLab re-enables a hook it had disabled.",
            "Send",
        )
        self._confirm(
            question, lambda: send_test(self.repo, self.ctx.store, self.ctx.clock, hook_id)
        )

    def _confirm(self, question: ConfirmScreen, work: Callable[[], Awaitable[str]]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._ask(work()), group="deliveries-ask", exit_on_error=False)

        self.app.push_screen(question, answered)

    def action_close(self) -> None:
        self.workers.cancel_group(self, "deliveries")
        self.dismiss(None)
