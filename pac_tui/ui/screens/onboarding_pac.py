"""The walkthrough's last steps: connect the repository to PAC, then check that PAC can run it.

`ConnectStep` asks where PAC lives (kubeconfig context, namespace, Repository name), which token
PAC gets, and where GitLab sends webhooks; Preview runs the onboarding as a dry run, Connect runs
it for real (`pac_tui.onboard`, the code behind `pac-tui onboard`). `CheckStep` runs the readiness
check (`pac_tui.readiness`) and shows it in the dashboard's own `ReadinessPanel`.

Both steps are widgets that own their workers; the screen only navigates, and learns what
happened from `ConnectStep.Changed`. The core is imported lazily: `pac_tui.onboard` loads the
`kubernetes` client (~0.3 s), so the context list, loaded in a thread, imports it there first.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Input, Label, RadioButton, RadioSet, Select, Static

from pac_tui.config import Repository
from pac_tui.errors import (
    ClusterRefused,
    ClusterUnavailable,
    NeedsLogin,
    PacTuiError,
    ProviderUnavailable,
)
from pac_tui.gitlab.api import GitLabApiError
from pac_tui.readiness import all_ok, run_checks
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding_steps import onboard_command
from pac_tui.ui.widgets.readiness_panel import ReadinessPanel

if TYPE_CHECKING:
    from pac_tui.config import KubernetesBinding
    from pac_tui.kube.cluster import ContextInfo
    from pac_tui.onboard import OnboardResult

MODES = ("project-token", "oauth")
MODE_HELP = {
    "project-token": (
        "pac-tui mints a [b]project access token[/b] with your login and rotates it before it "
        "expires; PAC uses that token. Works with every PAC release. Needs the Maintainer role "
        "(and on gitlab.com a Premium or Ultimate plan)."
    ),
    "oauth": (
        "PAC gets your [b]OAuth token[/b] itself, kept fresh by pac-tui. Only for a PAC that sends "
        "tokens as [b]Authorization: Bearer[/b]: today's released PAC sends them as Private-Token, "
        "which GitLab refuses for OAuth tokens."
    ),
}

MARKS = {  # action → (mark, style)
    "created": ("✔", "green"),
    "updated": ("✔", "green"),
    "unchanged": ("=", "dim"),
    "would create": ("+", "cyan"),
    "would update": ("~", "yellow"),
    "not checked": ("?", "yellow"),
}


def render_items(result: OnboardResult) -> RenderableType:
    """One line per thing put in place: mark, kind, name, what happened, detail."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=1)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for item in result.items:
        mark, style = MARKS.get(item.action, ("•", ""))
        grid.add_row(
            Text(mark, style=f"bold {style}"),
            item.kind,
            Text(item.action, style=style),
            Text(f"{item.name}" + (f"\n{item.detail}" if item.detail else "")),
        )
    return grid


def yaml_text(result: OnboardResult) -> Text:
    """What `pac-tui onboard --dry-run` prints: both resources, then the webhook's settings."""
    hook = "\n".join(
        f"#   {key}: {str(value).lower() if isinstance(value, bool) else value}"
        for key, value in result.hook.items()
    )
    return Text(
        f"# The PAC Repository resource\n{result.repository_yaml.rstrip()}\n---\n"
        f"# The Secret (values are never shown)\n{result.secret_yaml.rstrip()}\n\n"
        f"# The GitLab project webhook\n{hook}"
    )


def failure(message: str) -> str:
    """The markup of what went wrong; the advice after it stays in the normal colour."""
    return f"[$text-error]✖ {escape(message)}[/]"


