"""What reaches the upstream, and what comes back, byte for byte (a recording upstream)."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.gateway.support import BackgroundServer, Recorder, gateway, raw_exchange

# go-gitlab escapes a project path with url.PathEscape: "group/sub/project" → group%2Fsub%2Fproject
PROJECT_PATH = "/api/v4/projects/group%2Fsub%2Fproject/repository/files/.tekton%2Fpush.yaml/raw"
# Every oddity a query may carry: %2F and %2f, '+', a bare name, an empty field, UTF-8, '=' empty.
QUERY = "ref=main&path=a%2Fb%2fc&q=hello+world&flag&&name=%E2%9C%93&x="


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, BackgroundServer]]:
    recorder = Recorder()
    with BackgroundServer(recorder) as server:
        yield recorder, server


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    # No decompression, no invented headers, no redirects: the test sees what the gateway sent.
    async with aiohttp.ClientSession(
        auto_decompress=False, skip_auto_headers=("Accept-Encoding", "User-Agent")
    ) as session:
        yield session


async def test_path_and_query_reach_the_upstream_byte_for_byte(recorder, client) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        target = URL(f"{url}{PROJECT_PATH}?{QUERY}", encoded=True)
        async with client.get(target) as answer:
            assert answer.status == 200
    (seen,) = rec.seen
    assert seen.raw_path == PROJECT_PATH
    assert seen.raw_query == QUERY


async def test_a_path_prefix_of_the_upstream_is_kept(recorder, client) -> None:
    rec, server = recorder
    async with (
        gateway(f"{server.url}/gitlab/") as url,
        client.get(URL(f"{url}{PROJECT_PATH}?a=%2F", encoded=True)) as answer,
    ):
        assert answer.status == 200
    assert rec.seen[0].raw_target == f"/gitlab{PROJECT_PATH}?a=%2F"


async def test_private_token_header_becomes_bearer_in_any_case(recorder, client) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        for name in ("PRIVATE-TOKEN", "Private-Token", "private-token"):
            async with client.get(f"{url}/api/v4/user", headers={name: "glpat-abc"}) as answer:
                assert answer.status == 200
    for seen in rec.seen:
        assert seen.header("Authorization") == "Bearer glpat-abc"
        assert "private-token" not in seen.names()


async def test_private_token_query_parameter_becomes_bearer_and_leaves_the_query(
    recorder, client
) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        query = f"a=1&private_token=tok%2Ben&{QUERY}&private%5Ftoken=oauth-xyz"
        async with client.get(URL(f"{url}/api/v4/projects?{query}", encoded=True)) as answer:
            assert answer.status == 200
        # Only a token parameter: the query goes away entirely.
        async with client.get(URL(f"{url}/api/v4/user?private_token=t2", encoded=True)):
            pass
    first, second = rec.seen
    assert first.raw_query == f"a=1&{QUERY}"
    assert first.header("Authorization") == "Bearer oauth-xyz"  # the last one, as Rails reads it
    assert second.raw_target == "/api/v4/user"
    assert second.header("Authorization") == "Bearer t2"


async def test_an_existing_authorization_is_left_alone(recorder, client) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        headers = {"Authorization": "Bearer already", "Private-Token": "other"}
        async with client.get(f"{url}/api/v4/user", headers=headers):
            pass
        async with client.get(f"{url}/api/v4/user", headers={"Authorization": "Basic eDp5"}):
            pass
    assert rec.seen[0].header("Authorization") == "Bearer already"
    assert "private-token" not in rec.seen[0].names()
    assert rec.seen[1].header("Authorization") == "Basic eDp5"


async def test_no_token_means_no_authorization(recorder, client) -> None:
    rec, server = recorder
    async with (
        gateway(server.url) as url,
        client.get(f"{url}/api/v4/version", headers={"Private-Token": "  "}),
    ):
        pass
    assert "authorization" not in rec.seen[0].names()
    assert "private-token" not in rec.seen[0].names()


async def test_hop_by_hop_headers_are_dropped_and_the_rest_kept(recorder) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        port = URL(url).port
        assert port is not None
        await raw_exchange(
            port,
            b"GET /api/v4/user HTTP/1.1\r\n"
            b"Host: gateway.example\r\n"
            b"Connection: close, X-Per-Hop\r\n"
            b"X-Per-Hop: 1\r\n"
            b"Keep-Alive: timeout=5\r\n"
            b"TE: trailers\r\n"
            b"Trailer: X-Checksum\r\n"
            b"Upgrade: h2c\r\n"
            b"Proxy-Authorization: Basic cHJveHk6cHc=\r\n"
            b"Proxy-Connection: keep-alive\r\n"
            b"User-Agent: go-gitlab\r\n"
            b"Accept: application/json\r\n"
            b"X-Custom: kept\r\n"
            b"Cookie: a=b\r\n"
            b"\r\n",
        )
    (seen,) = rec.seen
    for dropped in (
        "connection",
        "x-per-hop",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    ):
        assert dropped not in seen.names(), dropped
    assert seen.header("Host") == f"127.0.0.1:{server.port}"
    assert seen.header("User-Agent") == "go-gitlab"
    assert seen.header("Accept") == "application/json"
    assert seen.header("X-Custom") == "kept"
    assert seen.header("Cookie") == "a=b"
    # Nothing invented on the way (aiohttp's client would add Accept-Encoding and the like).
    assert seen.names() == {"host", "user-agent", "accept", "x-custom", "cookie"}


async def test_bodies_go_up_unchanged_with_length_or_chunked(recorder, client) -> None:
    rec, server = recorder
    payload = os.urandom(300_000)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 7_000):
            yield payload[start : start + 7_000]

    async with gateway(server.url) as url:
        async with client.put(
            f"{url}/api/v4/projects/1",
            data=payload,
            headers={"Content-Type": "application/json", "Private-Token": "t"},
        ) as answer:
            assert answer.status == 200
        async with client.post(f"{url}/api/v4/projects/1/uploads", data=chunks()) as answer:
            assert answer.status == 200
        async with client.post(f"{url}/api/v4/projects/1/empty", data=b"") as answer:
            assert answer.status == 200
    sized, chunked, empty = rec.seen
    assert sized.method == "PUT" and sized.body == payload
    assert sized.header("Content-Length") == str(len(payload))
    assert sized.header("Content-Type") == "application/json"
    assert chunked.body == payload
    assert chunked.header("Transfer-Encoding") == "chunked"
    assert chunked.header("Content-Length") is None
    assert empty.body == b"" and empty.header("Content-Length") == "0"


async def test_a_gzip_upload_is_not_decompressed(recorder, client) -> None:
    rec, server = recorder
    packed = gzip.compress(b'{"a": 1}' * 1000)
    async with gateway(server.url) as url:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        async with client.post(f"{url}/api/v4/x", data=packed, headers=headers):
            pass
    assert rec.seen[0].body == packed
    assert rec.seen[0].header("Content-Encoding") == "gzip"


async def test_the_answer_comes_back_as_the_upstream_gave_it(recorder, client) -> None:
    rec, server = recorder
    body = b'[{"id": 1}]' * 500

    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=201, reason="Made It", body=body)
        response.headers["Content-Type"] = "application/json"
        response.headers["X-Total-Pages"] = "7"
        response.headers["Link"] = '<https://gitlab.example/api/v4/x?page=2>; rel="next"'
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; Path=/")
        response.headers["Connection"] = "keep-alive, X-Hop"
        response.headers["X-Hop"] = "dropped"
        response.headers["Keep-Alive"] = "timeout=5"
        response.headers["Proxy-Authenticate"] = "Basic"
        return response

    rec.respond = respond
    async with gateway(server.url) as url, client.get(f"{url}/api/v4/x") as answer:
        assert answer.status == 201
        assert answer.reason == "Made It"
        assert await answer.read() == body
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Content-Length"] == str(len(body))
        assert answer.headers["X-Total-Pages"] == "7"
        assert answer.headers["Link"] == '<https://gitlab.example/api/v4/x?page=2>; rel="next"'
        assert answer.headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
        for dropped in ("X-Hop", "Keep-Alive", "Proxy-Authenticate"):
            assert dropped not in answer.headers


async def test_a_redirect_is_passed_back_not_followed(recorder, client) -> None:
    rec, server = recorder

    async def respond(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v4/moved":
            raise web.HTTPFound("/api/v4/elsewhere")
        return web.json_response({"followed": True})

    rec.respond = respond
    async with (
        gateway(server.url) as url,
        client.get(f"{url}/api/v4/moved", allow_redirects=False) as answer,
    ):
        assert answer.status == 302
        assert answer.headers["Location"] == "/api/v4/elsewhere"
    assert [seen.raw_path for seen in rec.seen] == ["/api/v4/moved"]


async def test_gzip_answers_pass_through_compressed(recorder, client) -> None:
    rec, server = recorder
    plain = b"x" * 100_000
    packed = gzip.compress(plain)

    async def respond(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}
        return web.Response(body=packed, headers=headers)

    rec.respond = respond
    async with (
        gateway(server.url) as url,
        client.get(f"{url}/a.tar.gz", headers={"Accept-Encoding": "gzip"}) as answer,
    ):
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.headers["Content-Length"] == str(len(packed))
        assert await answer.read() == packed
    assert rec.seen[0].header("Accept-Encoding") == "gzip"


async def test_a_chunked_answer_streams_back_whole(recorder, client) -> None:
    rec, server = recorder
    parts = [os.urandom(10_000) for _ in range(30)]

    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for part in parts:
            await response.write(part)
        return response

    rec.respond = respond
    async with gateway(server.url) as url, client.get(f"{url}/stream") as answer:
        data = await answer.read()
    assert hashlib.sha256(data).digest() == hashlib.sha256(b"".join(parts)).digest()


async def test_head_keeps_the_content_length(recorder, client) -> None:
    rec, server = recorder

    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"z" * 1234)

    rec.respond = respond
    async with (
        gateway(server.url) as url,
        client.head(f"{url}/api/v4/projects/1/repository/archive") as answer,
    ):
        assert answer.status == 200
        assert answer.headers["Content-Length"] == "1234"
    assert rec.seen[0].method == "HEAD"


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_forwarded(recorder, client, method: str) -> None:
    rec, server = recorder
    async with (
        gateway(server.url) as url,
        client.request(method, f"{url}/api/v4/projects/1/hooks/2") as answer,
    ):
        assert answer.status == 200
    assert rec.seen[0].method == method


@pytest.mark.parametrize(
    "raw",
    [
        "/api/v4/a%0Ab",  # a decoded newline: aiohttp's ".*" route patterns do not match it
        "/api/v4/projects/a%2Fb/%2e%2e/c",
        "//double//slashes/",
        "/api/v4/%F0%9F%98%80?q=%F0%9F%98%80",
        "/healthz/not-quite",
    ],
)
async def test_odd_paths_are_forwarded_as_they_came(recorder, client, raw: str) -> None:
    rec, server = recorder
    async with gateway(server.url) as url:
        port = URL(url).port
        assert port is not None
        request = f"GET {raw} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        answer = await raw_exchange(port, request.encode())
    assert answer.status == 200
    assert [seen.raw_target for seen in rec.seen] == [raw]
