"""No token value ever reaches the gateway's log or its own answers; the log has no query values."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
from yarl import URL

from tests.gateway.support import GatewayProcess, free_port, raw_exchange
from tests.providers.gitlab_api import FakeGitLab, login


async def test_tokens_and_query_values_never_appear_in_logs_or_answers(
    gitlab: FakeGitLab, tmp_path: Path
) -> None:
    gitlab.reset()
    project = gitlab.add_project("group/sub/project")
    oauth = (await login(gitlab, tmp_path)).tokens().access_token
    project_token = gitlab.add_project_token(project).value
    secrets = [oauth, project_token, "query-secret-value"]
    outputs: list[str] = []

    args = ["--host", "127.0.0.1", "--port", "0", "--log-level", "debug"]
    with GatewayProcess("--upstream", gitlab.url, *args) as gw:
        async with aiohttp.ClientSession() as http:
            calls = [
                ("/api/v4/user", {"PRIVATE-TOKEN": oauth}),
                (
                    "/api/v4/projects/group%2Fsub%2Fproject?statistics=true",
                    {"Private-Token": oauth},
                ),
                (f"/api/v4/projects/{project.id}", {"PRIVATE-TOKEN": project_token}),
                (
                    f"/api/v4/projects/{project.id}?private_token={oauth}&search=query-secret-value",
                    {},
                ),
                ("/api/v4/user", {"Authorization": f"Bearer {oauth}"}),
                ("/api/v4/user", {"PRIVATE-TOKEN": "not-a-token-" + oauth[:4]}),
            ]
            for path, headers in calls:
                async with http.get(URL(gw.url + path, encoded=True), headers=headers) as a:
                    outputs.append(f"{a.status} {dict(a.headers)} {await a.text()}")
                    assert a.status in (200, 401)
        # A malformed request carrying a token: aiohttp's parser refuses it with a 400 before
        # any gateway code runs. That 400 quotes the bad line back to its own sender (aiohttp's
        # behaviour, not checked here); its log line must not quote it.
        bad = (
            b"GET /api/v4/user HTTP/1.1\r\nHost: x\r\nPRIVATE-TOKEN: "
            + oauth.encode()
            + b"\x01\r\nConnection: close\r\n\r\n"
        )
        assert (await raw_exchange(gw.port, bad)).status == 400
        gw.process.terminate()
        status, stdout, stderr = await asyncio.to_thread(gw.finish, 30)
    assert status == 0
    logged = stdout + stderr
    assert "ERROR aiohttp.server: Error handling request from 127.0.0.1 (BadHttpMessage)" in logged
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in output for output in outputs)
    access = [line for line in logged.splitlines() if " /api/v4/" in line]
    assert len(access) == len(calls)
    assert any("/api/v4/projects/group%2Fsub%2Fproject?statistics 200" in line for line in access)
    assert any(f"/api/v4/projects/{project.id}?private_token&search 200" in line for line in access)
    for line in access:
        assert not re.search(r"\?\S*=", line), line  # parameter names only, never a value


async def test_an_unreachable_upstream_s_502_names_no_token() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with GatewayProcess("--upstream", dead, "--host", "127.0.0.1", "--port", "0") as gw:
        async with aiohttp.ClientSession() as http:
            url = f"{gw.url}/api/v4/user?private_token=secret-in-query"
            async with http.get(url, headers={"Private-Token": "secret-in-header"}) as answer:
                text = await answer.text()
        gw.process.terminate()
        _, stdout, stderr = await asyncio.to_thread(gw.finish, 30)
    assert answer.status == 502
    for secret in ("secret-in-query", "secret-in-header"):
        assert secret not in text
        assert secret not in stdout + stderr
    assert "/api/v4/user?private_token 502" in stderr
