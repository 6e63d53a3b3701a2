"""The gateway's Prometheus metrics, on a registry of its own (never the process-wide one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# What `generate_latest` writes (prometheus-client's own server answers this type by default).
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"

# Labels stay bounded: any other method (a client can send any token) counts as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"})
# Upstream answers take from a few ms (API calls) to tens of seconds (archives).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Requests by status and method, upstream latency, requests in flight, upstream errors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "pac_tui_gateway_requests",
            "Requests answered by the gateway (its own /healthz and /metrics excluded).",
            ("code", "method"),
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "pac_tui_gateway_upstream_latency_seconds",
            "Time from sending a request upstream to the upstream's response headers.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._answered: dict[tuple[str, int], Counter] = {}
        self.in_flight = Gauge(
            "pac_tui_gateway_in_flight_requests",
            "Requests being forwarded now.",
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "pac_tui_gateway_upstream_errors",
            "Upstream failures by kind: connect, dns, tls, timeout, disconnected, aborted.",
            ("kind",),
            registry=self.registry,
        )

    def answered(self, method: str, status: int) -> None:
        key = (method, status)
        child = self._answered.get(key)
        if child is None:  # labels() costs a lock and a tuple per call: look each pair up once
            label = method if method in KNOWN_METHODS else "other"
            child = self._answered[key] = self.requests.labels(code=str(status), method=label)
        child.inc()

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), TEXT_FORMAT
