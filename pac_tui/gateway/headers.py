"""Which headers go upstream and come back: the one rewrite, and the hop-by-hop ones dropped.

GitLab accepts an OAuth access token only as ``Authorization: Bearer``, and personal, project and
group access tokens either as ``Private-Token`` or as Bearer; so every ``Private-Token`` can
become Bearer without knowing which kind of token it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from multidict import CIMultiDict, CIMultiDictProxy

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. Host is set from the
# upstream URL; Expect is answered by this server (aiohttp sends the 100 Continue itself).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "expect", "private-token"}
PRIVATE_TOKEN = "Private-Token"  # noqa: S105 - a header name
AUTHORIZATION = "Authorization"


def connection_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    """Header names listed in ``Connection`` (``Connection: X-Foo`` makes X-Foo hop-by-hop)."""
    names: set[str] = set()
    for value in headers.getall("Connection", ()):
        names.update(part.strip().lower() for part in value.split(",") if part.strip())
    return names


def _kept(headers: CIMultiDictProxy[str], dropped: frozenset[str]) -> Iterable[tuple[str, str]]:
    also = connection_tokens(headers) if "Connection" in headers else set()
    for name, value in headers.items():
        lower = name.lower()
        if lower not in dropped and lower not in also and not lower.startswith("proxy-"):
            yield name, value


def upstream_request_headers(
    incoming: CIMultiDictProxy[str], query_token: str | None = None
) -> CIMultiDict[str]:
    """The headers to send upstream: the client's, minus hop-by-hop ones and ``Host``, with the
    token moved to ``Authorization: Bearer``.

    The token comes from the query's ``private_token`` (`query_token`, already taken out of the
    query) or, failing that, from ``Private-Token`` (any case): GitLab's own order
    (``Gitlab::Auth::AuthFinders#find_personal_access_token``). A request that already has
    ``Authorization`` keeps it unchanged, and its ``Private-Token`` is dropped.
    """
    out = CIMultiDict(_kept(incoming, NOT_FORWARDED))
    if AUTHORIZATION in out:
        return out
    token = (query_token or "").strip() or incoming.get(PRIVATE_TOKEN, "").strip()
    if token:
        out[AUTHORIZATION] = f"Bearer {token}"
    return out


def client_response_headers(upstream: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The upstream's response headers for the client, minus hop-by-hop ones (aiohttp frames the
    body again: ``Content-Length`` when the upstream gave one, chunked otherwise)."""
    return CIMultiDict(_kept(upstream, HOP_BY_HOP))
