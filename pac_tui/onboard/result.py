"""What onboarding reports: one `Item` per thing it puts in place, and the `OnboardResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REDACTED = "REDACTED"

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
WOULD_CREATE, WOULD_UPDATE, NOT_CHECKED = "would create", "would update", "not checked"


@dataclass(frozen=True)
class Item:
    """One thing onboarding puts in place, and what it did (or would do) to it."""

    kind: str  # Repository, Secret, Hook
    name: str  # namespace/name, or the hook's URL
    action: str  # created, updated, unchanged; dry run: would create, would update, not checked
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class OnboardResult:
    repo: str
    dry_run: bool
    items: tuple[Item, ...]
    warnings: tuple[str, ...]
    repository_yaml: str
    secret_yaml: str  # every value REDACTED
    hook: dict[str, Any]  # the hook's settings, its token REDACTED
    # The webhook secret the Secret and the hook now share (not in a dry run). Never printed nor
    # in to_json: the command records it in the config when pac-tui's receiver relays to PAC.
    webhook_secret: str | None = field(default=None, repr=False)
    # The signing token the hook now signs deliveries with (None: none, or GitLab ignored it).
    # Never printed either: the command records it as the repository's webhook_signing_token.
    signing_token: str | None = field(default=None, repr=False)

    @property
    def changed(self) -> bool:
        return any(item.action in (CREATED, UPDATED) for item in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "dry_run": self.dry_run,
            "items": [item.to_json() for item in self.items],
            "warnings": list(self.warnings),
            "repository_yaml": self.repository_yaml,
            "secret_yaml": self.secret_yaml,
            "hook": self.hook,
        }
