"""What the walkthrough's steps before PAC do: check each entry in place, then write the config.

`EntrySteps` is the base of `OnboardingScreen` (`onboarding.py`, which navigates): the instance
URL, the OAuth application (checked against the instance's token endpoint in a worker), the
project path and name (the config file is written here), and the keys of the register, login
and webhook steps (copy, open the page, log in).
"""

from __future__ import annotations

import secrets

from textual import on
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from pac_tui.core.config.write import (
    add_repository,
    check_name,
    check_project,
    normalize_gitlab_url,
    suggest_name,
)
from pac_tui.core.errors import PacTuiError, ProviderUnavailable
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.client_check import check_client
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding.steps import Draft


class EntrySteps(Screen[str | None]):
    """The draft and the checks of what the user enters; the screen shows the steps."""

    step: str  # the step shown, set by the screen

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.draft = Draft()
        self.checking = False
        self._suggested_name = ""
        self._prefilled = ("", "")

    def _show(self, step: str) -> None:
        """Show `step`: the screen's navigation."""
        raise NotImplementedError

    def _update_next(self) -> None:
        """Label and enable Next for the step: the screen's navigation."""
        raise NotImplementedError

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
            if name.value in ("", self._suggested_name) and event.value.strip():
                self._suggested_name = suggest_name(event.value, self._taken_names())
                name.value = self._suggested_name

    def _explain(self, selector: str, text: str, severity: str = "error") -> None:
        widget = self.query_one(selector, Static)
        widget.set_classes(f"ob-{severity}")
        widget.update(text)

    # ---- the steps that check something -------------------------------------------------------

    def _next_instance(self) -> None:
        try:
            url = normalize_gitlab_url(self.query_one("#ob-url", Input).value)
        except ValueError as exc:
            self._explain("#ob-url-error", f"✖ {escape(str(exc))}")
            return
        d = self.draft
        if url != d.url:
            d.unchecked = False
        d.url = url
        d.known_app = next((a for a in self.ctx.config.gitlab.values() if a.url == url), None)
        self._prefill_client()
        self._show("register")

    def _prefill_client(self) -> None:
        """Fill in the ID and secret of the instance's known application, unless the user typed
        their own; clear what was filled in for another instance."""
        fields = self.query_one("#ob-client-id", Input), self.query_one("#ob-client-secret", Input)
        current = (fields[0].value, fields[1].value)
        if current not in (("", ""), self._prefilled):
            return
        app = self.draft.known_app
        self._prefilled = (app.client_id, app.client_secret or "") if app else ("", "")
        fields[0].value, fields[1].value = self._prefilled

    def _next_client(self) -> None:
        d = self.draft
        client_id = self.query_one("#ob-client-id", Input).value.strip()
        secret = self.query_one("#ob-client-secret", Input).value.strip() or None
        if not client_id:
            self._explain(
                "#ob-client-status", "✖ Paste the Application ID that GitLab shows for the app."
            )
            return
        if d.unchecked and (client_id, secret) == (d.client_id, d.client_secret):
            self._show("project")  # second Next after "unreachable": continue, unchecked
            return
        d.client_id, d.client_secret, d.unchecked = client_id, secret, False
        self._set_checking(True)
        self._explain(
            "#ob-client-status", f"Checking the application at {escape(d.url)}…", "pending"
        )
        self.run_worker(self._check(), group="client-check", exclusive=True, exit_on_error=False)

    async def _check(self) -> None:
        d = self.draft
        try:
            await check_client(d.app)
        except ProviderUnavailable as exc:
            self._set_checking(False)
            d.unchecked = True
            self._explain(
                "#ob-client-status",
                f"⚠ {escape(str(exc))}\nThe application could not be checked. Press Next again "
                "to continue anyway; the login will tell if the ID or secret is wrong.",
                "warning",
            )
            return
        except PacTuiError as exc:
            self._set_checking(False)
            self._explain("#ob-client-status", f"✖ {escape(str(exc))}")
            return
        self._show("project")
        self.notify(f"{d.url} accepts this application.", title="Application checked")

    def _set_checking(self, checking: bool) -> None:
        """While the check runs, the entries it checks cannot change and Next waits."""
        was = self.checking
        self.checking = checking
        self._update_next()
        for field in self.query("#client Input"):
            field.disabled = checking
        if was and not checking and self.step == "client":
            self.query_one("#ob-client-id").focus()

    def _taken_names(self) -> list[str]:
        return [repo.name for repo in self.ctx.config.repositories]

    def _next_project(self) -> None:
        d = self.draft
        ok = True
        try:
            project = check_project(self.query_one("#ob-project", Input).value)
        except ValueError as exc:
            self._explain("#ob-project-error", f"✖ {escape(str(exc))}")
            ok = False
        try:
            name = check_name(self.query_one("#ob-name", Input).value, self._taken_names())
        except ValueError as exc:
            self._explain("#ob-name-error", f"✖ {escape(str(exc))}")
            ok = False
        if not ok:
            return
        webhook_secret = secrets.token_urlsafe(24)
        try:
            key = add_repository(
                self.ctx.config_path,
                gitlab_url=d.url,
                client_id=d.client_id,
                client_secret=d.client_secret,
                name=name,
                project=project,
                webhook_secret=webhook_secret,
            )
        except PacTuiError as exc:
            self._explain("#ob-project-error", f"✖ Nothing was saved: {escape(str(exc))}")
            return
        d.project, d.name, d.gitlab_key, d.webhook_secret = project, name, key, webhook_secret
        d.written = True
        try:
            self.ctx.reload_config()
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
