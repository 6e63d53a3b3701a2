"""The Secret PAC reads its GitLab token from, as pac-tui keeps it.

Layout of a managed Secret (label `app.kubernetes.io/managed-by: pac-tui`):

- data: the provider key PAC reads (the Repository's `git_provider.secret.key`, default
  `provider.token`); in oauth mode also `pac-tui.refresh-token`. The webhook key and any other key
  are left as they are.
- annotations (not secret, visible in `kubectl describe`): `pac-tui.dev/mode`,
  `pac-tui.dev/issued-at` (orders token generations), `pac-tui.dev/expires-at`,
  `pac-tui.dev/token-id` (project-token mode), `pac-tui.dev/gitlab-url`, `pac-tui.dev/client-id`,
  `pac-tui.dev/project`, `pac-tui.dev/token-key`, and the refresher's `pac-tui.dev/last-error`.

Writes are conditional on the `resourceVersion` that was read. On a 409 the Secret is read again:
a token issued at the same time or later is never overwritten — the caller adopts it instead.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubernetes import client

from pac_tui.core.config import TOKEN_MODES, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import iso_utc, mask, parse_time
from pac_tui.kube.cluster import Cluster, Conflict, NotFound

MANAGED_BY = ("app.kubernetes.io/managed-by", "pac-tui")
PREFIX = "pac-tui.dev/"
REFRESH_KEY = "pac-tui.refresh-token"
MAX_ATTEMPTS = 5


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
) -> Written:
    """Store `tokens` in the Secret unless it already holds the same or a newer generation.

    `extra_data` (e.g. a new webhook secret) is written only into keys that are still absent.
    """
    for _ in range(MAX_ATTEMPTS):
        current = read_secret(cluster, namespace, name, token_key)
        held = current.tokens if current else None
        if held is not None and held.same_generation(tokens):
            missing = {k: v for k, v in (extra_data or {}).items() if k not in current.keys}
            if not missing and current.last_error is None:
                return Written(WriteResult.UNCHANGED, current)
        elif held is not None and held.issued_at >= tokens.issued_at:
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
        except Conflict:
            continue  # someone wrote in between: read again and decide again
        stored = stored_secret(saved, namespace, token_key)
        return Written(WriteResult.WRITTEN, stored)
    raise PacTuiError(
        f"Secret {namespace}/{name} kept changing while pac-tui tried to write it "
        f"({MAX_ATTEMPTS} conflicts in a row); try again"
    )


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
    annotations = {k: v for k, v in (meta.annotations or {}).items() if not k.startswith(PREFIX)}
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
    return StoredSecret(
        namespace=namespace,
        name=meta.name,
        token_key=token_key,
        resource_version=str(meta.resource_version or ""),
        managed=managed,
        tokens=_tokens(annotations, data, token_key) if managed else None,
        keys=frozenset(data),
        last_error=annotations.get(f"{PREFIX}last-error"),
        body=body,
    )


def _tokens(
    annotations: dict[str, str], data: dict[str, str], token_key: str
) -> SecretTokens | None:
    def note(key: str) -> str | None:
        return annotations.get(f"{PREFIX}{key}")

    token = b64decode_text(data.get(token_key))
    issued_at = parse_time(note("issued-at"))
    mode = note("mode")
    if not token or issued_at is None or mode not in TOKEN_MODES:
        return None
    token_id = note("token-id")
    return SecretTokens(
        mode=TokenMode(mode),
        token=token,
        issued_at=issued_at,
        expires_at=parse_time(note("expires-at")),
        gitlab_url=note("gitlab-url") or "",
        project=note("project") or "",
        client_id=note("client-id"),
        refresh_token=b64decode_text(data.get(REFRESH_KEY)),
        token_id=int(token_id) if token_id and token_id.isdigit() else None,
    )


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
