"""Taking pac-tui out of a Secret PAC reads: what `pac-tui offboard` does to it.

What pac-tui puts in a Secret (`kube.secrets`): the label `app.kubernetes.io/managed-by: pac-tui`,
the `pac-tui.dev/*` annotations, the provider token under the Repository's token key, and
`pac-tui.refresh-token` in oauth mode. Onboarding creates the Secret with that label when there
is none and writes the webhook key when the Secret has none (`onboard.apply`); an existing
webhook key is kept, so it may be the user's own.

The rule:

- a labelled Secret whose data keys are all among the token key, the refresh key and the webhook
  key is pac-tui's alone: it is deleted;
- a Secret that holds anything else is the user's: only pac-tui's label, annotations, token key
  and refresh key go; the webhook key and every other key stay;
- a Secret with neither the label nor a `pac-tui.dev/` annotation holds nothing of pac-tui's
  (pac-tui labels every Secret it writes): it is left as it is.

Either way it is one write, conditional on the `resourceVersion` that was read (a delete with
that precondition, or an update that carries it). PAC and the in-cluster refresher see the whole
Secret or none of it, never half of it; a Secret changed since it was read raises `Conflict`, and
the caller reads and plans again.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubernetes import client

from pac_tui.kube.cluster import Cluster, NotFound
from pac_tui.kube.secrets import MANAGED_BY, PREFIX, REFRESH_KEY, StoredSecret


class UnbindAction(enum.StrEnum):
    DELETE = "delete"  # pac-tui's alone: the Secret goes
    STRIP = "strip"  # the user's Secret: pac-tui's parts go, the rest stays
    ABSENT = "absent"  # no Secret, or nothing of pac-tui's in it


@dataclass(frozen=True)
class SecretUnbind:
    """What unbinding one Secret does: key names only, never a value."""

    namespace: str
    name: str
    action: UnbindAction
    removed: tuple[str, ...] = ()  # data keys that go
    kept: tuple[str, ...] = ()  # data keys that stay
    resource_version: str = ""
    body: client.V1Secret | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def describe(self) -> str:
        """The plan in words (what goes, what stays)."""
        if self.action == UnbindAction.ABSENT:
            return "already absent" if self.body is None else "nothing of pac-tui's in it"
        if self.action == UnbindAction.DELETE:
            return f"delete it: it holds only what pac-tui put there ({', '.join(self.kept)})"
        gone = ", ".join(self.removed) or "no keys"
        stays = ", ".join(self.kept) or "nothing"
        return f"remove pac-tui's label, annotations and keys ({gone}); keep {stays}"


def plan_unbind(
    secret: StoredSecret | None,
    namespace: str,
    name: str,
    own_keys: Iterable[str],
    webhook_key: str | None = None,
) -> SecretUnbind:
    """What to do to the Secret `name` as read (`secret`, None when there is none).

    `own_keys` are the data keys pac-tui writes there (the token key, the refresh key);
    `webhook_key` is the Repository's webhook key when it names this Secret.
    """
    if secret is None:
        return SecretUnbind(namespace, name, UnbindAction.ABSENT)
    body = secret.body
    meta = body.metadata
    labelled = (meta.labels or {}).get(MANAGED_BY[0]) == MANAGED_BY[1]
    annotated = any(key.startswith(PREFIX) for key in meta.annotations or {})
    keys = sorted((body.data or {}).keys())
    ours = {*own_keys, REFRESH_KEY}
    version = secret.resource_version
    if not labelled and not annotated:
        return SecretUnbind(namespace, name, UnbindAction.ABSENT, kept=tuple(keys), body=body)
    if labelled and set(keys) <= ours | ({webhook_key} if webhook_key else set()):
        return SecretUnbind(
            namespace, name, UnbindAction.DELETE, tuple(keys), tuple(keys), version, body
        )
    removed = tuple(k for k in keys if k in ours)
    kept = tuple(k for k in keys if k not in ours)
    return SecretUnbind(namespace, name, UnbindAction.STRIP, removed, kept, version, body)


def unbind(cluster: Cluster, plan: SecretUnbind) -> bool:
    """Blocking: carry out `plan` in one conditional write; False when the Secret was gone.

    Raises `Conflict` when the Secret changed since it was read (plan again), `ClusterRefused`
    or `ClusterUnavailable` otherwise.
    """
    if plan.action == UnbindAction.ABSENT:
        return False
    assert plan.body is not None
    if plan.action == UnbindAction.DELETE:
        options = client.V1DeleteOptions(
            preconditions=client.V1Preconditions(resource_version=plan.resource_version)
        )
        try:
            cluster.call(
                f"delete Secret {plan.key}",
                cluster.core.delete_namespaced_secret,
                plan.name,
                plan.namespace,
                body=options,
            )
        except NotFound:
            return False
        return True
    body = copy.deepcopy(plan.body)
    meta = body.metadata
    labels = {k: v for k, v in (meta.labels or {}).items() if k != MANAGED_BY[0]}
    meta.labels = labels or None
    annotations = {k: v for k, v in (meta.annotations or {}).items() if not k.startswith(PREFIX)}
    meta.annotations = annotations or None
    body.data = {k: v for k, v in (body.data or {}).items() if k not in plan.removed} or None
    try:
        cluster.call(
            f"update Secret {plan.key}",
            cluster.core.replace_namespaced_secret,
            plan.name,
            plan.namespace,
            body,
        )
    except NotFound:
        return False
    return True
