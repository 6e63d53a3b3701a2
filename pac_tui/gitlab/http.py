"""The one way pac-tui builds an HTTP client for a GitLab instance, and reads its failures.

Every call to GitLab (OAuth endpoints, the REST API, the reachability and client checks) goes
through a client from `http_client`: the same timeouts, the same User-Agent, the proxy variables
honoured. `explain_http` turns a transport or HTTP failure into an error a person can act on; it
names the instance and the action, never a token.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import httpx

from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import PacTuiError, ProviderRejected, ProviderUnavailable

HTTP_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
USER_AGENT = "pac-tui"


def client_options(**headers: str) -> dict[str, Any]:
    """The keyword arguments every GitLab client is built with (also for authlib's client)."""
    return {
        "timeout": HTTP_TIMEOUT,
        "trust_env": True,
        "verify": tls_context(),
        "headers": {"User-Agent": USER_AGENT, **headers},
    }


def tls_context() -> ssl.SSLContext:
    """The TLS context every GitLab client verifies with: httpx's own (certifi's CA bundle, or
    `SSL_CERT_FILE` / `SSL_CERT_DIR` when set), built once per bundle.

    Building one reads and parses the whole CA bundle: about 25 ms of CPU, on the dashboard's
    event loop, for every client. The dashboard makes a client per repository it asks about
    (the hook health of each row scrolled into view), so a page of new rows held the loop for
    most of a second and key presses waited (bench/RESULTS.md, issue 15).
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=True)  # reads the same two variables


def http_client(
    *,
    base_url: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = HTTP_TIMEOUT,
    **headers: str,
) -> httpx.AsyncClient:
    """An httpx client for one GitLab instance; `headers` are added to the defaults."""
    options = client_options(**headers)
    options["timeout"] = timeout
    return httpx.AsyncClient(base_url=base_url, transport=transport, **options)


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response body as a JSON object, or None when it is not one (HTML, a list, garbage)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def explain_http(exc: BaseException, app: GitLabApp, action: str) -> PacTuiError:
    """A transport error, a 4xx/5xx raised by `raise_for_status`, or a non-JSON answer, in words.

    Anything else is not ours to explain and is raised again.
    """
    where = app.url
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status >= 500:
            return ProviderUnavailable(
                f"{where} answered HTTP {status} while trying to {action}; try again later"
            )
        hint = " (is this the URL of a GitLab instance?)" if status == 404 else ""
        return ProviderRejected(f"{where} answered HTTP {status} while trying to {action}{hint}")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderUnavailable(f"{where} did not answer in time while trying to {action}")
    if isinstance(exc, httpx.TransportError):
        reason = str(exc) or type(exc).__name__
        return ProviderUnavailable(f"cannot reach {where} to {action}: {reason}")
    if isinstance(exc, ValueError):
        return ProviderRejected(
            f"{where} gave an answer that is not an OAuth token response while trying to "
            f"{action}; is this the URL of a GitLab instance?"
        )
    raise exc
