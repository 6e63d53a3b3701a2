"""What a run of the "Connect to PAC" step shows: what was put in place, the YAML, what failed.

Plain renderers from an `OnboardResult` or an error to Rich or markup; `ConnectStep`
(`pac.py`) puts them in its widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.markup import escape

from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import (
    ClusterRefused,
    ClusterUnavailable,
    NeedsLogin,
    PacTuiError,
    ProviderUnavailable,
)
from pac_tui.gitlab.api import GitLabApiError

if TYPE_CHECKING:
    from pac_tui.onboard import OnboardResult

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
        and binding.mode == TokenMode.PROJECT_TOKEN
        and ("Maintainer" in str(exc) or "project access token" in str(exc))
    ):
        return (
            f"{text}\nOr let PAC use your OAuth token instead, through pac-tui's token gateway "
            "(OAuth mode): it works on every GitLab plan. The webhook still needs the Maintainer "
            "role.",
            True,
        )
    return f"{text}\nFix it above and press Connect again, or skip for now.", False
