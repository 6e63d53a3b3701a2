"""Who rotates a project token: the in-cluster refresher, or the laptop.

Both rotate when fewer than 7 days remain, so both would be due at the same moment, and a second
rotation of a token already rotated makes GitLab revoke the whole token family. The rule: while an
in-cluster refresher is at work on a Secret, the laptop does not rotate it, it takes the token
from the Secret. The refresher stamps each Secret it keeps with its Lease
(`pac-tui.dev/refresher-lease: NAMESPACE/NAME`); the laptop reads that Lease (or, on an unstamped
Secret, `pac-tui-refresher` in the Secret's namespace) and defers while it is held and renewed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pac_tui.core.clock import Clock
from pac_tui.core.errors import PacTuiError
from pac_tui.kube.cluster import Cluster, Conflict
from pac_tui.kube.lease import DEFAULT_LEASE, LeaseState, read_lease
from pac_tui.kube.secrets import REFRESHER_LEASE, StoredSecret

log = logging.getLogger(__name__)


def stamp(cluster: Cluster, secret: StoredSecret, lease: str) -> bool:
    """Note on the Secret which Lease's refresher keeps it (blocking); True if it was written.

    Conditional on the `resourceVersion` read: a Secret written meanwhile is stamped next pass.
    """
    annotations = (secret.body.metadata.annotations or {}) if secret.body.metadata else {}
    if annotations.get(REFRESHER_LEASE) == lease:
        return False
    patch = {
        "metadata": {
            "resourceVersion": secret.resource_version,
            "annotations": {REFRESHER_LEASE: lease},
        }
    }
    try:
        cluster.call(
            f"annotate Secret {secret.key}",
            cluster.core.patch_namespaced_secret,
            secret.name,
            secret.namespace,
            patch,
        )
    except Conflict:
        return False
    return True


@dataclass(frozen=True)
class InCharge:
    """The refresher found at work on a Secret, and what to tell the user about it."""

    lease: LeaseState
    reason: str
    last_error: str | None  # the refresher's last error on this Secret, if any


def refresher_in_charge(
    cluster: Cluster, secret: StoredSecret | None, clock: Clock
) -> InCharge | None:
    """The live in-cluster refresher that rotates `secret`, or None when there is none (blocking).

    A Lease that cannot be read (RBAC) counts as no refresher: the laptop then rotates, after
    reading the Secret again just before.
    """
    if secret is None:
        return None
    annotations = (secret.body.metadata.annotations or {}) if secret.body.metadata else {}
    namespace, _, name = (annotations.get(REFRESHER_LEASE) or "").partition("/")
    if not namespace or not name:
        namespace, name = secret.namespace, DEFAULT_LEASE
    try:
        state = read_lease(cluster, namespace, name)
    except PacTuiError as exc:
        log.info("cannot tell whether a refresher keeps %s: %s", secret.key, exc)
        return None
    if state is None or not state.live(clock.now()):
        return None
    return InCharge(
        state,
        f"the in-cluster refresher (Lease {namespace}/{name}, held by {state.holder}) rotates "
        "this project token; pac-tui takes the new one from the Secret",
        secret.last_error,
    )