def explain_failure(exc: PacTuiError, repo: Repository) -> tuple[str, bool]:
    """The error as markup with what to do next, and whether to offer OAuth mode."""
    text = failure(str(exc))
    binding = repo.kubernetes
    context = binding.context if binding and binding.context else "(current)"
    if isinstance(exc, ClusterUnavailable):
        return (
            f"{text}\nIs the cluster up? Try [b]kubectl --context {escape(context)} get "
            "namespaces[/b], or pick another context; then press Connect again. Nothing you "
            "entered is lost.",
            False,
        )
    if isinstance(exc, ClusterRefused):
        return f"{text}\nOnce that is fixed, press Connect again.", False
    if isinstance(exc, NeedsLogin):
        return (
            f"{text}\nLog in first (back to the Log in step, or [b]pac-tui login "
            f"{escape(repo.name)}[/b]), then press Connect again.",
            False,
        )
    if isinstance(exc, ProviderUnavailable) or (
        isinstance(exc, GitLabApiError) and exc.status >= 500
    ):
        return f"{text}\nGitLab could not be reached: press Connect again once it is back.", False
    if (
        binding is not None
        and binding.mode == "project-token"
        and ("Maintainer" in str(exc) or "project access token" in str(exc))
    ):
        return (
            f"{text}\nOr let PAC use your OAuth token instead (OAuth mode), if your PAC sends "
            "Bearer tokens. The webhook still needs the Maintainer role.",
            True,
        )
    return f"{text}\nFix it above and press Connect again, or skip for now.", False


