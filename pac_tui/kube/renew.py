"""The GitLab half of the refresher's work on one Secret: is its token due, and the new one.

- oauth mode: the OAuth grant is refreshed with the refresh token stored in the Secret, a sixth of
  the lifetime (at least 10 min) before expiry;
- project-token mode: the project access token rotates itself
  (`POST /personal_access_tokens/self/rotate`) when less than 7 days remain.

GitLab revokes the old token the moment it answers, so the caller must keep what comes back until
it is written (`pac_tui.kube.pending`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config, GitLabApp, TokenMode
from pac_tui.core.errors import PacTuiError, ProviderRejected
from pac_tui.core.models import issued_after
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.report import RefresherAction
from pac_tui.kube.secrets import SecretTokens
from pac_tui.kube.sync_project_token import ROTATE_WITHIN_DAYS
from pac_tui.oauth.refresh import exchange_refresh_token
from pac_tui.oauth.schedule import MIN_MARGIN_SECONDS

UNCONFIGURED = "(from the Secret)"  # an application the refresher's config does not name


def due(tokens: SecretTokens, now: datetime) -> bool:
    """Whether the token should be renewed now."""
    if tokens.expires_at is None:
        return False
    if tokens.mode == TokenMode.PROJECT_TOKEN:
        days = (tokens.expires_at.date() - now.astimezone(UTC).date()).days
        return days < ROTATE_WITHIN_DAYS
    if not tokens.refresh_token:
        return False
    lifetime = (tokens.expires_at - tokens.issued_at).total_seconds()
    margin = max(MIN_MARGIN_SECONDS, lifetime / 6)
    return now >= tokens.expires_at - timedelta(seconds=margin)


async def renew(
    tokens: SecretTokens, config: Config, clock: Clock, token_days: int
) -> tuple[SecretTokens, RefresherAction]:
    """The next generation of `tokens`, from GitLab; the old one is revoked once this returns."""
    if tokens.mode == TokenMode.OAUTH:
        return await _refresh(tokens, config, clock), RefresherAction.REFRESHED
    return await _rotate(tokens, config, clock, token_days), RefresherAction.ROTATED


async def _refresh(tokens: SecretTokens, config: Config, clock: Clock) -> SecretTokens:
    app = application(config, tokens)
    assert tokens.refresh_token is not None
    try:
        fresh = await exchange_refresh_token(app, tokens.refresh_token, app.scopes, clock)
    except ProviderRejected as exc:
        if app.key != UNCONFIGURED or "invalid_client" not in str(exc):
            raise
        raise ProviderRejected(
            f"{app.url} refused the application (invalid_client): no [gitlab.*] table in "
            f"the refresher's config has url {app.url} and client_id {app.client_id}, and a "
            "confidential application needs its client_secret there (deploy/deployment.yaml "
            "mounts the config from the Secret pac-tui-config)"
        ) from None
    return replace(
        tokens,
        token=fresh.access_token,
        refresh_token=fresh.refresh_token,
        issued_at=issued_after(tokens.issued_at, fresh.issued_at),
        expires_at=fresh.expires_at,
    )


async def _rotate(
    tokens: SecretTokens, config: Config, clock: Clock, token_days: int
) -> SecretTokens:
    app = application(config, tokens)
    today = clock.now().astimezone(UTC).date()
    async with GitLabApi.with_private_token(app, tokens.token) as api:
        rotated = await project_tokens.rotate_self(
            api, expires_at=project_tokens.default_expiry(today, token_days)
        )
    if not rotated.token or rotated.expires_at is None:
        raise PacTuiError(f"{app.url} answered the rotation without the new token")
    return replace(
        tokens,
        token=rotated.token,
        token_id=rotated.id,
        issued_at=issued_after(tokens.issued_at, clock.now()),
        expires_at=_midnight(rotated.expires_at),
    )


def application(config: Config, tokens: SecretTokens) -> GitLabApp:
    """The OAuth application from the config that matches the Secret, or a public one."""
    for app in config.gitlab.values():
        if app.url == tokens.gitlab_url.rstrip("/") and (
            tokens.client_id is None or app.client_id == tokens.client_id
        ):
            return app
    url = tokens.gitlab_url.rstrip("/")
    return GitLabApp(key=UNCONFIGURED, url=url, client_id=tokens.client_id or "")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
