"""How the refresher says what happened, so someone can act: a log line, an Event on each PAC
Repository that reads the Secret (`kubectl describe repository`), the Secret's
`pac-tui.dev/last-error`, and a metric. Reporting is best effort and bounded: it never fails or
stalls the work it reports on.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pac_tui.core.clock import Clock
from pac_tui.core.errors import PacTuiError
from pac_tui.kube.cluster import Cluster, Conflict
from pac_tui.kube.events import EventRecorder, EventType, RepositoryIndex
from pac_tui.kube.metrics import RefresherMetrics
from pac_tui.kube.secrets import PREFIX, StoredSecret, stored_secret

COMPONENT = "pac-tui-refresher"
QUICK = 5.0  # seconds: bound on each call that only reports (Events, annotations)
log = logging.getLogger("pac_tui.kube.refresher")


class RefresherAction(enum.StrEnum):
    REFRESHED = "refreshed"  # oauth mode: a new grant stored in the Secret
    ROTATED = "rotated"  # project-token mode: the token rotated with itself
    ADOPTED = "adopted"  # another writer stored a newer token (or PAC rotated it): kept it
    LEFT_TO_PAC = "left-to-pac"  # PAC rotates this Secret's token: the refresher leaves it alone
    FOREIGN = "foreign"  # oauth mode: a token pac-tui did not write; not written over
    FAILED = "failed"
    NEEDS_LOGIN = "needs-login"  # GitLab refused the grant: an operator must log in again
    UNWRITABLE = "unwritable"  # the Secret refused a dry-run write: GitLab was not asked
    MALFORMED = "malformed"  # the Secret's annotations cannot be read: skipped, reported
    GONE = "gone"  # the Secret was deleted meanwhile: reported, not re-created
    LOST = "lost"  # a renewed token that could not be written before the process ended


TROUBLES = frozenset(
    {
        RefresherAction.FAILED,
        RefresherAction.NEEDS_LOGIN,
        RefresherAction.UNWRITABLE,
        RefresherAction.MALFORMED,
        RefresherAction.GONE,
        RefresherAction.LOST,
        RefresherAction.FOREIGN,
    }
)


@dataclass(frozen=True)
class Outcome:
    secret: str  # namespace/name
    action: RefresherAction
    message: str
    quiet: bool = False  # already reported: logged at debug level only

    @property
    def failed(self) -> bool:
        """Whether someone has to act (`refresher --once` exits 1)."""
        return self.action in TROUBLES


class Reporter:
    def __init__(
        self, cluster: Cluster, clock: Clock, identity: str, metrics: RefresherMetrics
    ) -> None:
        self.cluster = cluster.with_timeout(QUICK)
        self.events = EventRecorder(self.cluster, clock, component=COMPONENT, instance=identity)
        self.index = RepositoryIndex(self.cluster)
        self.metrics = metrics

    async def tell(self, secret: StoredSecret, type_: EventType, reason: str, text: str) -> None:
        """An Event on each Repository that reads the Secret (or on the Secret itself)."""

        def send() -> None:
            for target in self.index.targets(secret):
                self.events.record(target, type_, reason, text)

        await asyncio.to_thread(send)

    async def note(self, secret: StoredSecret, message: str | None) -> None:
        """The Secret's `pac-tui.dev/last-error` (None clears it)."""
        await asyncio.to_thread(quietly, record_error, self.cluster, secret, message)

    def count(self, outcome: Outcome) -> Outcome:
        self.metrics.outcome(outcome.secret, outcome.action)
        return outcome


def record_error(
    cluster: Cluster, secret: StoredSecret, message: str | None
) -> StoredSecret | None:
    """Note (or clear) the refresher's last error on the Secret; a conflict skips it quietly."""
    if secret.last_error == message:
        return secret
    annotations = {f"{PREFIX}last-error": message}
    patch = {"metadata": {"resourceVersion": secret.resource_version, "annotations": annotations}}
    try:
        saved = cluster.call(
            f"annotate Secret {secret.namespace}/{secret.name}",
            cluster.core.patch_namespaced_secret,
            secret.name,
            secret.namespace,
            patch,
        )
    except Conflict:
        return None
    return stored_secret(saved, secret.namespace, secret.token_key)


def quietly(fn: Callable[..., object], *args: object) -> None:
    """Run a call whose failure only costs a note (logged, not raised)."""
    try:
        fn(*args)
    except PacTuiError as exc:
        log.info("%s", exc)


def log_outcomes(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        level = logging.DEBUG if outcome.quiet else logging.INFO
        log.log(level, "%s: %s: %s", outcome.secret, outcome.action, outcome.message)
