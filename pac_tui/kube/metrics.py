"""The refresher's Prometheus metrics, served on `/metrics` (`pac_tui.kube.probes`).

Labels carry namespaces, Secret names, modes and outcome words, never a token. Each refresher has
its own registry, so two in one process (tests) do not mix.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from pac_tui.kube.secrets import SecretTokens, StoredSecret

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RefresherMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.expiry = Gauge(
            "pac_tui_token_expiry_seconds",
            "Seconds until the token in a managed Secret expires (negative once expired); "
            "exported by the replica that leads",
            ["namespace", "secret", "mode"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "pac_tui_refresher_outcomes",
            "What the refresher did per Secret: refreshed, rotated, adopted, failed, "
            "needs-login, unwritable, malformed, gone, lost",
            ["namespace", "secret", "outcome"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "pac_tui_refresher_leader",
            "1 while this replica holds the refresher Lease",
            registry=self.registry,
        )
        self.unwritten = Gauge(
            "pac_tui_refresher_unwritten_tokens",
            "New tokens GitLab issued that are not in their Secret yet (kept in memory, retried)",
            registry=self.registry,
        )
        self.last_pass = Gauge(
            "pac_tui_refresher_last_pass_timestamp_seconds",
            "When the last pass over the managed Secrets finished (Unix time)",
            registry=self.registry,
        )
        self._shown: set[tuple[str, str, str]] = set()

    def secrets_seen(self, secrets: Iterable[StoredSecret], now: datetime) -> None:
        """Set each Secret's expiry gauge; drop the gauges of Secrets no longer listed."""
        shown = set()
        for secret in secrets:
            if secret.tokens is not None:
                shown.add(self.expires(secret, secret.tokens, now))
        self.forget_expiries(keep={labels for labels in shown if labels})
        self.last_pass.set(now.timestamp())

    def expires(
        self, secret: StoredSecret, tokens: SecretTokens, now: datetime
    ) -> tuple[str, str, str] | None:
        """Set one Secret's expiry gauge (e.g. right after a new token was written)."""
        if tokens.expires_at is None:
            return None
        labels = (secret.namespace, secret.name, tokens.mode)
        self.expiry.labels(*labels).set((tokens.expires_at - now).total_seconds())
        self._shown.add(labels)
        return labels

    def forget_expiries(self, keep: set[tuple[str, str, str]] | None = None) -> None:
        """Drop expiry gauges (all of them when this replica stops leading)."""
        for labels in self._shown - (keep or set()):
            self.expiry.remove(*labels)
        self._shown = set(keep or ())

    def outcome(self, secret: str, outcome: str) -> None:
        namespace, _, name = secret.partition("/")
        self.outcomes.labels(namespace, name, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
