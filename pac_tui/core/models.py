"""What pac-tui knows about a repository's grant: the token set and what happened to it.

Token values live only in `TokenSet`, whose repr masks them, so a stray print or log line of a
record cannot leak one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pac_tui.core.config.model import TokenMode


def mask(secret: str | None) -> str:
    """At most a short prefix of a secret, for display."""
    if not secret:
        return "—"
    return f"{secret[:4]}…" if len(secret) > 12 else "…"


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    issued_at: datetime

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={mask(self.access_token)}, "
            f"refresh_token={mask(self.refresh_token)}, scopes={self.scopes}, "
            f"expires_at={self.expires_at})"
        )

    @classmethod
    def from_response(
        cls, response: dict[str, Any], now: datetime, requested_scopes: tuple[str, ...]
    ) -> TokenSet:
        """Build from a token endpoint answer.

        The expiry is counted from our own clock when the answer arrived (GitLab's `created_at` is
        its clock, not ours), so a skewed server clock never makes a token look fresher than it is.
        """
        access = response.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the token endpoint answered without an access_token")
        expires_in = response.get("expires_in")
        expires_at = None
        if expires_in is not None:
            expires_at = now + timedelta(seconds=int(expires_in))
        scope = response.get("scope")
        if isinstance(scope, str) and scope.strip():
            scopes = tuple(scope.split())
        elif isinstance(scope, list):
            scopes = tuple(str(s) for s in scope)
        else:
            scopes = requested_scopes
        refresh = response.get("refresh_token")
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            token_type=str(response.get("token_type") or "Bearer"),
            scopes=scopes,
            expires_at=expires_at,
            issued_at=now,
        )

    def expires_in(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "scopes": list(self.scopes),
            "expires_at": iso_utc(self.expires_at),
            "issued_at": iso_utc(self.issued_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            token_type=data.get("token_type", "Bearer"),
            scopes=tuple(data.get("scopes", ())),
            expires_at=parse_time(data.get("expires_at")),
            issued_at=_parse_required(data["issued_at"]),
        )


@dataclass(frozen=True)
class RefreshOutcome:
    at: datetime
    ok: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"at": iso_utc(self.at), "ok": self.ok, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshOutcome:
        return cls(
            at=_parse_required(data["at"]),
            ok=bool(data["ok"]),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class ProjectTokenRecord:
    """A project access token pac-tui minted for PAC (project-token mode).

    Kept locally as well as in the cluster: GitLab revokes the old token the moment it answers a
    rotation, so the new one must be on disk before the (possibly unreachable) cluster gets it.
    """

    token_id: int
    token: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime

    def __repr__(self) -> str:
        return (
            f"ProjectTokenRecord(token_id={self.token_id}, token={mask(self.token)}, "
            f"expires_at={self.expires_at})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "token": self.token,
            "expires_at": iso_utc(self.expires_at),
            "issued_at": iso_utc(self.issued_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProjectTokenRecord:
        return cls(
            token_id=int(data["token_id"]),
            token=data["token"],
            expires_at=_parse_required(data["expires_at"]),
            issued_at=_parse_required(data["issued_at"]),
        )


@dataclass(frozen=True)
class ClusterSync:
    """How the repository's Secret stands against the local store.

    `synced` is the issue time of the token generation last confirmed in the Secret; when the
    local generation is newer the UI shows "not synced" with `error`.
    """

    at: datetime
    synced: datetime | None
    error: str | None = None
    rotator: str | None = None  # who rotates the Secret's token: "pac" or "pac-tui" (kube.rotation)

    def to_json(self) -> dict[str, Any]:
        data = {"at": iso_utc(self.at), "synced": iso_utc(self.synced), "error": self.error}
        if self.rotator is not None:
            data["rotator"] = self.rotator
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterSync:
        rotator = data.get("rotator")
        return cls(
            at=_parse_required(data["at"]),
            synced=parse_time(data.get("synced")),
            error=data.get("error"),
            rotator=rotator if isinstance(rotator, str) else None,
        )


@dataclass(frozen=True)
class TokenRecord:
    """Everything the store keeps for one repository.

    `tokens` is None after a revoke or an `invalid_grant`; `needs_login` then says why.
    `gitlab_url` and `client_id` tie the grant to the application that issued it, so a config
    that now points elsewhere is noticed instead of sending tokens to the wrong place.
    """

    gitlab_url: str
    client_id: str
    tokens: TokenSet | None = None
    username: str | None = None
    obtained_at: datetime | None = None
    refreshed_at: datetime | None = None
    last_refresh: RefreshOutcome | None = None
    needs_login: str | None = None
    project_token: ProjectTokenRecord | None = None
    cluster: ClusterSync | None = None

    def cluster_generation(self, mode: TokenMode) -> datetime | None:
        """Issue time of the token this record would put in the Secret in `mode`."""
        if mode == TokenMode.OAUTH:
            return self.tokens.issued_at if self.tokens else None
        return self.project_token.issued_at if self.project_token else None

    def with_(self, **changes: Any) -> TokenRecord:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "gitlab_url": self.gitlab_url,
            "client_id": self.client_id,
            "tokens": self.tokens.to_json() if self.tokens else None,
            "username": self.username,
            "obtained_at": iso_utc(self.obtained_at),
            "refreshed_at": iso_utc(self.refreshed_at),
            "last_refresh": self.last_refresh.to_json() if self.last_refresh else None,
            "needs_login": self.needs_login,
            "project_token": self.project_token.to_json() if self.project_token else None,
            "cluster": self.cluster.to_json() if self.cluster else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenRecord:
        tokens = data.get("tokens")
        last = data.get("last_refresh")
        project = data.get("project_token")
        cluster = data.get("cluster")
        return cls(
            gitlab_url=data["gitlab_url"],
            client_id=data["client_id"],
            tokens=TokenSet.from_json(tokens) if tokens else None,
            username=data.get("username"),
            obtained_at=parse_time(data.get("obtained_at")),
            refreshed_at=parse_time(data.get("refreshed_at")),
            last_refresh=RefreshOutcome.from_json(last) if last else None,
            needs_login=data.get("needs_login"),
            project_token=ProjectTokenRecord.from_json(project) if project else None,
            cluster=ClusterSync.from_json(cluster) if cluster else None,
        )


def issued_after(previous: datetime | None, now: datetime) -> datetime:
    """The issue time of a new token generation: now, but strictly after `previous`.

    Generations are ordered by issue time, stored to the second; two within one second (a login
    followed at once by a refresh, a frozen test clock) must still compare as newer.
    """
    now = now.replace(microsecond=0)
    if previous is None or now > previous.replace(microsecond=0):
        return now
    return previous.replace(microsecond=0) + timedelta(seconds=1)


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp (`Z` or offset) as an aware datetime; None for None or empty."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_required(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("a required timestamp is empty")
    return parsed
