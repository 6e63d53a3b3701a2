"""The checks of what the user enters on the walkthrough's steps before PAC, and the config write.

`EntryChecks` is a plain object the screen (`screen.py`) calls with the fields' values: the
instance URL, the OAuth application (checked against the instance's token endpoint), the project
path and name (the config file is written here). It keeps the `Draft` up to date and raises
`Invalid` with what to explain under which field; it touches no widget.
"""

from __future__ import annotations

import secrets

from textual.markup import escape

from pac_tui.core.config.write import (
    add_repository,
    check_name,
    check_project,
    normalize_gitlab_url,
    suggest_name,
)
from pac_tui.core.errors import PacTuiError, ProviderUnavailable
from pac_tui.oauth.client_check import check_client
from pac_tui.ui.context import AppContext
from pac_tui.ui.screens.onboarding.steps import Draft

NO_CLIENT_ID = "✖ Paste the Application ID that GitLab shows for the app."


class Invalid(Exception):
    """An entry the step cannot take: markup to show, by the selector of the Static under the
    field, and how it looks (error, or warning when the user may go on)."""

    def __init__(self, explanations: dict[str, str], severity: str = "error") -> None:
        super().__init__(" ".join(explanations.values()))
        self.explanations = explanations
        self.severity = severity


class EntryChecks:
    """Checks entries against the draft (and the instance), and records what passed in it."""

    def __init__(self, ctx: AppContext, draft: Draft) -> None:
        self.ctx = ctx
        self.draft = draft
        self._suggested_name = ""
        self._prefilled = ("", "")

    def instance(self, entered: str) -> None:
        """The instance URL; the draft learns the instance and its known application."""
        try:
            allowed = {a.url for a in self.ctx.config.gitlab.values() if a.allow_insecure_http}
            url = normalize_gitlab_url(entered, allowed)
        except ValueError as exc:
            raise Invalid({"#ob-url-error": f"✖ {escape(str(exc))}"}) from exc
        d = self.draft
        if url != d.url:
            d.unchecked = False
        d.url = url
        d.known_app = next((a for a in self.ctx.config.gitlab.values() if a.url == url), None)

    def prefill(self, current: tuple[str, str]) -> tuple[str, str] | None:
        """The ID and secret of the instance's known application, to fill in unless the user
        typed their own (None: leave the fields); clears what was filled in for another
        instance."""
        if current not in (("", ""), self._prefilled):
            return None
        app = self.draft.known_app
        self._prefilled = (app.client_id, app.client_secret or "") if app else ("", "")
        return self._prefilled

    def client(self, client_id: str, secret: str | None) -> bool:
        """The application's ID and secret; False when they need no new check (the second Next
        after "unreachable", with the same entries: continue, unchecked)."""
        if not client_id:
            raise Invalid({"#ob-client-status": NO_CLIENT_ID})
        d = self.draft
        if d.unchecked and (client_id, secret) == (d.client_id, d.client_secret):
            return False
        d.client_id, d.client_secret, d.unchecked = client_id, secret, False
        return True

    async def check_client(self) -> None:
        """Ask the instance's token endpoint about the application, without logging in."""
        d = self.draft
        try:
            await check_client(d.app)
        except ProviderUnavailable as exc:
            d.unchecked = True
            raise Invalid(
                {
                    "#ob-client-status": (
                        f"⚠ {escape(str(exc))}\nThe application could not be checked. Press "
                        "Next again to continue anyway; the login will tell if the ID or secret "
                        "is wrong."
                    )
                },
                "warning",
            ) from exc
        except PacTuiError as exc:
            raise Invalid({"#ob-client-status": f"✖ {escape(str(exc))}"}) from exc

    def taken_names(self) -> list[str]:
        return [repo.name for repo in self.ctx.config.repositories]

    def suggested_name(self, project: str, name: str) -> str | None:
        """The name to put in the name field as the project is typed, while the user has not
        edited it (None: leave it)."""
        if name not in ("", self._suggested_name) or not project.strip():
            return None
        self._suggested_name = suggest_name(project, self.taken_names())
        return self._suggested_name

    def project(self, project: str, name: str) -> None:
        """The project path and name; then the repository is added to the config file, and
        the config re-read (which raises `PacTuiError` only if something changed it meanwhile)."""
        explanations = {}
        try:
            project = check_project(project)
        except ValueError as exc:
            explanations["#ob-project-error"] = f"✖ {escape(str(exc))}"
        try:
            name = check_name(name, self.taken_names())
        except ValueError as exc:
            explanations["#ob-name-error"] = f"✖ {escape(str(exc))}"
        if explanations:
            raise Invalid(explanations)
        d = self.draft
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
            raise Invalid(
                {"#ob-project-error": f"✖ Nothing was saved: {escape(str(exc))}"}
            ) from exc
        d.project, d.name, d.gitlab_key, d.webhook_secret = project, name, key, webhook_secret
        d.written = True
        self.ctx.reload_config()
