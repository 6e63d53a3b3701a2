"""Leader election on a `coordination.k8s.io` Lease, so one refresher replica refreshes.

The algorithm is the official client's (`kubernetes.leaderelection`): its `LeaseLock` and
`LeaderElection.try_acquire_or_renew`. Its `run()` blocks forever and cannot stop or give the
lease back, so pac-tui drives one step at a time from its own loop, and on a clean shutdown hands
the lease over at once instead of making the next replica wait out the lease duration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import urllib3
from kubernetes.client.rest import ApiException
from kubernetes.leaderelection import electionconfig
from kubernetes.leaderelection.leaderelection import LeaderElection
from kubernetes.leaderelection.leaderelectionrecord import LeaderElectionRecord
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from pac_tui.core.errors import UsageError
from pac_tui.kube.cluster import Cluster

DEFAULT_LEASE = "pac-tui-refresher"

log = logging.getLogger(__name__)


class LeaderElector:
    """One candidate. Call `step()` every `retry_period` seconds; `leading` says if it leads.

    Leadership counts only while the last successful renewal is younger than `renew_deadline`,
    so a replica cut off from the API server stops acting before another can take over
    (`lease_duration` > `renew_deadline`).
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
        self.retry_period = retry_period
        self.renew_deadline = renew_deadline
        self._monotonic = monotonic
        self._lock = LeaseLock(name, namespace, identity)
        self._lock.api_instance = cluster.coordination  # its default would be a global client
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

    @property
    def leading(self) -> bool:
        return self._renewed is not None and self._monotonic() - self._renewed < self.renew_deadline

    def step(self) -> bool:
        """Acquire or renew once (blocking); True while this candidate leads."""
        try:
            if self._election.try_acquire_or_renew():
                self._renewed = self._monotonic()
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
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
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            log.warning("could not release lease %s/%s: %s", self.namespace, self.name, exc)
