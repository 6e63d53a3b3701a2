"""One delivery in full: headers (token redacted), the payload as a tree, what PAC makes of it."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static, Tree
from textual.widgets.tree import TreeNode

from pac_tui.core.config import Config
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import iso_utc
from pac_tui.ui.screens.confirm import ConfirmScreen
from pac_tui.webhooks.models import Delivery
from pac_tui.webhooks.relay import replay
from pac_tui.webhooks.replay_rule import needs_force, replay_headers
from pac_tui.webhooks.summary import summarize

MAX_TREE_NODES = 5_000


class EventDetailScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("r", "replay", "Replay"),
        Binding("c", "copy", "Copy payload"),
    ]

    def __init__(self, delivery: Delivery, config: Config) -> None:
        super().__init__()
        self.delivery = delivery
        self.config = config
        self._tree_count = 0

    def compose(self) -> ComposeResult:
        d = self.delivery
        with Vertical(classes="dialog", id="event-detail"):
            yield Label(
                f"Delivery {d.id} · {d.kind or 'no X-Gitlab-Event'}", classes="dialog-title"
            )
            with VerticalScroll(id="event-detail-body"):
                yield Static(self._facts())
                yield Label("Headers", classes="section")
                yield Static(self._headers())
                yield Label("Payload", classes="section")
                yield self._tree()
            yield Label("[dim]r replay · c copy payload · esc close[/dim]")

    def _facts(self) -> Table:
        d = self.delivery
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("Received", f"{iso_utc(d.received_at)} via {d.source}")
        grid.add_row("Verdict", d.verdict.value)
        grid.add_row("Repository", d.repo or "—")
        grid.add_row("Project", d.project or "—")
        grid.add_row("Summary", d.summary)
        payload = self._payload()
        command = summarize(d.kind, payload).pac_command if isinstance(payload, dict) else None
        pac = d.pac_event or "ignored by PAC"
        grid.add_row("PAC", f"{pac}" + (f" (command {command})" if command else ""))
        if d.redeliveries:
            grid.add_row("Redeliveries", str(d.redeliveries))
        grid.add_row("Relay", d.relay_status or "—")
        return grid

    def _headers(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="cyan", no_wrap=True)
        grid.add_column()
        for name, value in sorted(self.delivery.headers.items()):
            grid.add_row(name, value)
        return grid

    def _payload(self) -> Any:
        try:
            return json.loads(self.delivery.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def _tree(self) -> Tree[None]:
        payload = self._payload()
        tree: Tree[None] = Tree("payload", id="event-payload")
        tree.show_root = False
        if payload is None:
            tree.root.add_leaf(Text(self.delivery.body[:2000].decode("utf-8", "replace")))
        else:
            self._add(tree.root, payload)
        tree.root.expand()
        return tree

    def _add(self, node: TreeNode[None], value: Any) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            self._tree_count += 1
            if self._tree_count > MAX_TREE_NODES:
                node.add_leaf(Text("… (more; copy the payload to see it all)", style="dim"))
                return
            if isinstance(child, dict | list) and child:
                label = Text.assemble((str(key), "bold"), (f"  {_shape(child)}", "dim"))
                self._add(node.add(label), child)
            else:
                node.add_leaf(Text.assemble((str(key), "bold"), ": ", _scalar(child)))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.delivery.body.decode("utf-8", "replace"))
        self.notify("Payload copied to the clipboard.")

    def action_replay(self) -> None:
        target = self.config.webhook.relay
        if not target:
            self.notify(
                "Set [webhook] relay in the config (the PAC controller URL) to replay.",
                severity="warning",
            )
            return
        if not needs_force(self.delivery):
            self.run_worker(self._replay(target), exit_on_error=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._replay(target), exit_on_error=False)

        self.app.push_screen(
            ConfirmScreen(
                "Replay a delivery pac-tui refused?",
                f"This delivery was {self.delivery.verdict.value}. It goes out to {target} as it "
                "came, without the webhook secret: pac-tui never lends the secret to a delivery "
                "it did not accept.",
                "Replay",
            ),
            answered,
        )

    async def _replay(self, target: str) -> None:
        d = self.delivery
        repo = self.config.find(d.repo) if d.repo else None
        headers = replay_headers(d, repo.webhook_secret if repo else None)
        try:
            status = await replay(target, headers, d.body)
        except PacTuiError as exc:
            self.notify(str(exc), title="Replay failed", severity="error")
            return
        self.notify(f"Replayed to {target}: HTTP {status}.")


def _shape(value: dict[str, Any] | list[Any]) -> str:
    return f"{{{len(value)}}}" if isinstance(value, dict) else f"[{len(value)}]"


def _scalar(value: Any) -> Text:
    if isinstance(value, str):
        shown = value if len(value) <= 200 else value[:200] + "…"
        return Text(json.dumps(shown), style="green")
    if value is None or isinstance(value, bool):
        return Text(json.dumps(value), style="magenta")
    return Text(json.dumps(value), style="yellow")
