"""The request target and header rules, one function at a time."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from pac_tui.gateway.headers import client_response_headers, upstream_request_headers
from pac_tui.gateway.target import BadTarget, Target, loggable, split_target, take_private_token


@pytest.mark.parametrize(
    ("raw", "path", "query"),
    [
        ("/api/v4/projects/a%2Fb", "/api/v4/projects/a%2Fb", ""),
        ("/x?a=%2F&b", "/x", "a=%2F&b"),
        ("/x?", "/x", ""),
        ("/x?a=1#frag", "/x", "a=1"),
        ("http://evil:1/x?y=2", "/x", "y=2"),
        ("HTTPS://evil", "/", ""),
        ("http://evil?q=1", "/", "q=1"),
        ("//double", "//double", ""),
    ],
)
def test_split_target(raw: str, path: str, query: str) -> None:
    assert split_target(raw) == Target(path, query)


@pytest.mark.parametrize("raw", ["*", "evil:443", "", "x/y"])
def test_targets_that_are_not_forwarded(raw: str) -> None:
    with pytest.raises(BadTarget):
        split_target(raw)


@pytest.mark.parametrize(
    ("query", "token", "rest"),
    [
        ("", None, ""),
        ("a=1&b=2", None, "a=1&b=2"),
        ("private_token=abc", "abc", ""),
        ("a=1&private_token=abc&b=%2F", "abc", "a=1&b=%2F"),
        ("private_token=a&private_token=b", "b", ""),
        ("private%5Ftoken=x%2By+z", "x+y z", ""),
        ("private_token", "", ""),
        ("private_tokens=1&my_private_token=2", None, "private_tokens=1&my_private_token=2"),
        ("a&&private_token=t&", "t", "a&&"),
    ],
)
def test_take_private_token(query: str, token: str | None, rest: str) -> None:
    assert take_private_token(query) == (token, rest)


def test_loggable_keeps_names_only() -> None:
    target = Target("/api/v4/projects", "private_token=SECRET&search=x%20y&flag&&per%5Fpage=2")
    assert loggable(target) == "/api/v4/projects?private_token&search&flag&per_page"
    assert loggable(Target("/a", "%0Aname=1")) == "/a?\\x0aname"


def headers(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def test_the_query_token_wins_over_the_header_as_in_gitlab() -> None:
    out = upstream_request_headers(headers(("Private-Token", "from-header")), "from-query")
    assert out["Authorization"] == "Bearer from-query"
    assert "Private-Token" not in out


def test_names_listed_in_connection_are_dropped_both_ways() -> None:
    incoming = headers(("Connection", "x-a, X-B"), ("X-A", "1"), ("x-b", "2"), ("X-C", "3"))
    assert list(upstream_request_headers(incoming).items()) == [("X-C", "3")]
    assert list(client_response_headers(incoming).items()) == [("X-C", "3")]