class ConnectStep(VerticalScroll):
    """Step "Connect to PAC". `prepare` is called each time the step is shown."""

    class Changed(Message):
        """Busy or connected changed: the screen updates its Next button."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx: AppContext | None = None
        self.repo_name = ""
        self.busy = False
        self.result: OnboardResult | None = None  # the last run, preview or real
        self.connected: Repository | None = None  # bound, once Connect succeeded
        self.url: str | None = None  # the controller URL it was connected with
        self._contexts: list[ContextInfo] | None = None
        self._namespace_default = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="ob-pac-intro", classes="ob-text")
        yield Static("", id="ob-pac-context-error", classes="ob-text -hidden")
        with Grid(id="ob-pac-form"):
            yield Label("Kubernetes context", classes="ob-key")
            with Horizontal(classes="ob-row"):
                yield Select[str](
                    [],
                    prompt="Loading contexts…",
                    type_to_search=False,
                    compact=True,
                    id="ob-pac-context",
                )
                yield Button("Reload", compact=True, id="ob-pac-reload")
            yield Label("Namespace", classes="ob-key")
            yield Input(placeholder="e.g. ci", compact=True, id="ob-pac-namespace")
            yield Label("PAC Repository name", classes="ob-key")
            yield Input(placeholder="the repository's name", compact=True, id="ob-pac-repository")
            yield Label("Token PAC uses", classes="ob-key")
            with RadioSet(compact=True, id="ob-pac-mode"):
                yield RadioButton("project access token (recommended)", value=True)
                yield RadioButton("OAuth token (needs a PAC that sends Bearer tokens)")
            yield Label("")
            yield Static(MODE_HELP["project-token"], id="ob-pac-mode-help", classes="ob-hint")
            yield Label("PAC controller URL", classes="ob-key")
            yield Input(placeholder="https://pac.example.com", compact=True, id="ob-pac-controller")
            yield Label("")
            yield Static(
                "where GitLab sends the webhooks: the controller's route or ingress "
                "([b]tkn pac info install[/b] prints it)",
                classes="ob-hint",
            )
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
        self.ctx, self.repo_name = ctx, repo_name
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
        if self._contexts is None:
            self.load_contexts()

    @work(thread=True, exclusive=True, group="pac-contexts", exit_on_error=False)
    def load_contexts(self) -> None:
        """In a thread: the kubeconfig's contexts, and the defaults of the form."""
        assert self.ctx is not None
        from pac_tui.kube.cluster import list_contexts
        from pac_tui.onboard import binding_for  # imported here: it loads kubernetes

        try:
            contexts = list_contexts(self.ctx.kubeconfig)
            repo = self.ctx.config.repository(self.repo_name)
            binding = repo.kubernetes or binding_for(repo, namespace="default")
        except PacTuiError as exc:
            self.app.call_from_thread(self._no_contexts, str(exc))
            return
        self.app.call_from_thread(self._fill, contexts, repo, binding)

    def _no_contexts(self, why: str) -> None:
        self.query_one("#ob-pac-context", Select).set_options([])
        self._hint(
            "#ob-pac-context-error",
            f"{failure(why)}\npac-tui reads $KUBECONFIG, else ~/.kube/config. Create one "
            "(log in to your cluster, or [b]kind create cluster[/b]), then press Reload.",
        )

    def _fill(
        self, contexts: list[ContextInfo], repo: Repository, binding: KubernetesBinding
    ) -> None:
        assert self.ctx is not None
        self._contexts = contexts
        self._hint("#ob-pac-context-error", "")
        select = self.query_one("#ob-pac-context", Select)
        select.set_options((f"{c.name}  ({c.cluster})", c.name) for c in contexts)
        if not contexts:
            self._no_contexts("the kubeconfig has no contexts")
            return
        bound = repo.kubernetes
        chosen = next((c for c in contexts if c.name == binding.context), None)
        chosen = chosen or next((c for c in contexts if c.current), contexts[0])
        select.value = chosen.name
        self._namespace_default = chosen.namespace
        self._set("#ob-pac-namespace", bound.namespace if bound else chosen.namespace)
        self._set("#ob-pac-repository", binding.repository)
        self._set("#ob-pac-controller", self.ctx.config.webhook.relay or "")
        if bound:
            self._set_mode(bound.mode)

    def _set(self, selector: str, value: str) -> None:
        """Fill a field the user has not filled."""
        field = self.query_one(selector, Input)
        if not field.value:
            field.value = value

    def _set_mode(self, mode: str) -> None:
        buttons = list(self.query(RadioButton))
        buttons[MODES.index(mode)].value = True

    @property
    def mode(self) -> str:
        index = self.query_one(RadioSet).pressed_index
        return MODES[index if index >= 0 else 0]

    @on(RadioSet.Changed)
    def _mode_changed(self) -> None:
        self.query_one("#ob-pac-mode-help", Static).update(MODE_HELP[self.mode])

    @on(Select.Changed, "#ob-pac-context")
    def _context_changed(self, event: Select.Changed) -> None:
        """The namespace follows the context's default until the user types their own."""
        chosen = next((c for c in self._contexts or [] if c.name == event.value), None)
        field = self.query_one("#ob-pac-namespace", Input)
        if chosen and field.value in ("", self._namespace_default):
            field.value = chosen.namespace
        self._namespace_default = chosen.namespace if chosen else ""

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
            "ob-pac-reload": self.load_contexts,
            "ob-pac-use-oauth": self.use_oauth,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    def use_oauth(self) -> None:
        self._set_mode("oauth")
        self.query_one("#ob-pac-use-oauth").set_class(True, "-hidden")
        self._hint(
            "#ob-pac-status",
            "[$text-warning]OAuth mode chosen: PAC will get your OAuth token.[/] Press Preview "
            "or Connect again.",
        )

    # ---- running the onboarding ---------------------------------------------------------------

    def run(self, *, dry_run: bool) -> None:
        """Check the form, then onboard in an async worker (a dry run for Preview)."""
        if self.busy or self.ctx is None:
            return
        try:
            repo, url = self._bound()
        except PacTuiError as exc:
            self._hint("#ob-pac-status", failure(str(exc)))
            return
        self._set_busy(True)
        what = "Previewing (nothing is written)" if dry_run else "Connecting"
        self._hint("#ob-pac-status", f"[$text-muted]{what}: asking GitLab and the cluster…[/]")
        self.onboard(repo, url, dry_run)

    def _bound(self) -> tuple[Repository, str | None]:
        """The repository with the binding the form describes, and the controller URL."""
        assert self.ctx is not None
        from pac_tui.onboard import binding_for, check_controller_url

        repo = self.ctx.config.repository(self.repo_name)
        namespace = self.query_one("#ob-pac-namespace", Input).value.strip()
        if not namespace:
            raise PacTuiError("Enter the namespace where PAC should find the Repository.")
        url = self.query_one("#ob-pac-controller", Input).value.strip() or None
        if url is None and repo.kubernetes is None:
            raise PacTuiError(
                "Enter the PAC controller URL: GitLab sends the webhooks there. "
                "tkn pac info install prints it."
            )
        if url is not None:
            url = check_controller_url(url)
        context = self.query_one("#ob-pac-context", Select).value
        binding = binding_for(
            repo,
            namespace=namespace,
            mode=self.mode,
            context=context if isinstance(context, str) else None,
            repository=self.query_one("#ob-pac-repository", Input).value.strip() or None,
        )
        return replace(repo, kubernetes=binding), url

    @work(exclusive=True, group="pac-onboard", exit_on_error=False)
    async def onboard(self, repo: Repository, url: str | None, dry_run: bool) -> None:
        ctx = self.ctx
        assert ctx is not None and repo.kubernetes is not None
        from pac_tui.kube.cluster import Clusters
        from pac_tui.onboard import onboard, save_binding

        clusters = Clusters(ctx.kubeconfig)
        saved = False
        try:
            result = await onboard(
                repo, ctx.store, ctx.clock, clusters, controller_url=url, dry_run=dry_run
            )
            if not dry_run:
                binding = repo.kubernetes
                saved = await asyncio.to_thread(save_binding, ctx.config_path, repo.name, binding)
                ctx.reload_config()
        except PacTuiError as exc:
            self._failed(exc, repo)
            return
        finally:
            clusters.close()
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

    def _set_busy(self, busy: bool) -> None:
        """While a run goes on, the form it reads cannot change, nor can another run start."""
        self.busy = busy
        for widget in self.query("Input, Select, RadioSet, .ob-actions Button, #ob-pac-reload"):
            widget.disabled = busy
        self.post_message(self.Changed())

    def _focus_later(self, widget: Widget) -> None:
        """After the refresh that re-enables the form (focus cannot land on a disabled widget)."""
        self.call_after_refresh(widget.focus)

    def _hint(self, selector: str, text: str) -> None:
        """Show `text` (markup) in a Static that is hidden while it has nothing to say."""
        widget = self.query_one(selector, Static)
        widget.update(text)
        widget.display = bool(text)


