"""What the gateway is told: one upstream GitLab, where to listen, TLS files, timeouts.

Every value is checked when the settings are made, so a mistake is reported once, at start-up,
in words an operator can act on, and never as a failure on the first forwarded request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PORT = 8080
# Bounds for every timeout, in seconds: an unbounded wait would pin a connection forever.
MIN_TIMEOUT = 0.05
MAX_TIMEOUT = 3600.0


class GatewayConfigError(ValueError):
    """A setting the gateway cannot start with; the message says which and what to do."""


@dataclass(frozen=True)
class Upstream:
    """The one GitLab the gateway forwards to, split into the parts the forwarder needs."""

    scheme: str
    host: str  # as written in the URL: brackets kept around an IPv6 literal
    port: int
    path_prefix: str  # "" or "/gitlab" (a GitLab under a relative URL); never ends in "/"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``, without the default port: what error bodies name."""
        default = 443 if self.scheme == "https" else 80
        suffix = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{suffix}"


def parse_upstream(url: str) -> Upstream:
    """Check an upstream URL (``https://gitlab.example.com[/prefix]``) and split it."""
    text = url.strip()
    if not text:
        raise GatewayConfigError("the upstream URL is empty: give e.g. https://gitlab.com")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise GatewayConfigError(
            f"upstream {text!r}: the scheme must be http or https (e.g. https://gitlab.com)"
        )
    if parts.username is not None or parts.password is not None:
        raise GatewayConfigError(
            f"upstream {text!r}: remove the user name and password from the URL"
        )
    if not parts.hostname:
        raise GatewayConfigError(f"upstream {text!r}: the URL has no host name")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise GatewayConfigError(
            f"upstream {text!r}: remove the query string and fragment; only a path prefix is kept"
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise GatewayConfigError(f"upstream {text!r}: the port is not a number from 1 to 65535")
    host = parts.hostname
    if ":" in host:  # an IPv6 literal: keep it bracketed, as in a URL
        host = f"[{host}]"
    return Upstream(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        path_prefix=parts.path.rstrip("/"),
    )


def _timeout(name: str, value: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise GatewayConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise GatewayConfigError(
            f"{name} must be between {MIN_TIMEOUT} and {MAX_TIMEOUT:.0f} seconds, not {value!r}"
        )
    return seconds


def _readable_file(what: str, path: Path) -> None:
    if not path.is_file():
        raise GatewayConfigError(f"{what} {str(path)!r} does not exist or is not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise GatewayConfigError(f"{what} {str(path)!r} cannot be read: {exc.strerror}") from None


@dataclass(frozen=True)
class GatewaySettings:
    """How to run one gateway.

    `upstream`: the GitLab to forward to (http or https, optional path prefix). `port` 0 picks
    a free port (tests). `tls_cert` and `tls_key` together make the gateway serve HTTPS.
    `ca_bundle`: the CAs that sign the upstream's certificate, instead of the system store.
    Timeouts, in seconds: `connect_timeout` to open the upstream connection; `read_timeout`
    for the upstream's answer to start and then between any two pieces of its body;
    `total_timeout` for a whole exchange (a large archive download must fit in it).
    `drain_seconds`: on SIGTERM, how long requests in flight may still take.
    """

    upstream: str
    host: str = "0.0.0.0"  # noqa: S104 - a gateway in a pod listens on the pod's address
    port: int = DEFAULT_PORT
    ca_bundle: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    total_timeout: float = 600.0
    drain_seconds: float = 25.0
    keepalive_seconds: float = 75.0

    def __post_init__(self) -> None:
        parse_upstream(self.upstream)
        if not self.host.strip():
            raise GatewayConfigError("the listen host is empty: give e.g. 0.0.0.0 or 127.0.0.1")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise GatewayConfigError(f"the port must be a whole number, not {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise GatewayConfigError(f"port {self.port} is out of range: use 1 to 65535")
        for name in ("connect_timeout", "read_timeout", "total_timeout", "keepalive_seconds"):
            object.__setattr__(self, name, _timeout(name.replace("_", " "), getattr(self, name)))
        drain = _timeout_or_zero("drain seconds", self.drain_seconds)
        object.__setattr__(self, "drain_seconds", drain)
        for name in ("ca_bundle", "tls_cert", "tls_key"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        if (self.tls_cert is None) != (self.tls_key is None):
            given, missing = ("certificate", "key") if self.tls_key is None else ("key", "cert")
            raise GatewayConfigError(
                f"a TLS {given} was given without the TLS {missing}: give both to serve HTTPS, "
                "or neither to serve plain HTTP"
            )
        if self.tls_cert is not None and self.tls_key is not None:
            _readable_file("TLS certificate file", self.tls_cert)
            _readable_file("TLS key file", self.tls_key)
        if self.ca_bundle is not None:
            _readable_file("CA bundle", self.ca_bundle)

    @property
    def target(self) -> Upstream:
        """The upstream, parsed."""
        return parse_upstream(self.upstream)

    @property
    def serves_tls(self) -> bool:
        return self.tls_cert is not None


def _timeout_or_zero(name: str, value: float) -> float:
    """Like `_timeout`, but 0 is allowed: stop at once, without draining."""
    try:
        if float(value) == 0:
            return 0.0
    except (TypeError, ValueError):
        pass
    return _timeout(name, value)
