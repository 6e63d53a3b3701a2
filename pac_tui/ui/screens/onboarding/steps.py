"""What the onboarding walkthrough shows on each step: the widgets and the texts.

The screen (`screen.py`) owns navigation and the workers of the steps before PAC, `entries.py`
checks what is entered; this module only says what each step looks like, from the `Draft` the
user has filled in so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import Button, Input, Label, Static

from pac_tui.core.config import DEFAULT_REDIRECT_URI, DEFAULT_SCOPES, GitLabApp

STEPS = ("instance", "register", "client", "project", "login", "webhook", "pac", "check", "done")
TITLES = {
    "instance": "Instance",
    "register": "OAuth app",
    "client": "Client",
    "project": "Project",
    "login": "Log in",
    "webhook": "Webhook",
    "pac": "PAC",
    "check": "Check",
    "done": "Done",
}
DEFAULT_URL = "https://gitlab.com"
WEBHOOK_EVENTS = "Push events, Tag push events, Merge request events, Comments"


@dataclass
class Draft:
    """What the user entered so far, and what has been done with it."""

    url: str = ""
    known_app: GitLabApp | None = None  # already in the config for this instance
    client_id: str = ""
    client_secret: str | None = None
    unchecked: bool = False  # continued although the instance could not be reached
    project: str = ""
    name: str = ""
    gitlab_key: str = ""
    webhook_secret: str = ""
    written: bool = False
    logged_in_as: str | None = None
    logged_in: bool = False
    pac: str = ""  # what Connect put in place ("" while not connected)
    checked: str = ""  # the readiness summary ("" while not checked)

    @property
    def redirect_uri(self) -> str:
        return self.known_app.redirect_uri if self.known_app else DEFAULT_REDIRECT_URI

    @property
    def scope(self) -> str:
        return " ".join(self.known_app.scopes if self.known_app else DEFAULT_SCOPES)

    @property
    def app(self) -> GitLabApp:
        """The application as entered, for the client check."""
        return GitLabApp(
            key="new",
            url=self.url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
        )

    @property
    def applications_page(self) -> str:
        return f"{self.url}/-/user_settings/applications"

    @property
    def hooks_page(self) -> str:
        return f"{self.url}/{self.project}/-/hooks"


def onboard_command(name: str) -> str:
    """The command that does the "Connect to PAC" step later."""
    return f"pac-tui onboard {name} --namespace NS --controller-url URL"


def progress(current: str) -> str:
    """The step line: done steps ticked, the current one highlighted."""
    index = STEPS.index(current)
    parts = []
    for n, step in enumerate(STEPS):
        label = f"{n + 1} {TITLES[step]}"
        if n < index:
            parts.append(f"[$text-success]✔ {label}[/]")
        elif n == index:
            parts.append(f"[reverse b] {label} [/]")
        else:
            parts.append(f"[dim]{label}[/]")
    return "  ".join(parts)


def _fields(step: str, *names: str) -> ComposeResult:
    """A two-column grid, label and value, so long values wrap under themselves."""
    with Grid(classes="ob-fields"):
        for name in names:
            yield Label(name, classes="ob-key")
            yield Static("", id=f"ob-{step}-{_slug(name)}", classes="ob-value")


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def compose_steps() -> ComposeResult:
    """One container per step, for a ContentSwitcher. Texts that depend on the draft are filled
    in by the screen (from `texts()`) when it shows the step."""
    with VerticalScroll(id="instance"):
        yield Static(INTRO, classes="ob-text")
        yield Label("GitLab instance URL", classes="ob-label")
        yield Input(placeholder="https://gitlab.example.com", id="ob-url")
        yield Static("", id="ob-url-error", classes="ob-error")
    with VerticalScroll(id="register"):
        yield Static("", id="ob-register-intro", classes="ob-text")
        yield from _fields("register", "Name", "Redirect URI", "Scopes", "Confidential")
        yield Static("", id="ob-register-outro", classes="ob-text")
        with Horizontal(classes="ob-actions"):
            yield Button("Copy redirect URI (u)", id="ob-copy-redirect")
            yield Button("Copy scope (s)", id="ob-copy-scope")
            yield Button("Open the page (o)", id="ob-open-applications")
    with VerticalScroll(id="client"):
        yield Static("", id="ob-client-intro", classes="ob-text")
        yield Label("Application ID", classes="ob-label")
        yield Input(placeholder="the Application ID GitLab shows", id="ob-client-id")
        yield Label("Secret (confidential applications only; else leave empty)", classes="ob-label")
        yield Input(placeholder="empty: not confidential", password=True, id="ob-client-secret")
        yield Static("", id="ob-client-status", classes="ob-error")
    with VerticalScroll(id="project"):
        yield Static("", id="ob-project-intro", classes="ob-text")
        yield Label("GitLab project path", classes="ob-label")
        yield Input(placeholder="group/subgroup/project", id="ob-project")
        yield Static("", id="ob-project-error", classes="ob-error")
        yield Label("Name in pac-tui (commands take it: pac-tui login NAME)", classes="ob-label")
        yield Input(placeholder="from the project path", id="ob-name")
        yield Static("", id="ob-name-error", classes="ob-error")
    with VerticalScroll(id="login"):
        yield Static("", id="ob-login-intro", classes="ob-text")
        with Horizontal(classes="ob-actions"):
            yield Button("Log in now (l)", id="ob-login-now", variant="success")
        yield Static("", id="ob-login-outcome", classes="ob-text")
    with VerticalScroll(id="webhook"):
        yield Static("", id="ob-webhook-intro", classes="ob-text")
        yield from _fields("webhook", "URL", "Secret token", "Trigger", "SSL verification")
        yield Static("", id="ob-webhook-outro", classes="ob-text")
        with Horizontal(classes="ob-actions"):
            yield Button("Copy secret token (t)", id="ob-copy-secret")
            yield Button("Open the page (o)", id="ob-open-hooks")
    with VerticalScroll(id="done"):
        yield Static("", id="ob-done-intro", classes="ob-text")
        yield from _fields(
            "done", "Project", "Application", "Login", "Webhook", "PAC", "Check", "Config"
        )
        yield Static("Finish returns to the dashboard.", classes="ob-text")


INTRO = (
    "pac-tui holds a GitLab OAuth token for each repository, so that Tekton Pipelines-as-Code "
    "can use it without anyone creating or rotating a personal access token.\n\n"
    "This walkthrough registers an OAuth application on your GitLab instance, checks it, adds "
    "the repository to your config file, logs you in, connects the repository to PAC on your "
    "cluster (Repository, Secret and webhook) and checks that PAC can run its pipelines. "
    "Nothing is written before step 4; esc leaves at any time."
)


def texts(step: str, d: Draft, config_path: str) -> dict[str, str]:
    """The markup of each draft-dependent widget of `step`, by widget id."""
    builders = {
        "register": _register,
        "client": _client,
        "project": _project,
        "login": _login,
        "webhook": _webhook,
        "done": lambda d: _done(d, config_path),
    }
    return builders[step](d) if step in builders else {}


def _register(d: Draft) -> dict[str, str]:
    url = escape(d.url)
    port_note = (
        "\nGitLab accepts any port on a loopback IP literal: pac-tui listens on a free port."
        if d.redirect_uri == DEFAULT_REDIRECT_URI
        else ""
    )
    known = ""
    if d.known_app:
        known = (
            f"\n\n[$text-success]Your config already has an application for this instance "
            f"(\\[gitlab.{escape(d.known_app.key)}]): its ID is filled in on the next step, "
            "so you can skip this one.[/]"
        )
    return {
        "ob-register-intro": (
            f"Register pac-tui once per instance. On [b]{url}[/b] open [b]User settings → "
            "Applications → Add new application[/b] (or a group's Settings → Applications, or "
            "Admin → Applications on a self-managed instance):\n"
            f"[dim]{escape(d.applications_page)}[/dim]"
        ),
        "ob-register-name": "pac-tui",
        "ob-register-redirect-uri": (
            f"[b $accent]{escape(d.redirect_uri)}[/]  exactly (u copies it){port_note}"
        ),
        "ob-register-scopes": (
            f"[b $accent]{escape(d.scope)}[/]  only (s copies it): PAC needs it for commit "
            "statuses, comments and clones"
        ),
        "ob-register-confidential": (
            "your choice:\n"
            "• [b]not confidential[/b] (recommended on a laptop): no secret exists, so none "
            "can leak; PKCE proves that the login was started by this pac-tui.\n"
            "• [b]confidential[/b]: GitLab also asks for the secret on every token, refresh "
            "and revoke call. Choose it where your GitLab policy requires confidential "
            "applications."
        ),
        "ob-register-outro": (
            "Save, then copy the [b]Application ID[/b] (and the [b]Secret[/b] of a confidential "
            "application: GitLab shows it only once)." + known
        ),
    }


def _client(d: Draft) -> dict[str, str]:
    prefilled = ""
    if d.known_app:
        prefilled = (
            f"\n\nFilled in from \\[gitlab.{escape(d.known_app.key)}] of your config; "
            "change them to use another application."
        )
    return {
        "ob-client-intro": (
            "Paste the Application ID, and the Secret if the application is confidential. Next "
            f"checks them against [b]{escape(d.app.token_url)}[/b], without logging in and "
            "without creating anything there." + prefilled
        )
    }


def _project(d: Draft) -> dict[str, str]:
    return {
        "ob-project-intro": (
            "The GitLab project that PAC builds, as its URL shows it: "
            f"[dim]{escape(d.url)}/[/dim][b]group/subgroup/project[/b] → "
            "group/subgroup/project.\nNext adds the repository to your config file."
        )
    }


def _login(d: Draft) -> dict[str, str]:
    return {
        "ob-login-intro": (
            f"[$text-success]✔ {escape(d.name)} is saved in your config file.[/]\n\n"
            f"Log in now to authorize pac-tui for [b]{escape(d.project)}[/b]: your browser "
            f"opens {escape(d.url)}, where you approve with [b]Authorize[/b]. pac-tui then "
            "keeps the token fresh.\n\n"
            "Or skip (Next) and log in later: [b]l[/b] on the dashboard, or "
            f"[b]pac-tui login {escape(d.name)}[/b]."
        )
    }


def _webhook(d: Draft) -> dict[str, str]:
    return {
        "ob-webhook-intro": (
            "So that PAC runs pipelines on pushes, tags, merge requests and /retest comments, "
            "the project needs a webhook. The next step creates it for you; to add it by hand "
            "instead, open [b]Settings → Webhooks → Add new webhook[/b]:\n"
            f"[dim]{escape(d.hooks_page)}[/dim]"
        ),
        "ob-webhook-url": (
            "the public URL of the Pipelines-as-Code controller (its route or ingress; "
            "[b]tkn pac info install[/b] prints it)"
        ),
        "ob-webhook-secret-token": (f"[b $accent]{escape(d.webhook_secret)}[/]  (t copies it)"),
        "ob-webhook-trigger": WEBHOOK_EVENTS,
        "ob-webhook-ssl-verification": "enabled",
        "ob-webhook-outro": (
            "Put the same secret in the Secret of the PAC Repository, under the key "
            "[b]webhook.secret[/b]: PAC compares it with the X-Gitlab-Token of each webhook. "
            "pac-tui saved it as [b]webhook_secret[/b] in your config, to check the webhooks "
            "it receives itself."
        ),
    }


def _done(d: Draft, config_path: str) -> dict[str, str]:
    kind = "confidential" if d.client_secret else "not confidential"
    check = " [$text-warning](not checked: the instance was unreachable)[/]" if d.unchecked else ""
    if d.logged_in:
        who = f" as {escape(d.logged_in_as)}" if d.logged_in_as else ""
        login = f"[$text-success]logged in{who}[/]"
    else:
        login = (
            "[$text-warning]not yet[/]: press [b]l[/b] on the dashboard or run "
            f"[b]pac-tui login {escape(d.name)}[/b]"
        )
    return {
        "ob-done-intro": f"[b $text-success]✔ {escape(d.name)} is ready.[/]",
        "ob-done-project": f"{escape(d.project)} on {escape(d.url)}",
        "ob-done-application": f"\\[gitlab.{escape(d.gitlab_key)}], {kind}{check}",
        "ob-done-login": login,
        "ob-done-webhook": "secret saved as webhook_secret in the config",
        "ob-done-pac": (
            f"[$text-success]connected[/]: {escape(d.pac)}"
            if d.pac
            else f"[$text-warning]not yet[/]: run [b]{escape(onboard_command(d.name))}[/b]"
        ),
        "ob-done-check": escape(d.checked) if d.checked else "[dim]not run[/dim]",
        "ob-done-config": f"{escape(config_path)} (mode 0600)",
    }
