"""TLS for the listening side (optional: a Service mesh or plain HTTP inside the cluster are the
usual choices, but a certificate can be given)."""

from __future__ import annotations

import ssl

from .settings import GatewayConfigError, GatewaySettings


def server_ssl_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    """The context to serve HTTPS with, or None for plain HTTP; a bad pair is a config error."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise GatewayConfigError(
            f"cannot use TLS certificate {str(settings.tls_cert)!r} with key "
            f"{str(settings.tls_key)!r}: {reason} (both must be PEM, and the key must match)"
        ) from None
    return context
