"""The Secret PAC reads its GitLab token from, as pac-tui keeps it.

Layout of a managed Secret (label `app.kubernetes.io/managed-by: pac-tui`):

- data: the provider key PAC reads (the Repository's `git_provider.secret.key`, default
  `provider.token`); in oauth mode also `pac-tui.refresh-token`. The webhook key and any other key
  are left as they are.
- annotations (not secret, visible in `kubectl describe`): `pac-tui.dev/mode`,
  `pac-tui.dev/issued-at` (orders token generations), `pac-tui.dev/expires-at`,
  `pac-tui.dev/token-id` (project-token mode), `pac-tui.dev/gitlab-url`, `pac-tui.dev/client-id`,
  `pac-tui.dev/project`, `pac-tui.dev/token-key`, `pac-tui.dev/token-fingerprint` (a keyed hash
  of the token written, `kube.fingerprint`: a mismatch means someone else wrote the token), and
  the refresher's `pac-tui.dev/last-error` and `pac-tui.dev/refresher-lease` (the Lease of the
  refresher that rotates it; kept on writes).

Writes are conditional on the `resourceVersion` that was read. On a 409 the Secret is read again:
a token issued at the same time or later is never overwritten — the caller adopts it instead.

A managed Secret whose annotations cannot be read (an `issued-at` that is not a time, a token id
that is not a number) is not guessed at: `StoredSecret.problem` says what is wrong, `tokens` is
None, and nobody refreshes or overwrites it until a person fixes it.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubernetes import client

from pac_tui.core.config import TOKEN_MODES, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import iso_utc, mask, parse_time
from pac_tui.kube.cluster import Cluster, Conflict, NotFound
from pac_tui.kube.fingerprint import FINGERPRINT, fingerprint, written_by_pac_tui

MANAGED_BY = ("app.kubernetes.io/managed-by", "pac-tui")
PREFIX = "pac-tui.dev/"
REFRESH_KEY = "pac-tui.refresh-token"
REFRESHER_LEASE = f"{PREFIX}refresher-lease"  # written by the refresher, kept by every writer
ROTATOR = f"{PREFIX}rotator"  # who rotates (`kube.rotation`), noted on adoption, kept on writes
KEPT = (REFRESHER_LEASE, ROTATOR)
MAX_ATTEMPTS = 5


class MalformedSecret(PacTuiError):
    """A managed Secret whose annotations cannot be read: never guessed at, never overwritten."""

    def __init__(self, secret: StoredSecret) -> None:
        super().__init__(
            f"Secret {secret.key} is managed by pac-tui but unreadable: {secret.problem}; "
            "pac-tui leaves it alone until the annotation is fixed (or the Secret is deleted "
            "and written again with pac-tui sync)"
        )
        self.secret = secret


class ForeignToken(PacTuiError):
    """The Secret holds a token pac-tui did not write (PAC rotated it, or a person replaced it):
    never written over silently (`kube.rotation`)."""


class SecretGone(PacTuiError):
    """The Secret was deleted while a token for it was on its way (the refresher never creates
    Secrets: a deleted one was deleted on purpose)."""


@dataclass(frozen=True)
class SecretTokens:
    """One generation of the token a managed Secret carries, in either mode."""

    mode: TokenMode
    token: str = field(repr=False)
    issued_at: datetime
    expires_at: datetime | None
    gitlab_url: str
    project: str
    client_id: str | None = None  # oauth mode: the application that can refresh it
    refresh_token: str | None = field(default=None, repr=False)
    token_id: int | None = None  # project-token mode: GitLab's id of the project access token

    def __repr__(self) -> str:
        return (
            f"SecretTokens(mode={self.mode}, token={mask(self.token)}, issued_at={self.issued_at},"
            f" expires_at={self.expires_at}, token_id={self.token_id})"
        )

    def same_generation(self, other: SecretTokens) -> bool:
        return self.token == other.token and self.refresh_token == other.refresh_token


@dataclass(frozen=True)
class StoredSecret:
    """A Secret as read: its managed tokens (None when pac-tui has not written it yet)."""

    namespace: str
    name: str
    token_key: str
    resource_version: str
    managed: bool
    tokens: SecretTokens | None
    keys: frozenset[str]
    last_error: str | None
    body: client.V1Secret = field(repr=False, compare=False)
    problem: str | None = None  # why its managed annotations cannot be read (then tokens is None)
    ours: bool | None = None  # the token is the one pac-tui wrote; None: no fingerprint to tell

    @property
    def foreign(self) -> bool:
        """Someone else (PAC's rotation, kubectl) replaced the token pac-tui wrote."""
        return self.ours is False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class WriteResult(enum.StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the Secret already holds this generation
    NEWER_IN_CLUSTER = "newer-in-cluster"  # someone stored a newer token: adopt it


@dataclass(frozen=True)
class Written:
    result: WriteResult
    secret: StoredSecret


def read_secret(cluster: Cluster, namespace: str, name: str, token_key: str) -> StoredSecret | None:
    """The Secret, or None when it does not exist."""
    try:
        body = cluster.call(
            f"read Secret {namespace}/{name}", cluster.core.read_namespaced_secret, name, namespace
        )
    except NotFound:
        return None
    return stored_secret(body, namespace, token_key)


def write_tokens(
    cluster: Cluster,
    namespace: str,
    name: str,
    token_key: str,
    tokens: SecretTokens,
    *,
    labels: dict[str, str] | None = None,
    extra_data: dict[str, str] | None = None,
    create: bool = True,
    replace_newer: bool = False,
    over_foreign: bool = False,
) -> Written:
    """Store `tokens` in the Secret unless it already holds the same or a newer generation.

    `extra_data` (e.g. a new webhook secret) is written only into keys that are still absent.
    With `create` False a missing Secret raises `SecretGone` instead of being created. With
    `replace_newer` (a grant the user has just authorized) the Secret's grant is replaced even
    when its issue time is the same or later: issue times have one-second resolution and come
    from different clocks, and a new login is the newest grant whatever the clocks say.
    A token someone else wrote raises `ForeignToken` unless `replace_newer` or `over_foreign`.
    """
    for _ in range(MAX_ATTEMPTS):
        current = read_secret(cluster, namespace, name, token_key)
        if current is None and not create:
            raise SecretGone(
                f"Secret {namespace}/{name} no longer exists; pac-tui does not create it again "
                "(run pac-tui sync on a workstation if it was deleted by mistake)"
            )
        if current is not None and current.problem:
            raise MalformedSecret(current)
        if current is not None and current.foreign and not (replace_newer or over_foreign):
            raise ForeignToken(
                f"Secret {current.key} holds a token pac-tui did not write; pac-tui does not "
                "write over it (a new pac-tui login replaces it)"
            )
        held = current.tokens if current else None
        if held is not None and held.same_generation(tokens):
            missing = {k: v for k, v in (extra_data or {}).items() if k not in current.keys}
            if not missing and current.last_error is None and current.ours is not None:
                return Written(WriteResult.UNCHANGED, current)
        elif held is not None and held.issued_at >= tokens.issued_at and not replace_newer:
            return Written(WriteResult.NEWER_IN_CLUSTER, current)
        body = _body(current, namespace, name, token_key, tokens, labels, extra_data)
        try:
            if current is None:
                saved = cluster.call(
                    f"create Secret {namespace}/{name}",
                    cluster.core.create_namespaced_secret,
                    namespace,
                    body,
                )
            else:
                saved = cluster.call(
                    f"update Secret {namespace}/{name}",
                    cluster.core.replace_namespaced_secret,
                    name,
                    namespace,
                    body,
                )
        except (Conflict, NotFound):
            continue  # someone wrote (or deleted) in between: read again and decide again
        stored = stored_secret(saved, namespace, token_key)
        return Written(WriteResult.WRITTEN, stored)
    raise PacTuiError(
        f"Secret {namespace}/{name} kept changing while pac-tui tried to write it "
        f"({MAX_ATTEMPTS} conflicts in a row); try again"
    )


def check_writable(cluster: Cluster, secret: StoredSecret) -> None:
    """Prove the Secret can be written before GitLab is asked for a new token.

    A server-side dry-run update with the Secret as read (as PAC does before its own rotation,
    tektoncd/pipelines-as-code#2837): RBAC, admission and the `resourceVersion` are checked,
    nothing is stored. Raises `ClusterRefused` (refused), `Conflict` (changed since it was read),
    `NotFound` (deleted) or `ClusterUnavailable`.
    """
    cluster.call(
        f"update Secret {secret.key} (dry run)",
        cluster.core.replace_namespaced_secret,
        secret.name,
        secret.namespace,
        secret.body,
        dry_run="All",
    )


def _body(
    current: StoredSecret | None,
    namespace: str,
    name: str,
    token_key: str,
    tokens: SecretTokens,
    labels: dict[str, str] | None,
    extra_data: dict[str, str] | None,
) -> client.V1Secret:
    if current is None:
        body = client.V1Secret(
            api_version="v1",
            kind="Secret",
            type="Opaque",
            metadata=client.V1ObjectMeta(name=name, namespace=namespace),
            data={},
        )
    else:
        body = current.body
    meta = body.metadata
    meta.labels = {**(meta.labels or {}), **(labels or {}), MANAGED_BY[0]: MANAGED_BY[1]}
    annotations = {
        k: v for k, v in (meta.annotations or {}).items() if not k.startswith(PREFIX) or k in KEPT
    }
    annotations.update(
        {
            f"{PREFIX}{key}": value
            for key, value in {
                "mode": tokens.mode,
                "issued-at": iso_utc(tokens.issued_at),
                "expires-at": iso_utc(tokens.expires_at),
                "token-id": str(tokens.token_id) if tokens.token_id is not None else None,
                "gitlab-url": tokens.gitlab_url,
                "client-id": tokens.client_id,
                "project": tokens.project,
                "token-key": token_key,
                "token-fingerprint": fingerprint(tokens.token, namespace, name, token_key),
            }.items()
            if value is not None
        }
    )
    meta.annotations = annotations
    data = dict(body.data or {})
    for key, value in (extra_data or {}).items():
        data.setdefault(key, b64encode_text(value))
    data[token_key] = b64encode_text(tokens.token)
    if tokens.refresh_token:
        data[REFRESH_KEY] = b64encode_text(tokens.refresh_token)
    else:
        data.pop(REFRESH_KEY, None)
    body.data = data
    return body


def stored_secret(body: client.V1Secret, namespace: str, token_key: str) -> StoredSecret:
    meta = body.metadata
    labels = meta.labels or {}
    annotations = meta.annotations or {}
    data = body.data or {}
    managed = labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
    tokens, problem = _tokens(annotations, data, token_key) if managed else (None, None)
    ours = None
    if tokens is not None:
        noted = annotations.get(FINGERPRINT)
        ours = written_by_pac_tui(noted, tokens.token, namespace, meta.name, token_key)
    return StoredSecret(
        namespace=namespace,
        name=meta.name,
        token_key=token_key,
        resource_version=str(meta.resource_version or ""),
        managed=managed,
        tokens=tokens,
        keys=frozenset(data),
        last_error=annotations.get(f"{PREFIX}last-error"),
        body=body,
        problem=problem,
        ours=ours,
    )


class _Unreadable(Exception):
    """One managed annotation or key that cannot be read; its message names it, never a value."""


def _tokens(
    annotations: dict[str, str], data: dict[str, str], token_key: str
) -> tuple[SecretTokens | None, str | None]:
    """(tokens, None), (None, None) when pac-tui has not stored tokens here, or (None, why)."""

    def note(key: str) -> str | None:
        return annotations.get(f"{PREFIX}{key}")

    if note("mode") is None and note("issued-at") is None:
        return None, None  # labelled (e.g. by onboarding) but no token written yet
    try:
        mode = note("mode")
        if mode not in TOKEN_MODES:
            raise _Unreadable(f"annotation {PREFIX}mode is not one of {', '.join(TOKEN_MODES)}")
        issued_at = _time(note("issued-at"), "issued-at", required=True)
        expires_at = _time(note("expires-at"), "expires-at")
        token_id = note("token-id")
        if token_id is not None and not re.fullmatch(r"[0-9]{1,18}", token_id):
            raise _Unreadable(f"annotation {PREFIX}token-id is not a number")
        refresh_token = b64decode_text(data.get(REFRESH_KEY))
        if REFRESH_KEY in data and refresh_token is None:
            raise _Unreadable(f"key {REFRESH_KEY} is not base64-encoded UTF-8")
        token = b64decode_text(data.get(token_key))
        if not token:
            if note("token-key") == token_key:
                raise _Unreadable(f"key {token_key} holds no token")
            return None, None  # the Repository now names another key: nothing stored there yet
    except _Unreadable as exc:
        return None, str(exc)
    assert issued_at is not None
    return SecretTokens(
        mode=TokenMode(mode),
        token=token,
        issued_at=issued_at,
        expires_at=expires_at,
        gitlab_url=note("gitlab-url") or "",
        project=note("project") or "",
        client_id=note("client-id"),
        refresh_token=refresh_token,
        token_id=int(token_id) if token_id is not None else None,
    ), None


def _time(value: str | None, key: str, *, required: bool = False) -> datetime | None:
    try:
        parsed = parse_time(value)
    except ValueError:
        parsed = None
        required = True
    if parsed is None and required:
        raise _Unreadable(f"annotation {PREFIX}{key} is not an RFC 3339 time")
    return parsed


def b64encode_text(value: str) -> str:
    """`value` as a Secret's `data` holds it (UTF-8, base64)."""
    return base64.b64encode(value.encode()).decode()


def b64decode_text(value: Any) -> str | None:
    """A Secret's `data` value as text; None when it is missing, empty or not base64 UTF-8."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