class CheckStep(VerticalScroll):
    """Step "Check": the readiness lines of the connected repository."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.checks: list[Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "pac-tui asks GitLab and the cluster what PAC needs to run pipelines for this "
            "repository. A ✖ line says how to fix it; r checks again.",
            classes="ob-text",
        )
        yield ReadinessPanel(id="ob-check-panel")

    @property
    def summary(self) -> str:
        if not self.checks:
            return ""
        passed = sum(check.ok for check in self.checks)
        verdict = "ready for PAC" if all_ok(self.checks) else f"{len(self.checks) - passed} to fix"
        return f"{passed}/{len(self.checks)} passed: {verdict}"

    @work(exclusive=True, group="pac-check", exit_on_error=False)
    async def check(self, ctx: AppContext, repo: Repository, controller_url: str | None) -> None:
        panel = self.query_one(ReadinessPanel)
        panel.show(None)
        self.checks = None
        clusters = None
        if repo.kubernetes is not None:
            from pac_tui.kube.cluster import Clusters

            clusters = Clusters(ctx.kubeconfig)
        try:
            checks = await run_checks(
                repo,
                ctx.store,
                ctx.clock,
                clusters,
                controller_url=controller_url,
                relay_url=ctx.config.webhook.relay,
            )
        except PacTuiError as exc:
            panel.show(None, str(exc))
            return
        finally:
            if clusters is not None:
                clusters.close()
        self.checks = checks
        panel.show(checks)
