"""Kubernetes Events on the PAC `Repository`, so `kubectl describe repository` tells pac-tui's
part of the story beside PAC's own events: a sync, a refresh or rotation, a failure to act on.

They are core/v1 Events, which kubectl describe finds by the object's uid. A repeated event (same
object, type, reason and message) is not created again: its `count` and `lastTimestamp` are
patched, at most once per `repeat_every` seconds, much as client-go's recorder aggregates. An
Event that cannot be written is logged and dropped; recording never fails the caller. Messages
are built from names and explanations only, never from a token.
"""

from __future__ import annotations

import enum
import logging
import socket
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes import client

from pac_tui.core.clock import Clock
from pac_tui.core.errors import PacTuiError
from pac_tui.kube.cluster import Cluster, NotFound
from pac_tui.kube.repositories import (
    PAC_GROUP,
    PAC_PLURAL,
    PAC_VERSION,
    PacRepository,
    parse_repository,
)
from pac_tui.kube.secrets import StoredSecret

MAX_MESSAGE = 1024  # the apiserver refuses longer Event messages
log = logging.getLogger(__name__)


class EventType(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class ObjectRef:
    """What an Event is about (its `involvedObject`)."""

    kind: str
    api_version: str
    namespace: str
    name: str
    uid: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def repository_ref(namespace: str, name: str, uid: str = "") -> ObjectRef:
    return ObjectRef("Repository", f"{PAC_GROUP}/{PAC_VERSION}", namespace, name, uid)


def secret_ref(secret: StoredSecret) -> ObjectRef:
    uid = str(getattr(secret.body.metadata, "uid", "") or "")
    return ObjectRef("Secret", "v1", secret.namespace, secret.name, uid)


@dataclass
class _Sent:
    name: str
    count: int
    patched: datetime


class EventRecorder:
    """Writes Events as `component` (e.g. pac-tui-refresher) from `instance` (a pod name).

    Blocking (the kubernetes client): call it from a worker thread.
    """

    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        *,
        component: str,
        instance: str,
        repeat_every: float = 300.0,
        remember: int = 1024,
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.component = component
        self.instance = instance
        self.repeat_every = repeat_every
        self._remember = remember
        self._sent: OrderedDict[tuple[str, ...], _Sent] = OrderedDict()

    def record(self, target: ObjectRef, type_: EventType, reason: str, message: str) -> None:
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
        key = (target.kind, target.namespace, target.name, target.uid, type_, reason, message)
        now = self.clock.now()
        sent = self._sent.get(key)
        try:
            if sent is not None:
                sent.count += 1
                if (now - sent.patched).total_seconds() < self.repeat_every:
                    return
                if self._bump(target, sent, now):
                    return
            name = self._create(target, type_, reason, message, now)
        except PacTuiError as exc:
            log.warning("could not record Event %s on %s: %s", reason, target.key, exc)
            return
        self._sent[key] = _Sent(name, 1, now)
        self._sent.move_to_end(key)
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)

    def _bump(self, target: ObjectRef, sent: _Sent, now: datetime) -> bool:
        """Patch a repeated Event's count; False when it has expired (Events live about 1 h)."""
        body = {"count": sent.count, "lastTimestamp": _rfc3339(now)}
        try:
            self.cluster.call(
                f"update Event {target.namespace}/{sent.name}",
                self.cluster.core.patch_namespaced_event,
                sent.name,
                target.namespace,
                body,
            )
        except NotFound:
            return False
        sent.patched = now
        return True

    def _create(
        self, target: ObjectRef, type_: EventType, reason: str, message: str, now: datetime
    ) -> str:
        name = f"{target.name[:200]}.{uuid.uuid4().hex[:16]}"
        event = client.CoreV1Event(
            api_version="v1",
            kind="Event",
            metadata=client.V1ObjectMeta(name=name, namespace=target.namespace),
            involved_object=client.V1ObjectReference(
                api_version=target.api_version,
                kind=target.kind,
                name=target.name,
                namespace=target.namespace,
                uid=target.uid or None,
            ),
            reason=reason,
            message=message,
            type=str(type_),
            count=1,
            first_timestamp=now,
            last_timestamp=now,
            source=client.V1EventSource(component=self.component),
            reporting_component=self.component,
            reporting_instance=self.instance,
        )
        self.cluster.call(
            f"create Event in namespace {target.namespace}",
            self.cluster.core.create_namespaced_event,
            target.namespace,
            event,
        )
        return name


class RepositoryIndex:
    """Which PAC Repositories read a Secret, for Events about that Secret's token.

    One list per namespace, kept until `forget()` (once per refresher pass). Where the list is
    refused or PAC is absent, or no Repository names the Secret, the Event goes on the Secret.
    Blocking.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._by_namespace: dict[str, dict[str, list[ObjectRef]]] = {}

    def forget(self) -> None:
        self._by_namespace.clear()

    def targets(self, secret: StoredSecret) -> list[ObjectRef]:
        readers = self._index(secret.namespace).get(secret.name)
        return readers or [secret_ref(secret)]

    def _index(self, namespace: str) -> dict[str, list[ObjectRef]]:
        if namespace not in self._by_namespace:
            index: dict[str, list[ObjectRef]] = {}
            try:
                answer = self.cluster.call(
                    f"list PAC Repositories in namespace {namespace}",
                    self.cluster.custom.list_namespaced_custom_object,
                    PAC_GROUP,
                    PAC_VERSION,
                    namespace,
                    PAC_PLURAL,
                )
            except PacTuiError as exc:
                log.debug("Events go on the Secrets in %s: %s", namespace, exc)
                answer = {}
            for item in answer.get("items", []):
                repo = parse_repository(item)
                ref = repository_ref(repo.namespace, repo.name, repo.uid)
                index.setdefault(repo.token_secret.name, []).append(ref)
            self._by_namespace[namespace] = index
        return self._by_namespace[namespace]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SYNC_REASONS = {"written": "TokenSynced", "minted": "TokenMinted", "rotated": "TokenRotated"}


def sync_event(
    cluster: Cluster, clock: Clock, pac: PacRepository, action: str | None, detail: str | None
) -> None:
    """The Event a workstation's `pac-tui sync` leaves on the Repository when it wrote the Secret
    (`action`: written, minted, rotated) or failed (`action` None, `detail` says why). Blocking,
    best effort, bounded."""
    host = socket.gethostname()
    if action is None:
        type_, reason, text = EventType.WARNING, "SyncFailed", f"pac-tui sync failed: {detail}"
    elif action in SYNC_REASONS:
        words = {"written": "wrote the token", "minted": "minted a project access token"}
        what = words.get(action, "rotated the project access token")
        type_, reason = EventType.NORMAL, SYNC_REASONS[action]
        text = f"pac-tui sync on {host} {what} into Secret {pac.token_secret.name}"
        text += f"; expires {detail}" if detail else ""
    else:
        return  # unchanged, adopted: nothing changed in the cluster
    recorder = EventRecorder(cluster.with_timeout(5.0), clock, component="pac-tui", instance=host)
    recorder.record(repository_ref(pac.namespace, pac.name, pac.uid), type_, reason, text)
