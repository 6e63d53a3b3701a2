"""The onboarding walkthrough: add a repository, from the GitLab instance to the webhook.

Steps: instance URL → registering the OAuth application → its ID (and secret), checked against
the instance's token endpoint → project path and name (the config file is written here) → login
→ webhook settings → connect to PAC (`pac.py`: Repository, Secret, webhook) → the PAC readiness
check (`check.py`) → done. Every entry is checked in place by `EntryChecks` (`entries.py`, which
this screen calls); nothing is written before the project step, and what is written is
validated by the core first. This module navigates between the steps, shows what the checks
say, and runs the steps' actions (`steps.py` says what each one shows). Shown at start when no
repository is configured, and from the dashboard (o, or "Add repository" in the palette);
`connect=NAME` opens it at the PAC step for a repository that is already saved.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Header, Input, Static

from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import TokenRecord
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding import steps
from pac_tui.ui.screens.onboarding.check import CheckStep
from pac_tui.ui.screens.onboarding.entries import EntryChecks, Invalid
from pac_tui.ui.screens.onboarding.pac import ConnectStep
from pac_tui.ui.screens.onboarding.steps import STEPS, Draft

_NEXT_LABELS = {"client": "Check & next", "project": "Save & next", "done": "Finish"}
_FIRST_FOCUS = {
    "instance": "#ob-url",
    "client": "#ob-client-id",
    "project": "#ob-project",
    "login": "#ob-login-now",
    "pac": "#ob-pac-context",
}
_STEP_KEYS = {  # the keys that only mean something on one step
    "copy_redirect": "register",
    "copy_scope": "register",
    "copy_secret": "webhook",
    "preview": "pac",
    "connect": "pac",
    "recheck": "check",
}


class OnboardingScreen(Screen[str | None]):
    """Dismisses with the added repository's name, or None when left before it was saved."""

    BINDINGS = [
        Binding("escape", "leave", "Leave"),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
        Binding("u", "copy_redirect", "Copy redirect URI"),
        Binding("s", "copy_scope", "Copy scope"),
        Binding("t", "copy_secret", "Copy secret token"),
        Binding("o", "open_page", "Open in browser"),
        Binding("l", "login", "Log in now"),
        Binding("p", "preview", "Preview"),
        Binding("c", "connect", "Connect"),
        Binding("r", "recheck", "Check again"),
    ]

    def __init__(self, ctx: AppContext, connect: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.draft = Draft()
        self.entries = EntryChecks(ctx, self.draft)
        self.checking = False
        self.step = STEPS[0]
        self.first = STEPS[0]  # no going back before it
        self._connect = connect

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="ob-body"):
            yield Static("", id="ob-progress")
            with ContentSwitcher(initial=self.step, id="ob-steps"):
                yield from steps.compose_steps()
                yield ConnectStep(id="pac")
                yield CheckStep(id="check")
            with Horizontal(id="ob-nav"):
                yield Button("Back", id="ob-back")
                yield Button("Next", id="ob-next", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Add a repository"
        known = list(self.ctx.config.gitlab.values())
        self.query_one("#ob-url", Input).value = known[0].url if known else steps.DEFAULT_URL
        if self._connect is not None:
            self._resume(self._connect)
        self._show(self.step)

    def _resume(self, name: str) -> None:
        """Start at the PAC step for a repository that is already in the config."""
        try:
            repo = self.ctx.config.repository(name)
        except PacTuiError as exc:
            self.notify(str(exc), title="Connect to PAC", severity="error")
            return
        d = self.draft
        d.url, d.project, d.name = repo.gitlab.url, repo.project, name
        d.gitlab_key = repo.gitlab.key
        d.client_id, d.client_secret = repo.gitlab.client_id, repo.gitlab.client_secret
        d.webhook_secret, d.written = repo.webhook_secret or "", True
        record = self.ctx.store.get(name)
        d.logged_in = record is not None and record.tokens is not None
        d.logged_in_as = record.username if record else None
        self.step = self.first = "pac"

    # ---- navigation -------------------------------------------------------------------------

    def _show(self, step: str) -> None:
        self.step = step
        for widget_id, text in steps.texts(step, self.draft, str(self.ctx.config_path)).items():
            self.query_one(f"#{widget_id}", Static).update(text)
        self.query_one("#ob-steps", ContentSwitcher).current = step
        self.query_one("#ob-progress", Static).update(steps.progress(step))
        if step == "pac":
            self.query_one(ConnectStep).prepare(self.ctx, self.draft.name)
        elif step == "check":
            connect = self.query_one(ConnectStep)
            if connect.connected is not None:
                self.query_one(CheckStep).check(self.ctx, connect.connected, connect.url)
        self.query_one("#ob-back", Button).disabled = not self.check_action("back", ())
        self._set_checking(False)
        self.query_one(_FIRST_FOCUS.get(step, "#ob-next")).focus()
        self.refresh_bindings()

    def _update_next(self) -> None:
        """Next says Skip where the step's point is not reached yet, and waits for a run."""
        connect = self.query_one(ConnectStep)
        skip = (self.step == "login" and not self.draft.logged_in) or (
            self.step == "pac" and connect.connected is None
        )
        button = self.query_one("#ob-next", Button)
        button.label = "Skip" if skip else _NEXT_LABELS.get(self.step, "Next")
        button.disabled = self.checking or (self.step == "pac" and connect.busy)

    @on(ConnectStep.Changed)
    def _connect_changed(self) -> None:
        connect = self.query_one(ConnectStep)
        result, repo = connect.result, connect.connected
        if repo is not None and repo.kubernetes is not None and result and not result.dry_run:
            b = repo.kubernetes
            done = ", ".join(f"{item.kind} {item.action}" for item in result.items)
            self.draft.pac = f"{b.namespace}/{b.repository}, {b.mode} mode: {done}"
        self._update_next()
        if repo is not None and not connect.busy and self.step == "pac":
            self.call_after_refresh(self.query_one("#ob-next", Button).focus)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            index = STEPS.index(self.step)
            return index > STEPS.index(self.first) and not (
                self.draft.written and self.step == "login"
            )
        if action in _STEP_KEYS:
            return self.step == _STEP_KEYS[action]
        if action == "open_page":
            return self.step in ("register", "webhook")
        if action == "login":
            return self.step == "login"
        return True

    def action_back(self) -> None:
        if not self.check_action("back", ()):
            return
        self.workers.cancel_group(self, "client-check")
        previous = STEPS[STEPS.index(self.step) - 1]
        if self.step == "done" and not self.draft.pac:
            previous = "pac"  # the check was skipped with it
        self._show(previous)

    def action_next(self) -> None:
        if self.checking or (self.step == "pac" and self.query_one(ConnectStep).busy):
            return
        {
            "instance": self._next_instance,
            "register": lambda: self._show("client"),
            "client": self._next_client,
            "project": self._next_project,
            "login": lambda: self._show("webhook"),
            "webhook": lambda: self._show("pac"),
            "pac": lambda: self._show("check" if self.draft.pac else "done"),
            "check": self._next_check,
            "done": lambda: self.dismiss(self.draft.name),
        }[self.step]()

    def _next_check(self) -> None:
        self.draft.checked = self.query_one(CheckStep).summary
        self._show("done")

    def action_preview(self) -> None:
        self.query_one(ConnectStep).run(dry_run=True)

    def action_connect(self) -> None:
        self.query_one(ConnectStep).run(dry_run=False)

    def action_recheck(self) -> None:
        self._show("check")

    def action_leave(self) -> None:
        self.dismiss(self.draft.name if self.draft.written else None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {
            "ob-back": self.action_back,
            "ob-next": self.action_next,
            "ob-copy-redirect": self.action_copy_redirect,
            "ob-copy-scope": self.action_copy_scope,
            "ob-copy-secret": self.action_copy_secret,
            "ob-open-applications": self.action_open_page,
            "ob-open-hooks": self.action_open_page,
            "ob-login-now": self.action_login,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the step's next field, and from its last one to the next step."""
        event.stop()
        following = {"ob-client-id": "#ob-client-secret", "ob-project": "#ob-name"}
        target = following.get(event.input.id or "")
        if target:
            self.query_one(target).focus()
        else:
            self.action_next()

    # ---- the steps that check something -------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        """Editing a field clears its explanation; the name follows the project until edited."""
        field = event.input.id or ""
        errors = {
            "ob-url": "#ob-url-error",
            "ob-client-id": "#ob-client-status",
            "ob-client-secret": "#ob-client-status",
            "ob-project": "#ob-project-error",
            "ob-name": "#ob-name-error",
        }
        if field in errors:
            self._explain(errors[field], "")
        if field == "ob-project":
            name = self.query_one("#ob-name", Input)
            suggested = self.entries.suggested_name(event.value, name.value)
            if suggested is not None:
                name.value = suggested

    def _explain(self, selector: str, text: str, severity: str = "error") -> None:
        widget = self.query_one(selector, Static)
        widget.set_classes(f"ob-{severity}")
        widget.update(text)

    def _explain_all(self, invalid: Invalid) -> None:
        for selector, text in invalid.explanations.items():
            self._explain(selector, text, invalid.severity)

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def _next_instance(self) -> None:
        try:
            self.entries.instance(self._value("#ob-url"))
        except Invalid as invalid:
            self._explain_all(invalid)
            return
        fields = self.query_one("#ob-client-id", Input), self.query_one("#ob-client-secret", Input)
        prefilled = self.entries.prefill((fields[0].value, fields[1].value))
        if prefilled is not None:
            fields[0].value, fields[1].value = prefilled
        self._show("register")

    def _next_client(self) -> None:
        client_id = self._value("#ob-client-id").strip()
        secret = self._value("#ob-client-secret").strip() or None
        try:
            needs_check = self.entries.client(client_id, secret)
        except Invalid as invalid:
            self._explain_all(invalid)
            return
        if not needs_check:
            self._show("project")
            return
        self._set_checking(True)
        self._explain(
            "#ob-client-status",
            f"Checking the application at {escape(self.draft.url)}…",
            "pending",
        )
        self.run_worker(self._check(), group="client-check", exclusive=True, exit_on_error=False)

    async def _check(self) -> None:
        try:
            await self.entries.check_client()
        except Invalid as invalid:
            self._set_checking(False)
            self._explain_all(invalid)
            return
        self._show("project")
        self.notify(f"{self.draft.url} accepts this application.", title="Application checked")

    def _set_checking(self, checking: bool) -> None:
        """While the check runs, the entries it checks cannot change and Next waits."""
        was = self.checking
        self.checking = checking
        self._update_next()
        for field in self.query("#client Input"):
            field.disabled = checking
        if was and not checking and self.step == "client":
            self.query_one("#ob-client-id").focus()

    def _next_project(self) -> None:
        try:
            self.entries.project(self._value("#ob-project"), self._value("#ob-name"))
        except Invalid as invalid:
            self._explain_all(invalid)
            return
        except PacTuiError as exc:  # written and validated, so only a race could get here
            self.notify(str(exc), title="Config", severity="error", timeout=15)
        self._show("login")

    # ---- step actions -------------------------------------------------------------------------

    def _copy(self, text: str, what: str) -> None:
        self.app.copy_to_clipboard(text)
        self.notify(f"{what} copied to the clipboard.")

    def action_copy_redirect(self) -> None:
        self._copy(self.draft.redirect_uri, "Redirect URI")

    def action_copy_scope(self) -> None:
        self._copy(self.draft.scope, "Scope")

    def action_copy_secret(self) -> None:
        self._copy(self.draft.webhook_secret, "Secret token")

    def action_open_page(self) -> None:
        d = self.draft
        url = d.applications_page if self.step == "register" else d.hooks_page
        opener = self.ctx.open_browser
        if opener is None:
            self._copy(url, "No browser here; the page URL was")
            return
        self.run_worker(lambda: opener(url), thread=True, exit_on_error=False)
        self.notify(f"Opening {url}")

    def action_login(self) -> None:
        from pac_tui.ui.screens.login import LoginScreen

        try:
            repo = self.ctx.config.repository(self.draft.name)
        except PacTuiError as exc:
            self.notify(str(exc), title="Login", severity="error")
            return
        self.app.push_screen(LoginScreen(self.ctx, repo), self._logged_in)

    def _logged_in(self, record: TokenRecord | None) -> None:
        d = self.draft
        outcome = self.query_one("#ob-login-outcome", Static)
        if record is None:
            outcome.update(
                "[$text-warning]Not logged in.[/] Try again (l), or skip (Next) and log in later."
            )
            return
        d.logged_in, d.logged_in_as = True, record.username
        who = f" as [b]{escape(record.username)}[/b]" if record.username else ""
        outcome.update(f"[$text-success]✔ Logged in{who}.[/] Next: the webhook.")
        self._update_next()
        self.query_one("#ob-next", Button).focus()
