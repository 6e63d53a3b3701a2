"""How a repository's place in the cluster looks: the table's Cluster cell and the panel's part."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from pac_tui.actions.status import RepoStatus, State
from pac_tui.core.config import TokenMode
from pac_tui.core.humanize import ago, countdown
from pac_tui.core.models import TokenRecord

if TYPE_CHECKING:
    from pac_tui.kube.repositories import PacRepository, PipelineRunStatus

MODE_TEXT = {
    TokenMode.PROJECT_TOKEN: "a project access token pac-tui mints and rotates",
    TokenMode.OAUTH: "the OAuth token itself: PAC must send Bearer tokens, user oauth2",
}


def _run_style(run: PipelineRunStatus) -> str:
    return "green" if run.succeeded else "red" if run.succeeded is False else "yellow"


def cluster_cell(status: RepoStatus, pac: PacRepository | None, error: str | None) -> Text:
    if status.state is State.UNMANAGED:
        run = pac.last_run if pac else None
        return Text(f"unbound · {run.status}" if run else "unbound", style="dim cyan")
    bound = status.cluster
    if bound is None:
        return Text("—", style="dim")
    where = f"{bound.namespace}/{bound.repository}"
    if error and pac is None:
        return Text(f"{where} ✖ unreachable", style="bold red")
    if not bound.synced:
        return Text(f"{where} not synced", style="yellow")
    text = Text(f"{where} ✔", style="green")
    run = pac.last_run if pac else None
    if run is not None:
        text.append(f" · {run.status}", style=_run_style(run))
    return text


def render_cluster(
    status: RepoStatus,
    record: TokenRecord | None,
    pac: PacRepository | None,
    error: str | None,
    now: datetime,
    tz: tzinfo | None,
) -> Table | None:
    """The panel's Cluster rows for a bound repository (None when it is not bound)."""
    bound = status.cluster
    if bound is None:
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True, width=12)
    grid.add_column()
    context = f"  (context {bound.context})" if bound.context else ""
    where = f"{bound.namespace}/{bound.repository}"
    grid.add_row("Cluster", Text.assemble((where, "cyan"), context))
    if bound.gateway:
        grid.add_row(
            "Mode", Text.assemble(("oauth", "bold"), " via gateway ", (bound.gateway, "cyan"))
        )
        grid.add_row("", "PAC's API calls go through the gateway, which sends the token as Bearer")
    else:
        grid.add_row("Mode", Text.assemble((bound.mode, "bold"), " — ", MODE_TEXT[bound.mode]))
    if pac is not None:
        secret = pac.secret
        grid.add_row(
            "Secret", f"{secret.name} · key {secret.key}" if secret else Text("none named", "red")
        )
        if bound.mode == TokenMode.OAUTH and pac.user != "oauth2":
            grid.add_row("", Text("set git_provider.user: oauth2 for clones", style="yellow"))
    if bound.synced:
        grid.add_row("Synced", Text("✔ the Secret holds the newest token", style="green"))
    else:
        grid.add_row("Synced", Text.assemble(("✖ ", "red"), bound.message or "not synced"))
    if error:
        grid.add_row("", Text(error, style="italic red"))
    if bound.mode == TokenMode.PROJECT_TOKEN and record and record.project_token:
        token = record.project_token
        left = (token.expires_at - now).total_seconds()
        day = token.expires_at.astimezone(tz or UTC).strftime("%Y-%m-%d")
        grid.add_row("Project tok.", f"#{token.token_id} expires {day} (in {countdown(left)})")
    run = pac.last_run if pac else None
    if run is not None:
        at = run.finished_at or run.started_at
        when = ago(at, now) if at else ""
        line = Text.assemble((run.status, _run_style(run)), f"  {run.name} {when}")
        grid.add_row("Last run", line)
    return grid


def render_unmanaged(pac: PacRepository, now: datetime) -> Table:
    """The panel for a Repository resource no config entry binds: what it is, how to bind it."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True, width=12)
    grid.add_column()
    grid.add_row("Repository", Text(pac.key, style="cyan"))
    grid.add_row("URL", pac.url)
    secret = pac.secret
    grid.add_row("Secret", f"{secret.name} · key {secret.key}" if secret else "none named")
    run = pac.last_run
    if run is not None:
        at = run.finished_at or run.started_at
        grid.add_row("Last run", Text.assemble((run.status, _run_style(run)), f"  {run.name}"))
        if at:
            grid.add_row("", Text(ago(at, now), style="dim"))
    grid.add_row("", "")
    grid.add_row("Not managed", "pac-tui does not keep this Repository's token. To bind it, add")
    grid.add_row("", "to its [[repositories]] entry in the config:")
    snippet = (
        "[repositories.kubernetes]\n"
        f'namespace = "{pac.namespace}"\n'
        f'repository = "{pac.name}"\n'
        'mode = "project-token"'
    )
    grid.add_row("", Text(snippet, style="bold"))
    return grid
