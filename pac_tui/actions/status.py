"""The state of each repository's grant, as `pac-tui status` and the dashboard show it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pac_tui.core.config import Config, Repository, TokenMode
from pac_tui.core.models import TokenRecord, iso_utc
from pac_tui.oauth.grant import application_mismatch, login_hint


class State(enum.StrEnum):
    AUTHORIZED = "authorized"
    EXPIRED = "expired"
    NEEDS_LOGIN = "needs-login"
    ERROR = "error"
    UNMANAGED = "unmanaged"  # a PAC Repository in the cluster that no config entry binds


_ATTENTION = frozenset({State.NEEDS_LOGIN, State.EXPIRED, State.ERROR})


@dataclass(frozen=True)
class ClusterStatus:
    """Where a bound repository's token goes in the cluster, and whether it got there."""

    namespace: str
    repository: str
    mode: TokenMode
    context: str | None
    synced: bool
    message: str | None
    gateway: str | None = None  # oauth mode: the token gateway PAC's API calls go through
    rotator: str | None = None  # who rotates the Secret's token: "pac" or "pac-tui" (last sync)

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            "mode": self.mode,
            "context": self.context,
            "synced": self.synced,
            "message": self.message,
            "gateway": self.gateway,
            "rotator": self.rotator,
        }


def cluster_status(repo: Repository, record: TokenRecord | None) -> ClusterStatus | None:
    binding = repo.kubernetes
    if binding is None:
        return None
    reason = not_synced(record, binding.mode, repo.name)
    return ClusterStatus(
        namespace=binding.namespace,
        repository=binding.repository,
        mode=binding.mode,
        context=binding.context,
        synced=reason is None and record is not None and record.cluster is not None,
        message=reason,
        gateway=binding.gateway,
        rotator=record.cluster.rotator if record is not None and record.cluster else None,
    )


def not_synced(record: TokenRecord | None, mode: TokenMode, name: str) -> str | None:
    """Why the Secret lags the local store, or None when it holds the newest generation."""
    if record is None:
        return None
    generation = record.cluster_generation(mode)
    sync = record.cluster
    if generation is None:
        return sync.error if sync and sync.error else None
    if sync is not None and sync.synced is not None and sync.synced >= generation:
        return None
    return (sync.error if sync and sync.error else None) or (
        f"not synced to the cluster yet; run: pac-tui sync {name}"
    )


@dataclass(frozen=True)
class RepoStatus:
    name: str
    project: str
    gitlab: str
    state: State
    expires_at: datetime | None
    expires_in: int | None
    scopes: tuple[str, ...]
    refreshed_at: datetime | None
    message: str | None
    username: str | None = None
    cluster: ClusterStatus | None = None
    refresh_failed: bool = False  # the last refresh failed, whatever the state

    @property
    def needs_attention(self) -> bool:
        """Whether someone has to act: not logged in (or a grant GitLab dropped), expired, the
        last refresh failed, or a bound Secret that lags the store (not synced, a sync error).

        `status --check` exits 1 on it, as `gh auth status` does; the dashboard can use it too.
        """
        if self.state in _ATTENTION or self.refresh_failed:
            return True
        return self.cluster is not None and not self.cluster.synced

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys of the `status --json` contract; never a token value."""
        return {
            "name": self.name,
            "project": self.project,
            "gitlab": self.gitlab,
            "state": self.state.value,
            "expires_at": iso_utc(self.expires_at),
            "expires_in": self.expires_in,
            "scopes": list(self.scopes),
            "refreshed_at": iso_utc(self.refreshed_at),
            "message": self.message,
            "cluster": self.cluster.to_json() if self.cluster else None,
        }


def repo_status(repo: Repository, record: TokenRecord | None, now: datetime) -> RepoStatus:
    def make(state: State, message: str | None, record: TokenRecord | None = None) -> RepoStatus:
        tokens = record.tokens if record else None
        expires_in = None
        if tokens and tokens.expires_at:
            expires_in = max(0, int((tokens.expires_at - now).total_seconds()))
        return RepoStatus(
            name=repo.name,
            project=repo.project,
            gitlab=repo.gitlab.url,
            state=state,
            expires_at=tokens.expires_at if tokens else None,
            expires_in=expires_in,
            scopes=tokens.scopes if tokens else (),
            refreshed_at=record.refreshed_at if record else None,
            message=message,
            username=record.username if record else None,
            cluster=cluster_status(repo, record),
            refresh_failed=bool(record and record.last_refresh and not record.last_refresh.ok),
        )

    if record is None:
        return make(State.NEEDS_LOGIN, f"not logged in; {login_hint(repo)}")
    mismatch = application_mismatch(repo, record)
    if mismatch:
        return make(State.NEEDS_LOGIN, f"{mismatch}; {login_hint(repo)}")
    if record.tokens is None:
        reason = record.needs_login or "no tokens stored"
        return make(State.NEEDS_LOGIN, f"{reason}; {login_hint(repo)}", record)

    failed = record.last_refresh if record.last_refresh and not record.last_refresh.ok else None
    remaining = record.tokens.expires_in(now)
    if remaining is not None and remaining <= 0:
        if failed:
            message = f"expired, and the last refresh failed: {failed.message}"
            return make(State.ERROR, message, record)
        return make(State.EXPIRED, f"expired; refresh with: pac-tui refresh {repo.name}", record)
    message = f"the last refresh failed: {failed.message}" if failed else None
    return make(State.AUTHORIZED, message, record)


def status_all(config: Config, records: dict[str, TokenRecord], now: datetime) -> list[RepoStatus]:
    return [repo_status(repo, records.get(repo.name), now) for repo in config.repositories]
