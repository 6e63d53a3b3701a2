"""`pac-tui refresher`: keeps every managed Secret fresh from inside the cluster.

Each pass lists the Secrets labelled `app.kubernetes.io/managed-by: pac-tui` and renews the tokens
that are due (`pac_tui.kube.renew`). Only the Lease holder passes (`pac_tui.kube.lease`).

GitLab revokes the old tokens the moment it answers, and the Secret is the refresher's only store,
so a new token must never live only in this process's memory for long:
- before GitLab is asked, the Secret is read again and a server-side dry-run update proves it can
  be written (an RBAC or admission refusal stops here, with the old token still valid);
- a new token that could not be written is retried with backoff whether or not this replica still
  leads (`pac_tui.kube.pending`), written before the Lease is given back on SIGTERM, and before
  `--once` exits; a replica that takes the Lease over from another waits `settle` seconds first,
  so the old leader can still write what it holds;
- every failure is said loudly: a log line, an Event on the Repository, the Secret's
  `pac-tui.dev/last-error`, a metric.
One Secret's trouble (an unreadable annotation, an unexpected error) never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config
from pac_tui.core.errors import ClusterRefused, NeedsLogin, PacTuiError
from pac_tui.kube.cluster import Cluster, Conflict
from pac_tui.kube.events import EventType
from pac_tui.kube.handover import Handover
from pac_tui.kube.lease import LeaderElector
from pac_tui.kube.metrics import RefresherMetrics
from pac_tui.kube.pending import Pending, PendingWrites
from pac_tui.kube.probes import Health
from pac_tui.kube.refresher_mark import stamp
from pac_tui.kube.renew import due, renew
from pac_tui.kube.report import (
    COMPONENT,
    Outcome,
    RefresherAction,
    Reporter,
    log_outcomes,
    quietly,
)
from pac_tui.kube.secrets import (
    MANAGED_BY,
    MalformedSecret,
    SecretGone,
    StoredSecret,
    WriteResult,
    check_writable,
    read_secret,
    stored_secret,
    write_tokens,
)
from pac_tui.oauth.schedule import AutoRefreshPlan

log = logging.getLogger("pac_tui.kube.refresher")


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
        identity: str | None = None,
        metrics: RefresherMetrics | None = None,
        flush_seconds: float = 20.0,
        settle: float | None = None,
        retry_cap: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.config = config
        self.clock = clock
        self.elector = elector
        self.interval = interval
        self.token_days = token_days
        self.flush_seconds = flush_seconds
        self.settle = settle if settle is not None else (elector.lease_duration if elector else 0)
        self.identity = identity or (elector.identity if elector else socket.gethostname())
        self.lease = f"{elector.namespace}/{elector.name}" if elector else None
        self.plan = AutoRefreshPlan()  # backoff per Secret after failures
        self.pending = PendingWrites(cap=retry_cap, monotonic=monotonic)
        self.metrics = metrics or RefresherMetrics()
        turn = max(interval, elector.retry_period if elector else 0)
        self.health = Health(stale_after=max(300.0, 10 * turn), monotonic=monotonic)
        self.report = Reporter(cluster, clock, self.identity, self.metrics)
        self.handover = Handover(cluster, config, clock, self.report)  # one rotator per Secret
        self.list_error: PacTuiError | None = None  # why the last pass could not list Secrets
        self._monotonic = monotonic
        self._reported: set[tuple[str, str]] = set()  # unreadable Secrets already logged

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: keep the Lease (if any), retry unwritten tokens, and pass every
        `interval` s while leading. Then write what is still unwritten, and give the Lease back."""
        next_pass = 0.0
        try:
            while not stop.is_set():
                leading = await self._elect()
                log_outcomes(await self.retry_unwritten())
                if leading and self._settled() and self._monotonic() >= next_pass:
                    log_outcomes(await self.run_once(stop))
                    next_pass = self._monotonic() + self.interval
                self.health.beat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._wait())
        finally:
            log_outcomes(await self.flush(self.flush_seconds))
            if self.elector is not None:
                await asyncio.to_thread(self.elector.release)
            self.metrics.leader.set(0)

    async def _elect(self) -> bool:
        if self.elector is None:
            return True
        was = self.elector.leading
        leading = await asyncio.to_thread(self.elector.step)
        if self.elector.answered is not None:
            self.health.contact(self.elector.answered)
        if leading != was:
            log.info("%s the refresher lease", "took" if leading else "lost")
            if not leading:
                self.metrics.forget_expiries()
            elif not self._settled():
                log.info(
                    "took the lease over from another replica: waiting %.0f s for it to write "
                    "any token it still holds before refreshing",
                    self.settle,
                )
        self.metrics.leader.set(1 if leading else 0)
        return leading

    def _settled(self) -> bool:
        took = self.elector.took_over_at if self.elector else None
        return took is None or self._monotonic() - took >= self.settle

    def _wait(self) -> float:
        wait = self.elector.retry_period if self.elector else self.interval
        upcoming = self.pending.next_due()
        if upcoming is not None:
            wait = min(wait, upcoming - self._monotonic())
        return max(0.05, wait)

    # ---- unwritten tokens -------------------------------------------------------------------

    async def retry_unwritten(self) -> list[Outcome]:
        """Write the unwritten tokens whose backoff has passed (leading or not)."""
        return [await self._write(p) for p in self.pending.due()]

    async def flush(self, seconds: float) -> list[Outcome]:
        """Keep writing the unwritten tokens for up to `seconds` (each call bounded by what is
        left); then say loudly which ones die with this process."""
        deadline = self._monotonic() + seconds
        outcomes = []
        while len(self.pending) and (left := deadline - self._monotonic()) > 0.2:
            bounded = self.cluster.with_timeout(min(left, self.cluster.timeout[1]))
            outcomes += [await self._write(p, bounded) for p in self.pending.due()]
            upcoming = self.pending.next_due()
            if upcoming is not None:
                await asyncio.sleep(max(0.05, min(upcoming, deadline) - self._monotonic()))
        for p in self.pending.all():
            message = f"a new token could not be written and is lost with this process: {p.error}"
            log.error("%s: %s", p.key, message)
            self.metrics.outcome(p.key, RefresherAction.LOST)
            outcomes.append(Outcome(p.key, RefresherAction.LOST, message))
        return outcomes

    async def _write(self, p: Pending, cluster: Cluster | None = None) -> Outcome:
        secret = p.secret
        try:
            written = await asyncio.to_thread(
                write_tokens,
                cluster or self.cluster,
                secret.namespace,
                secret.name,
                secret.token_key,
                p.tokens,
                create=False,
            )
        except SecretGone as exc:
            self.pending.done(p)
            log.error("%s: %s", p.key, exc)
            await self.report.tell(secret, EventType.WARNING, "SecretDeleted", str(exc))
            return self.report.count(Outcome(p.key, RefresherAction.GONE, str(exc)))
        except PacTuiError as exc:
            first = p.attempts == 0
            self.pending.failed(p, str(exc))
            self.metrics.unwritten.set(len(self.pending))
            message = f"new token not written yet, kept in memory, will retry: {exc}"
            log.error("%s: %s", p.key, message)
            if first:
                await self.report.tell(secret, EventType.WARNING, "TokenNotWritten", message)
                await self.report.note(secret, message)
            return self.report.count(Outcome(p.key, RefresherAction.FAILED, message))
        self.pending.done(p)
        self.metrics.unwritten.set(len(self.pending))
        self.plan.succeeded(p.key)
        if written.secret.tokens is not None:
            self.metrics.expires(written.secret, written.secret.tokens, self.clock.now())
        if written.result is WriteResult.NEWER_IN_CLUSTER:
            return self.report.count(
                Outcome(p.key, RefresherAction.ADOPTED, "a newer token was already stored")
            )
        if written.secret.last_error:
            await self.report.note(written.secret, None)
        expires = p.tokens.expires_at.isoformat() if p.tokens.expires_at else "never"
        suffix = " (written after an earlier failure)" if p.attempts else ""
        reason = "TokenRefreshed" if p.action is RefresherAction.REFRESHED else "TokenRotated"
        what = (
            "refreshed the OAuth token"
            if p.action is RefresherAction.REFRESHED
            else "rotated the token"
        )
        await self.report.tell(
            written.secret, EventType.NORMAL, reason, f"{COMPONENT} {what}; expires {expires}"
        )
        return self.report.count(Outcome(p.key, p.action, f"expires {expires}{suffix}"))

    # ---- one pass ---------------------------------------------------------------------------

    async def run_once(self, stop: asyncio.Event | None = None) -> list[Outcome]:
        """One pass over the managed Secrets: every unwritten token is tried first, then those
        due are renewed. Unreadable Secrets are reported and skipped."""
        outcomes = [await self._write(p) for p in self.pending.all()]
        try:
            secrets = await asyncio.to_thread(self._list)
        except PacTuiError as exc:
            log.warning("%s", exc)
            self.list_error = exc
            return outcomes
        self.list_error = None
        self.health.contact()
        self.report.index.forget()
        self.metrics.secrets_seen([s for s in secrets if not s.problem], self.clock.now())
        for secret in secrets:
            if (stop is not None and stop.is_set()) or (
                self.elector is not None and not self.elector.leading
            ):
                break  # stopping, or lost the lease mid-pass: leave the rest
            try:
                outcome = await self._visit(secret)
            except Exception as exc:  # one Secret's bug never stops the others
                log.error("%s: unexpected %s: %s", secret.key, type(exc).__name__, exc)
                outcome = self.report.count(
                    Outcome(secret.key, RefresherAction.FAILED, f"unexpected error: {exc}")
                )
            self.health.beat()
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

    async def _visit(self, secret: StoredSecret) -> Outcome | None:
        if secret.problem:
            return await self._unreadable(secret)
        if self.lease is not None:
            await asyncio.to_thread(quietly, stamp, self.report.cluster, secret, self.lease)
        pending = self.pending.get(secret.key)
        if pending is None and (handed := await self.handover.visit(secret)) is not None:
            return handed
        tokens = pending.tokens if pending else secret.tokens
        now = self.clock.now()
        if tokens is None or not due(tokens, now):
            return None
        retry = self.plan.next_retry(secret.key)
        if retry is not None and now < retry:
            return None
        # Just before GitLab is asked: the Secret as it is now, and proof that it can be written.
        try:
            latest = await asyncio.to_thread(
                read_secret, self.cluster, secret.namespace, secret.name, secret.token_key
            )
        except PacTuiError as exc:
            return self.report.count(
                Outcome(secret.key, RefresherAction.FAILED, f"not renewed: {exc}")
            )
        if latest is None or latest.problem or latest.foreign:
            return None  # deleted, broken or replaced meanwhile: the next pass sees to it
        if pending is None:
            tokens = latest.tokens
            if tokens is None or not due(tokens, now):
                return None  # someone renewed it meanwhile
        try:
            await asyncio.to_thread(check_writable, self.cluster, latest)
        except Conflict:
            return None  # written between the read and the dry run: decide again next pass
        except ClusterRefused as exc:
            return await self._unwritable(secret, exc)
        except PacTuiError as exc:
            return self.report.count(
                Outcome(secret.key, RefresherAction.FAILED, f"not renewed: {exc}")
            )
        try:
            fresh, action = await renew(tokens, self.config, self.clock, self.token_days)
        except PacTuiError as exc:
            return await self._failed(latest, exc)
        # GitLab has revoked the old token: from here on, this one must reach the Secret.
        p = self.pending.add(latest, fresh, action)
        self.metrics.unwritten.set(len(self.pending))
        return await self._write(p)

    async def _unreadable(self, secret: StoredSecret) -> Outcome:
        message = str(MalformedSecret(secret))
        seen = (secret.key, message) in self._reported
        if not seen:
            self._reported.add((secret.key, message))
            log.warning("%s", message)
        await self.report.tell(secret, EventType.WARNING, "UnreadableSecret", message)
        return self.report.count(
            Outcome(secret.key, RefresherAction.MALFORMED, message, quiet=seen)
        )

    async def _unwritable(self, secret: StoredSecret, exc: PacTuiError) -> Outcome:
        expires = secret.tokens.expires_at if secret.tokens else None
        message = (
            f"not renewed: the Secret cannot be written ({exc}); GitLab was not asked, so the "
            f"current token stays valid until {expires.isoformat() if expires else 'it expires'}"
        )
        retry_at = self.plan.failed(secret.key, self.clock.now())
        log.error("%s: %s", secret.key, message)
        await self.report.tell(secret, EventType.WARNING, "SecretNotWritable", message)
        await self.report.note(secret, message)
        return self.report.count(
            Outcome(
                secret.key,
                RefresherAction.UNWRITABLE,
                f"{message} (next try {retry_at.isoformat()})",
            )
        )

    async def _failed(self, secret: StoredSecret, exc: PacTuiError) -> Outcome:
        name = secret.key
        # Another writer (a laptop, another replica) may have replaced the token meanwhile; then
        # the failure is ours alone and the Secret is fine.
        try:
            latest = await asyncio.to_thread(
                read_secret, self.report.cluster, secret.namespace, secret.name, secret.token_key
            )
        except PacTuiError:
            latest = None
        if (
            latest is not None
            and latest.tokens is not None
            and secret.tokens is not None
            and not latest.tokens.same_generation(secret.tokens)
        ):
            self.plan.succeeded(name)
            return self.report.count(
                Outcome(name, RefresherAction.ADOPTED, "another writer stored a new token")
            )
        action = (
            RefresherAction.NEEDS_LOGIN if isinstance(exc, NeedsLogin) else RefresherAction.FAILED
        )
        message = str(exc)
        if isinstance(exc, NeedsLogin):
            message += "; log in again on a workstation with pac-tui login and pac-tui sync"
        retry_at = self.plan.failed(name, self.clock.now())
        log.error("%s: %s", name, message)
        reason = "NeedsLogin" if isinstance(exc, NeedsLogin) else "RenewFailed"
        await self.report.tell(latest or secret, EventType.WARNING, reason, message)
        if latest is not None:
            await self.report.note(latest, message)
        return self.report.count(
            Outcome(name, action, f"{message} (next try {retry_at.isoformat()})")
        )
