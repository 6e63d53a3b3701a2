"""The Textual application: `pac-tui` with no subcommand."""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual.app import App, SystemCommand
from textual.screen import Screen

from pac_tui.ui.context import AppContext
from pac_tui.ui.heap import HeapSettler
from pac_tui.ui.messages import tell
from pac_tui.ui.screens.dashboard import DashboardScreen


class PacTuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "pac-tui"

    def __init__(self, ctx: AppContext, tick_interval: float | None = 1.0) -> None:
        super().__init__()
        self.ctx = ctx
        self.dashboard = DashboardScreen(ctx, tick_interval)
        self.heap = HeapSettler()

    async def action_quit(self) -> None:
        """Stop the webhook receiver (and every worker) before leaving."""
        await self.dashboard.shutdown()
        self.exit()

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        if self.ctx.settle_heap:
            # What exists before the first frame (modules, the config, the store) lives as long
            # as the app: out of the full collections' way from the start; after the first
            # frame, what drawing it left is collected and the rest frozen too (ui/heap.py).
            self.heap.freeze()
            self.call_after_refresh(self.heap.settle)
            self.set_interval(30, self.heap.maybe_settle, name="heap")
        for warning in self.ctx.warnings:
            tell(
                self.dashboard.post_message,
                warning,
                title="Warning",
                severity="warning",
                timeout=30,
            )
        if not self.ctx.config.repositories:
            self.dashboard.action_onboard()

    def on_unmount(self) -> None:
        if self.ctx.settle_heap:
            self.heap.release()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.heap.input()
        await super().on_event(event)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self.dashboard:
            return  # the dashboard's actions only make sense on the dashboard
        board = self.dashboard
        yield SystemCommand("Log in", "Log in to the selected repository", board.action_login)
        yield SystemCommand("Refresh", "Refresh the selected repository now", board.action_refresh)
        yield SystemCommand(
            "Refresh all", "Refresh every logged-in repository", board.action_refresh_all
        )
        yield SystemCommand(
            "Revoke", "Revoke the selected repository's tokens", board.action_revoke
        )
        yield SystemCommand(
            "Add repository", "Walk through adding a repository", board.action_onboard
        )
        yield SystemCommand(
            "Toggle auto-refresh", "Turn auto-refresh on or off", board.action_toggle_auto
        )
