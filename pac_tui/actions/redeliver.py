"""Asking GitLab to deliver again: resend a recorded delivery, or send a test event (which
re-enables a hook GitLab disabled when it succeeds). The dashboard's Deliveries screen calls
these; the outcome comes back in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository
from pac_tui.gitlab.hook_events import resend_hook_event, send_test_event
from pac_tui.oauth.token_source import repository_api
from pac_tui.stores.file_store import TokenStore

if TYPE_CHECKING:
    from pac_tui.actions.deliveries import DeliveryView


async def resend(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    view: DeliveryView,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Have GitLab deliver `view` again (as it was: GitLab keeps the hook's token); the outcome
    in words."""
    event = view.event
    async with repository_api(repo, store, clock, transport=transport) as api:
        status = await resend_hook_event(api, repo.project, event.hook_id, event.id)
    return f"GitLab delivered #{event.id} again: the receiver answered {status or 'nothing'}"


async def send_test(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    hook_id: int,
    trigger: str = "push_events",
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Have GitLab send a test `trigger` event through hook `hook_id`; a success re-enables a
    hook GitLab disabled. The outcome in words (a refusal is raised)."""
    async with repository_api(repo, store, clock, transport=transport) as api:
        await send_test_event(api, repo.project, hook_id, trigger)
    return f"GitLab sent a test {trigger.removesuffix('_events')} event through hook #{hook_id}"
