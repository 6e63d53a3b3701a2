"""`pac-tui refresher`: keeps every managed Secret fresh from inside the cluster.

Each pass lists the Secrets labelled `app.kubernetes.io/managed-by: pac-tui` and, for those due:
- oauth mode: refreshes the OAuth grant with the refresh token stored in the Secret, a sixth of
  the lifetime (at least 10 min) before expiry, and stores the new pair in the same Secret;
- project-token mode: rotates the project access token with itself
  (`POST /personal_access_tokens/self/rotate`) when less than 7 days remain.

The Secret is the refresher's only store, and GitLab revokes the old tokens the moment it answers,
so a new token that could not be written yet is kept in memory and written first on the next pass.
Only the Lease holder refreshes (see `pac_tui.kube.lease`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config, GitLabApp, TokenMode
from pac_tui.core.errors import ClusterUnavailable, NeedsLogin, PacTuiError, ProviderRejected
from pac_tui.core.models import issued_after
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.cluster import Cluster
from pac_tui.kube.lease import LeaderElector
from pac_tui.kube.secrets import (
    MANAGED_BY,
    SecretTokens,
    StoredSecret,
    WriteResult,
    read_secret,
    record_error,
    stored_secret,
    write_tokens,
)
from pac_tui.kube.sync_project_token import ROTATE_WITHIN_DAYS
from pac_tui.oauth.refresh import exchange_refresh_token
from pac_tui.oauth.schedule import MIN_MARGIN_SECONDS, AutoRefreshPlan

UNCONFIGURED = "(from the Secret)"  # an application the refresher's config does not name
log = logging.getLogger("pac_tui.kube.refresher")


class RefresherAction(enum.StrEnum):
    REFRESHED = "refreshed"  # oauth mode: a new grant stored in the Secret
    ROTATED = "rotated"  # project-token mode: the token rotated with itself
    ADOPTED = "adopted"  # another writer stored a newer token: kept it
    FAILED = "failed"
    NEEDS_LOGIN = "needs-login"  # GitLab refused the grant: an operator must log in again


@dataclass(frozen=True)
class Outcome:
    secret: str  # namespace/name
    action: RefresherAction
    message: str

    @property
    def failed(self) -> bool:
        return self.action in (RefresherAction.FAILED, RefresherAction.NEEDS_LOGIN)


class Refresher:
    def __init__(
        self,
        cluster: Cluster,
        namespace: str | None,
        config: Config,
        clock: Clock,
        *,
        elector: LeaderElector | None = None,
        interval: float = 30.0,
        token_days: int = 30,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.config = config
        self.clock = clock
        self.elector = elector
        self.interval = interval
        self.token_days = token_days
        self.plan = AutoRefreshPlan()  # backoff per Secret after failures
        self._unwritten: dict[str, SecretTokens] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: keep the Lease (if any) and run a pass every `interval` s."""
        next_pass = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                leading = True
                if self.elector is not None:
                    was = self.elector.leading
                    leading = await asyncio.to_thread(self.elector.step)
                    if leading != was:
                        log.info("%s the refresher lease", "took" if leading else "lost")
                if leading and loop.time() >= next_pass:
                    for outcome in await self.run_once():
                        log.info("%s: %s: %s", outcome.secret, outcome.action, outcome.message)
                    next_pass = loop.time() + self.interval
                wait = self.elector.retry_period if self.elector else self.interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            if self.elector is not None:
                await asyncio.to_thread(self.elector.release)

    async def run_once(self) -> list[Outcome]:
        """One pass over the managed Secrets; only those due are touched."""
        try:
            secrets = await asyncio.to_thread(self._list)
        except ClusterUnavailable as exc:
            log.warning("%s", exc)
            return []
        outcomes = []
        for secret in secrets:
            if self.elector is not None and not self.elector.leading:
                break  # lost the lease mid-pass: leave the rest to the new leader
            outcome = await self._handle(secret)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _list(self) -> list[StoredSecret]:
        selector = f"{MANAGED_BY[0]}={MANAGED_BY[1]}"
        if self.namespace:
            answer = self.cluster.call(
                f"list Secrets in namespace {self.namespace}",
                self.cluster.core.list_namespaced_secret,
                self.namespace,
                label_selector=selector,
            )
        else:
            answer = self.cluster.call(
                "list Secrets in all namespaces",
                self.cluster.core.list_secret_for_all_namespaces,
                label_selector=selector,
            )
        found = []
        for item in answer.items:
            key = (item.metadata.annotations or {}).get("pac-tui.dev/token-key")
            if key:
                found.append(stored_secret(item, item.metadata.namespace, key))
        return found

    async def _handle(self, secret: StoredSecret) -> Outcome | None:
        name = f"{secret.namespace}/{secret.name}"
        pending = self._unwritten.get(name)
        if pending is not None:
            return await self._store(
                secret, pending, RefresherAction.REFRESHED, retry_of_unwritten=True
            )
        tokens = secret.tokens
        now = self.clock.now()
        if tokens is None or not self._due(tokens, now):
            return None
        retry = self.plan.next_retry(name)
        if retry is not None and now < retry:
            return None
        try:
            if tokens.mode == TokenMode.OAUTH:
                fresh = await self._refresh(tokens)
                action = RefresherAction.REFRESHED
            else:
                fresh = await self._rotate(tokens)
                action = RefresherAction.ROTATED
        except PacTuiError as exc:
            return await self._failed(secret, exc)
        self._unwritten[name] = fresh  # GitLab has revoked the old token: never lose this one
        return await self._store(secret, fresh, action)

    def _due(self, tokens: SecretTokens, now: datetime) -> bool:
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

    async def _refresh(self, tokens: SecretTokens) -> SecretTokens:
        app = self._app(tokens)
        assert tokens.refresh_token is not None
        try:
            fresh = await exchange_refresh_token(app, tokens.refresh_token, app.scopes, self.clock)
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

    async def _rotate(self, tokens: SecretTokens) -> SecretTokens:
        app = self._app(tokens)
        today = self.clock.now().astimezone(UTC).date()
        async with GitLabApi.with_private_token(app, tokens.token) as api:
            rotated = await project_tokens.rotate_self(
                api, expires_at=project_tokens.default_expiry(today, self.token_days)
            )
        if not rotated.token or rotated.expires_at is None:
            raise PacTuiError(f"{app.url} answered the rotation without the new token")
        return replace(
            tokens,
            token=rotated.token,
            token_id=rotated.id,
            issued_at=issued_after(tokens.issued_at, self.clock.now()),
            expires_at=_midnight(rotated.expires_at),
        )

    def _app(self, tokens: SecretTokens) -> GitLabApp:
        """The OAuth application from the config that matches the Secret, or a public one."""
        for app in self.config.gitlab.values():
            if app.url == tokens.gitlab_url.rstrip("/") and (
                tokens.client_id is None or app.client_id == tokens.client_id
            ):
                return app
        url = tokens.gitlab_url.rstrip("/")
        return GitLabApp(key=UNCONFIGURED, url=url, client_id=tokens.client_id or "")

    async def _store(
        self,
        secret: StoredSecret,
        fresh: SecretTokens,
        action: RefresherAction,
        *,
        retry_of_unwritten: bool = False,
    ) -> Outcome:
        name = f"{secret.namespace}/{secret.name}"
        try:
            written = await asyncio.to_thread(
                write_tokens, self.cluster, secret.namespace, secret.name, secret.token_key, fresh
            )
        except PacTuiError as exc:
            log.error("%s: new token kept in memory, not yet written: %s", name, exc)
            return Outcome(name, RefresherAction.FAILED, f"not written yet, will retry: {exc}")
        self._unwritten.pop(name, None)
        self.plan.succeeded(name)
        if written.result is WriteResult.NEWER_IN_CLUSTER:
            return Outcome(
                name, RefresherAction.ADOPTED, "a newer token was already stored; kept it"
            )
        if written.secret.last_error:
            await asyncio.to_thread(record_error, self.cluster, written.secret, None)
        expires = fresh.expires_at.isoformat() if fresh.expires_at else "never"
        suffix = " (written after an earlier failure)" if retry_of_unwritten else ""
        return Outcome(name, action, f"expires {expires}{suffix}")

    async def _failed(self, secret: StoredSecret, exc: PacTuiError) -> Outcome:
        name = f"{secret.namespace}/{secret.name}"
        # Another writer (a laptop, another replica) may have replaced the token meanwhile; then
        # the failure is ours alone and the Secret is fine.
        latest = await asyncio.to_thread(
            read_secret, self.cluster, secret.namespace, secret.name, secret.token_key
        )
        if (
            latest is not None
            and latest.tokens is not None
            and secret.tokens is not None
            and not latest.tokens.same_generation(secret.tokens)
        ):
            self.plan.succeeded(name)
            return Outcome(
                name, RefresherAction.ADOPTED, "another writer stored a new token meanwhile"
            )
        action = (
            RefresherAction.NEEDS_LOGIN if isinstance(exc, NeedsLogin) else RefresherAction.FAILED
        )
        message = str(exc)
        if isinstance(exc, NeedsLogin):
            message += "; log in again on a workstation with pac-tui login and pac-tui sync"
        retry_at = self.plan.failed(name, self.clock.now())
        if latest is not None:
            await asyncio.to_thread(record_error, self.cluster, latest, message)
        return Outcome(name, action, f"{message} (next try {retry_at.isoformat()})")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
