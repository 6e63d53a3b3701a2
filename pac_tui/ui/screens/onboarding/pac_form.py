"""The form of the "Connect to PAC" step: kubeconfig context, namespace, Repository name, token
mode (with the token gateway's URL in OAuth mode) and controller URL.

`PacForm` is a widget: it loads the kubeconfig's contexts in a thread and fills in the
defaults, keeps the namespace and the mode's help in step with the choices, and reads the form
back as the repository's binding (`bound`). `ConnectStep` (`pac.py`) composes it between its
intro and its buttons, and runs the onboarding with what it reads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding.pac_result import failure

if TYPE_CHECKING:
    from pac_tui.core.config import KubernetesBinding
    from pac_tui.kube.cluster import ContextInfo

MODES = tuple(TokenMode)
MODE_HELP = {
    TokenMode.PROJECT_TOKEN: (
        "pac-tui mints a [b]project access token[/b] with your login and rotates it before it "
        "expires; PAC uses that token. Works with every PAC release. Needs the Maintainer role "
        "(and on gitlab.com a Premium or Ultimate plan)."
    ),
    TokenMode.OAUTH: (
        "PAC gets your [b]OAuth token[/b] itself, kept fresh by pac-tui. Today's PAC sends it as "
        "Private-Token, which GitLab refuses for OAuth tokens, so PAC reaches GitLab through "
        "pac-tui's [b]token gateway[/b] (deploy/gateway.yaml): works on every GitLab plan."
    ),
}


def show_hint(widget: Static, text: str) -> None:
    """Show `text` (markup) in a Static that is hidden while it has nothing to say."""
    widget.update(text)
    widget.display = bool(text)


class PacForm(Vertical):
    """The inputs of the PAC step and the contexts behind them. No box of its own: the step
    lays it out as if its fields were the step's."""

    DEFAULT_CSS = """
    PacForm {
        height: auto;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.ctx: AppContext | None = None
        self.repo_name = ""
        self._contexts: list[ContextInfo] | None = None
        self._namespace_default = ""

    def prepare(self, ctx: AppContext, repo_name: str) -> None:
        """For `repo_name`: list the contexts (again, unless they loaded)."""
        self.ctx, self.repo_name = ctx, repo_name
        if self._contexts is None:
            self.load_contexts()

    def compose(self) -> ComposeResult:
        """Where the context list failed, then the grid of inputs."""
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
                yield RadioButton("OAuth token (through pac-tui's token gateway)")
            yield Label("")
            yield Static(MODE_HELP[MODES[0]], id="ob-pac-mode-help", classes="ob-hint")
            yield Label("Token gateway URL", classes="ob-key ob-gateway")
            yield Input(
                placeholder="http://pac-tui-gateway.pac-tui.svc",
                compact=True,
                id="ob-pac-gateway",
                classes="ob-gateway",
            )
            yield Label("", classes="ob-gateway")
            yield Static(
                "where PAC reaches the gateway from inside the cluster: its Service",
                classes="ob-hint ob-gateway",
            )
            yield Label("PAC controller URL", classes="ob-key")
            yield Input(placeholder="https://pac.example.com", compact=True, id="ob-pac-controller")
            yield Label("")
            yield Static(
                "where GitLab sends the webhooks: the controller's route or ingress "
                "([b]tkn pac info install[/b] prints it)",
                classes="ob-hint",
            )

    @work(thread=True, exclusive=True, group="pac-contexts", exit_on_error=False)
    def load_contexts(self) -> None:
        """In a thread: the kubeconfig's contexts, and the defaults of the form."""
        assert self.ctx is not None
        from pac_tui.onboard import binding_for  # imported here: it loads kubernetes

        try:
            contexts = self.ctx.clusters.contexts()
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
            self.set_mode(bound.mode)
            self._set("#ob-pac-gateway", bound.gateway or "")

    def _set(self, selector: str, value: str) -> None:
        """Fill a field the user has not filled."""
        field = self.query_one(selector, Input)
        if not field.value:
            field.value = value

    def set_mode(self, mode: TokenMode) -> None:
        buttons = list(self.query(RadioButton))
        buttons[MODES.index(mode)].value = True

    @property
    def mode(self) -> TokenMode:
        index = self.query_one(RadioSet).pressed_index
        return MODES[index if index >= 0 else 0]

    def on_mount(self) -> None:
        self._show_gateway()

    @on(RadioSet.Changed)
    def _mode_changed(self) -> None:
        self.query_one("#ob-pac-mode-help", Static).update(MODE_HELP[self.mode])
        self._show_gateway()

    def _show_gateway(self) -> None:
        """The gateway's URL matters in OAuth mode only."""
        for widget in self.query(".ob-gateway"):
            widget.display = self.mode == TokenMode.OAUTH

    @on(Select.Changed, "#ob-pac-context")
    def _context_changed(self, event: Select.Changed) -> None:
        """The namespace follows the context's default until the user types their own."""
        chosen = next((c for c in self._contexts or [] if c.name == event.value), None)
        field = self.query_one("#ob-pac-namespace", Input)
        if chosen and field.value in ("", self._namespace_default):
            field.value = chosen.namespace
        self._namespace_default = chosen.namespace if chosen else ""

    def bound(self) -> tuple[Repository, str | None]:
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
        gateway = self.query_one("#ob-pac-gateway", Input).value.strip() or None
        binding = binding_for(
            repo,
            namespace=namespace,
            mode=self.mode,
            context=context if isinstance(context, str) else None,
            repository=self.query_one("#ob-pac-repository", Input).value.strip() or None,
            gateway=gateway if self.mode == TokenMode.OAUTH else None,
        )
        return replace(repo, kubernetes=binding), url

    def _hint(self, selector: str, text: str) -> None:
        show_hint(self.query_one(selector, Static), text)
