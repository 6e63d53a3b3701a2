"""Checks shared by refresh and revoke: is there a live grant for this repository, from this app?"""

from __future__ import annotations

from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import NeedsLogin
from pac_tui.core.models import TokenRecord, TokenSet


def login_hint(repo: Repository) -> str:
    binding = repo.kubernetes
    if binding is not None and binding.mode == TokenMode.OAUTH:
        # The in-cluster refresher refreshes this grant: the Secret may hold a newer one, and a
        # new login would make a second grant.
        return (
            f"the in-cluster refresher may hold a newer grant: run pac-tui sync {repo.name} "
            f"(if it has none either, log in with: pac-tui login {repo.name})"
        )
    return f"log in with: pac-tui login {repo.name}"


def application_mismatch(repo: Repository, record: TokenRecord) -> str | None:
    """Why the stored grant does not belong to the configured application, or None if it does."""
    app = repo.gitlab
    if record.gitlab_url != app.url:
        return f"the stored grant is for {record.gitlab_url}, the config now says {app.url}"
    if record.client_id != app.client_id:
        return "the stored grant was issued to another OAuth application (client_id changed)"
    return None


def live_tokens(repo: Repository, record: TokenRecord | None) -> TokenSet:
    """The stored tokens, or `NeedsLogin` saying why there are none that can be used."""
    if record is None:
        raise NeedsLogin(f"{repo.name} is not logged in; {login_hint(repo)}")
    mismatch = application_mismatch(repo, record)
    if mismatch:
        raise NeedsLogin(f"{repo.name}: {mismatch}; {login_hint(repo)}")
    if record.tokens is None:
        reason = record.needs_login or "no tokens are stored"
        raise NeedsLogin(f"{repo.name}: {reason}; {login_hint(repo)}")
    return record.tokens
