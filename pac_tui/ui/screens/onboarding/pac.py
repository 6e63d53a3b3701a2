"""The walkthrough's "Connect to PAC" step: connect the repository to PAC on the cluster.

`ConnectStep` asks where PAC lives (kubeconfig context, namespace, Repository name), which token
PAC gets, and where GitLab sends webhooks (the form, a widget it composes: `pac_form.py`); Preview
runs the onboarding as a dry run, Connect runs it for real (`pac_tui.onboard`, the code behind
`pac-tui onboard`), and the outcome is shown with `pac_result.py`. The next step, the readiness
check, is `CheckStep` (`check.py`, also importable from here).

The step is a widget that owns its workers; the screen only navigates, and learns what
happened from `ConnectStep.Changed`. The core is imported lazily: `pac_tui.onboard` loads the
`kubernetes` client (~0.3 s), so the context list, loaded in a thread, imports it there first.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Input, Static

from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding.check import CheckStep
from pac_tui.ui.screens.onboarding.pac_form import PacForm, show_hint
from pac_tui.ui.screens.onboarding.pac_result import (
    explain_failure,
    failure,
    render_items,
    yaml_text,
)
from pac_tui.ui.screens.onboarding.steps import onboard_command

if TYPE_CHECKING:
    from pac_tui.onboard import OnboardResult

__all__ = ["CheckStep", "ConnectStep"]


class ConnectStep(VerticalScroll):
    """Step "Connect to PAC". `prepare` is called each time the step is shown."""

    class Changed(Message):
        """Busy or connected changed: the screen updates its Next button."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx: AppContext | None = None
        self.form = PacForm()
        self.busy = False
        self.result: OnboardResult | None = None  # the last run, preview or real
        self.connected: Repository | None = None  # bound, once Connect succeeded
        self.url: str | None = None  # the controller URL it was connected with

    def compose(self) -> ComposeResult:
        yield Static("", id="ob-pac-intro", classes="ob-text")
        yield self.form
        with Horizontal(classes="ob-actions"):
            yield Button("Preview (p)", id="ob-pac-preview")
            yield Button("Connect (c)", id="ob-pac-connect", variant="success")
            yield Button("Use OAuth mode", id="ob-pac-use-oauth", classes="-hidden")
        yield Static("", id="ob-pac-status", classes="ob-text -hidden")
        yield Static("", id="ob-pac-items", classes="ob-text -hidden")
        yaml = Collapsible(title="YAML and webhook", id="ob-pac-yaml", classes="-hidden")
        with yaml, VerticalScroll(id="ob-pac-yaml-scroll"):
            yield Static("", id="ob-pac-yaml-text")
        yield Static("", id="ob-pac-skip", classes="ob-hint")

    # ---- showing the step ---------------------------------------------------------------------

    def prepare(self, ctx: AppContext, repo_name: str) -> None:
        """Fill in the texts for `repo_name`; list the contexts (again, unless they loaded)."""
        self.ctx = ctx
        name = escape(repo_name)
        self.query_one("#ob-pac-intro", Static).update(
            f"Connect [b]{name}[/b] to Pipelines-as-Code on your cluster. pac-tui puts three "
            "things in place with your OAuth login, no personal access token: the PAC "
            "[b]Repository[/b] resource, its [b]Secret[/b] (the token PAC uses and the webhook "
            "secret) and the GitLab [b]webhook[/b]. [b]Preview[/b] shows what would change "
            "and writes nothing."
        )
        self.query_one("#ob-pac-skip", Static).update(
            f"Skip (ctrl+n) — do it later with [b]{escape(onboard_command(repo_name))}[/b]."
        )
        self.form.prepare(ctx, repo_name)

    @property
    def mode(self) -> str:
        """The token mode chosen in the form."""
        return self.form.mode

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; from the URL it previews (never Skip by accident)."""
        event.stop()
        following = {"ob-pac-namespace": "#ob-pac-repository", "ob-pac-repository": "#ob-pac-mode"}
        target = following.get(event.input.id or "")
        if target:
            self.query_one(target).focus()
        else:
            self.run(dry_run=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {
            "ob-pac-preview": lambda: self.run(dry_run=True),
            "ob-pac-connect": lambda: self.run(dry_run=False),
            "ob-pac-reload": self.form.load_contexts,
            "ob-pac-use-oauth": self.use_oauth,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    def use_oauth(self) -> None:
        self.form.set_mode(TokenMode.OAUTH)
        self.query_one("#ob-pac-use-oauth").set_class(True, "-hidden")
        self._hint(
            "#ob-pac-status",
            "[$text-warning]OAuth mode chosen: PAC will get your OAuth token through the token "
            "gateway.[/] Enter the gateway's URL, then press Preview or Connect again.",
        )
        self._focus_later(self.query_one("#ob-pac-gateway"))

    # ---- running the onboarding ---------------------------------------------------------------

    def run(self, *, dry_run: bool) -> None:
        """Check the form, then onboard in an async worker (a dry run for Preview)."""
        if self.busy or self.ctx is None:
            return
        try:
            repo, url = self.form.bound()
        except PacTuiError as exc:
            self._hint("#ob-pac-status", failure(str(exc)))
            return
        self._set_busy(True)
        what = "Previewing (nothing is written)" if dry_run else "Connecting"
        self._hint("#ob-pac-status", f"[$text-muted]{what}: asking GitLab and the cluster…[/]")
        self.onboard(repo, url, dry_run)

    @work(exclusive=True, group="pac-onboard", exit_on_error=False)
    async def onboard(self, repo: Repository, url: str | None, dry_run: bool) -> None:
        ctx = self.ctx
        assert ctx is not None and repo.kubernetes is not None
        from pac_tui.onboard import onboard, save_binding

        saved = False
        try:
            result = await onboard(
                repo, ctx.store, ctx.clock, ctx.clusters, controller_url=url, dry_run=dry_run
            )
            if not dry_run:
                binding = repo.kubernetes
                saved = await asyncio.to_thread(save_binding, ctx.config_path, repo.name, binding)
                ctx.reload_config()
        except PacTuiError as exc:
            self._failed(exc, repo)
            return
        self._succeeded(result, repo, url, saved)

    def _failed(self, exc: PacTuiError, repo: Repository) -> None:
        text, offer_oauth = explain_failure(exc, repo)
        self._hint("#ob-pac-status", text)
        offer = self.query_one("#ob-pac-use-oauth", Button)
        offer.set_class(not offer_oauth, "-hidden")
        self._set_busy(False)
        self._focus_later(offer if offer_oauth else self.query_one("#ob-pac-connect"))

    def _succeeded(
        self, result: OnboardResult, repo: Repository, url: str | None, saved: bool
    ) -> None:
        self.result = result
        items = self.query_one("#ob-pac-items", Static)
        items.update(render_items(result))
        items.set_class(False, "-hidden")
        self.query_one("#ob-pac-yaml-text", Static).update(yaml_text(result))
        self.query_one("#ob-pac-yaml").set_class(False, "-hidden")
        self.query_one("#ob-pac-use-oauth").set_class(True, "-hidden")
        warnings = "".join(f"\n[$text-warning]⚠ {escape(w)}[/]" for w in result.warnings)
        if result.dry_run:
            head = "Preview: nothing was written. Connect puts this in place."
            self._hint("#ob-pac-status", head + warnings)
        else:
            self.connected, self.url = repo, url
            config = " Recorded in your config file." if saved else ""
            self._hint(
                "#ob-pac-status",
                f"[$text-success]✔ Connected: PAC runs pipelines for {escape(repo.project)} from "
                f"its .tekton/ folder.[/]{config} Next checks that everything is ready.{warnings}",
            )
        self._set_busy(False)
        if result.dry_run:
            self._focus_later(self.query_one("#ob-pac-connect"))

    def _hint(self, selector: str, text: str) -> None:
        show_hint(self.query_one(selector, Static), text)

    def _set_busy(self, busy: bool) -> None:
        """While a run goes on, the form it reads cannot change, nor can another run start."""
        self.busy = busy
        for widget in self.query("Input, Select, RadioSet, .ob-actions Button, #ob-pac-reload"):
            widget.disabled = busy
        self.post_message(self.Changed())

    def _focus_later(self, widget: Widget) -> None:
        """After the refresh that re-enables the form (focus cannot land on a disabled widget)."""
        self.call_after_refresh(widget.focus)
