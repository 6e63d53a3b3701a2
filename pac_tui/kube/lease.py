"""Leader election on a `coordination.k8s.io` Lease, so one refresher replica refreshes.

The algorithm is the official client's (`kubernetes.leaderelection`): its `LeaseLock` and
`LeaderElection.try_acquire_or_renew`. Its `run()` blocks forever and cannot stop or give the
lease back, so pac-tui drives one step at a time from its own loop, and on a clean shutdown hands
the lease over at once instead of making the next replica wait out the lease duration.

The client's lock calls the API without a timeout: against an apiserver that accepts connections
and never answers, one step would block forever and SIGTERM could not finish it. Every Lease call
here is bounded, so that one step (a read and a write) ends within the renew deadline.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import urllib3
from kubernetes.client.rest import ApiException
from kubernetes.leaderelection import electionconfig
from kubernetes.leaderelection.leaderelection import LeaderElection
from kubernetes.leaderelection.leaderelectionrecord import LeaderElectionRecord
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from pac_tui.core.errors import UsageError
from pac_tui.kube.cluster import Cluster, NotFound

DEFAULT_LEASE = "pac-tui-refresher"
LEASE_ERRORS = (urllib3.exceptions.HTTPError, ApiException, OSError)

log = logging.getLogger(__name__)


class _Bounded:
    """An API object whose every method call carries `_request_timeout`."""

    def __init__(self, api: Any, timeout: float) -> None:
        self._api = api
        self._timeout = (timeout, timeout)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)
        return functools.partial(method, _request_timeout=self._timeout)


class _WatchedLock(LeaseLock):
    """The client's LeaseLock, remembering when the API last answered and who held the lease."""

    def __init__(self, name: str, namespace: str, identity: str, monotonic: Callable[[], float]):
        super().__init__(name, namespace, identity)
        self._monotonic = monotonic
        self.answered: float | None = None  # monotonic time of the last answer (even a 404)
        self.seen_holder: str | None = None  # holder in the last read, before any update

    def get(self, name: str, namespace: str) -> tuple[bool, Any]:
        found, record = super().get(name, namespace)
        if found or (isinstance(record, ApiException) and record.status == 404):
            self.answered = self._monotonic()
        self.seen_holder = record.holder_identity if found else None
        return found, record


class LeaderElector:
    """One candidate. Call `step()` every `retry_period` seconds; `leading` says if it leads.

    Leadership counts only while the last successful renewal is younger than `renew_deadline`,
    so a replica cut off from the API server stops acting before another can take over
    (`lease_duration` > `renew_deadline`). Each Lease call is bounded by a third of the renew
    deadline, so a step (at most a read and a write, a connect retried once) ends within it.
    """

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        identity: str,
        *,
        name: str = DEFAULT_LEASE,
        lease_duration: int = 15,
        renew_deadline: int = 10,
        retry_period: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lease_duration > renew_deadline > 1.2 * retry_period >= 1.2:
            raise UsageError(
                "leader election needs lease duration > renew deadline > 1.2 × retry period ≥ 1 s"
            )
        self.identity = identity
        self.namespace = namespace
        self.name = name
        self.lease_duration = lease_duration
        self.retry_period = retry_period
        self.renew_deadline = renew_deadline
        self.call_timeout = renew_deadline / 3
        self._monotonic = monotonic
        self._lock = _WatchedLock(name, namespace, identity, monotonic)
        # Its default would be a global client without timeouts.
        self._lock.api_instance = _Bounded(cluster.coordination, self.call_timeout)
        self._election = LeaderElection(
            electionconfig.Config(
                self._lock,
                lease_duration,
                renew_deadline,
                retry_period,
                onstarted_leading=lambda: None,
                onstopped_leading=lambda: None,
            )
        )
        self._renewed: float | None = None
        self.took_over_at: float | None = None  # when it last took the lease from another holder

    @property
    def leading(self) -> bool:
        return self._renewed is not None and self._monotonic() - self._renewed < self.renew_deadline

    @property
    def answered(self) -> float | None:
        """Monotonic time of the apiserver's last answer about the Lease (for readiness)."""
        return self._lock.answered

    def step(self) -> bool:
        """Acquire or renew once (blocking, bounded); True while this candidate leads."""
        was_leading = self.leading
        try:
            if self._election.try_acquire_or_renew():
                self._renewed = self._monotonic()
                previous = self._lock.seen_holder
                if not was_leading and previous not in (None, "", self.identity):
                    # Taken over from a replica that did not hand it back: it may still hold a
                    # token it could not write; see Refresher's settle time.
                    self.took_over_at = self._renewed
        except LEASE_ERRORS as exc:
            log.warning("lease %s/%s: %s", self.namespace, self.name, _short(exc))
        return self.leading

    def holder(self) -> str | None:
        found, record = self._lock.get(self.name, self.namespace)
        return record.holder_identity if found else None

    def release(self) -> None:
        """Give the lease up if this candidate holds it (clean shutdown)."""
        if self._renewed is None:
            return
        self._renewed = None
        try:
            found, record = self._lock.get(self.name, self.namespace)
            if not found or record.holder_identity != self.identity:
                return
            now = str(datetime.now())
            released = LeaderElectionRecord("", "1", record.acquire_time or now, now)
            self._lock.update(self.name, self.namespace, released)
        except LEASE_ERRORS as exc:
            log.warning("could not release lease %s/%s: %s", self.namespace, self.name, _short(exc))


@dataclass(frozen=True)
class LeaseState:
    """A Lease as another process sees it (the laptop asking whether a refresher is at work)."""

    namespace: str
    name: str
    holder: str | None
    renewed: datetime | None
    duration: int | None

    def live(self, now: datetime, skew: float = 60.0) -> bool:
        """Held, and renewed within its duration (plus `skew` for the two clocks)."""
        if not self.holder or self.renewed is None:
            return False
        margin = timedelta(seconds=(self.duration or 15) + skew)
        return now <= self.renewed + margin


def read_lease(cluster: Cluster, namespace: str, name: str) -> LeaseState | None:
    """The Lease, or None when it does not exist; a `PacTuiError` when it cannot be read."""
    try:
        lease = cluster.call(
            f"read Lease {namespace}/{name}",
            cluster.coordination.read_namespaced_lease,
            name,
            namespace,
        )
    except NotFound:
        return None
    spec = lease.spec
    if spec is None:
        return LeaseState(namespace, name, None, None, None)
    return LeaseState(
        namespace, name, spec.holder_identity, spec.renew_time, spec.lease_duration_seconds
    )


def _short(exc: BaseException) -> str:
    """An exception's gist for one log line (urllib3 wraps the reason deeply)."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}"
    reason = getattr(exc, "reason", None)
    return str(reason or exc)
