"""What one sync did to a bound repository's Secret, as `pac-tui sync` and the dashboard show it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pac_tui.core.models import iso_utc


class SyncAction(enum.StrEnum):
    WRITTEN = "written"  # the Secret now holds the local generation
    UNCHANGED = "unchanged"  # it already held it
    ADOPTED = "adopted"  # the cluster held a newer generation: it is now the local one too
    MINTED = "minted"  # project-token mode: a new project access token
    ROTATED = "rotated"  # project-token mode: the token rotated before expiry


@dataclass(frozen=True)
class SyncResult:
    repo: str
    action: SyncAction
    secret: str  # namespace/name
    expires_at: datetime | None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "action": self.action,
            "secret": self.secret,
            "expires_at": iso_utc(self.expires_at),
            "warnings": list(self.warnings),
        }

    def describe(self) -> str:
        """The line both faces show: `demo: written, Secret ci/demo-token`."""
        return f"{self.repo}: {self.action}, Secret {self.secret}"
