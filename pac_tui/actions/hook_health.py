"""Whether GitLab still delivers with a repository's PAC hook, and what to do when it does not.

GitLab disables a hook that keeps failing (``alert_status`` ``temporarily_disabled`` until
``disabled_until``, then ``disabled``); PAC then hears nothing and nothing says so. This reads
the project's hooks list once, finds the PAC hook as `pac-tui deliveries` does
(`actions.deliveries.pac_hooks`: the one posting to the controller, else those sending PAC's
events) and gives the fix in the words of `pac-tui check` (`gitlab.hook_events.reenable_fix`).

It never refreshes a grant: the dashboard asks only with a token that is live for a while yet
(`asks_without_refresh`), so a poll cannot race the refreshes, which revoke the old pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import httpx

from pac_tui.actions.deliveries import pac_hooks
from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.core.errors import NeedsLogin, PacTuiError
from pac_tui.core.models import TokenRecord
from pac_tui.gitlab.hook_events import hook_states, reenable_fix
from pac_tui.oauth.grant import live_tokens
from pac_tui.oauth.token_source import REFRESH_MARGIN, repository_api
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.kube.repositories import PacRepository

# A token with less than this left is not used for a poll (the API client would refresh it).
POLL_MARGIN_SECONDS = 5 * REFRESH_MARGIN


class Health(StrEnum):
    OK = "ok"
    TEMPORARILY_DISABLED = "temporarily_disabled"
    DISABLED = "disabled"
    NO_HOOK = "no PAC hook"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class HookHealth:
    """The PAC hook's health; `reason` says why it is unknown, `fix` what to do when disabled."""

    health: Health
    hook_id: int | None = None
    disabled_until: datetime | None = None
    reason: str | None = None
    fix: str | None = None

    @property
    def disabled(self) -> bool:
        return self.health in (Health.TEMPORARILY_DISABLED, Health.DISABLED)


def controller_url_for(pac: PacRepository | None, relay: str | None) -> str | None:
    """The URL the PAC hook posts to, as far as pac-tui knows: what onboarding recorded on the
    bound Repository, else where the receiver relays (`[webhook] relay`); None: unknown, and
    every hook sending PAC's events counts (`pac_hooks`)."""
    return (pac.controller_url if pac is not None else None) or relay


def asks_without_refresh(repo: Repository, record: TokenRecord | None, now: datetime) -> bool:
    """True when `record` holds a token GitLab can be asked with as it is (no refresh)."""
    try:
        tokens = live_tokens(repo, record)
    except NeedsLogin:
        return False
    remaining = tokens.expires_in(now)
    return remaining is None or remaining > POLL_MARGIN_SECONDS


async def hook_health(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    *,
    controller_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HookHealth:
    """The PAC hook's health from GitLab's hooks list; UNKNOWN (with the reason) when GitLab
    cannot be asked. Raises nothing but cancellation."""
    try:
        async with repository_api(repo, store, clock, transport=transport) as api:
            states = await hook_states(api, repo.project)
    except PacTuiError as exc:
        return HookHealth(Health.UNKNOWN, reason=str(exc))
    chosen = pac_hooks(states, controller_url)
    if not chosen:
        return HookHealth(Health.NO_HOOK, reason=f"{repo.project} has no webhook for PAC")
    state = next((s for s in chosen if not s.enabled), chosen[0])
    if state.enabled:
        return HookHealth(Health.OK, state.hook.id)
    health = (
        Health.TEMPORARILY_DISABLED
        if state.alert_status == Health.TEMPORARILY_DISABLED
        else Health.DISABLED
    )
    return HookHealth(
        health,
        state.hook.id,
        state.disabled_until,
        reason=state.disabled_text(),
        fix=reenable_fix(repo.name),
    )
