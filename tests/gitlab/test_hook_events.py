"""A hook's deliveries as GitLab records them: list, filter, resend, test, and the errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pac_tui.core.errors import ProviderUnavailable
from pac_tui.gitlab.api import GitLabApi, GitLabApiError
from pac_tui.gitlab.hook_events import (
    hook_states,
    list_hook_events,
    newest_first,
    resend_hook_event,
    send_test_event,
)
from pac_tui.gitlab.hooks import create_hook
from tests.providers.gitlab_api import FakeGitLab, login
from tests.providers.gitlab_hook_events import log_of, sample_payload

PROJECT = "group/app"
SECRET = "hook-secret-value-0123456789"


class Receiver:
    """A PAC controller stand-in on 127.0.0.1: answers as PAC's adapter does, records requests."""

    def __init__(self) -> None:
        self.status = 202
        self.message = "accepted"
        self.seen: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.json()))
        body = {"status": self.status, "message": self.message}
        return web.json_response(body, status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    pac = Receiver()
    app = web.Application()
    app.router.add_post("/", pac.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    pac.url = f"http://{host}:{port}/"
    yield pac
    await runner.cleanup()


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(PROJECT)
    gitlab.add_project("group/dev-only", access_level=30)
    return gitlab


async def _hook(api: GitLabApi, url: str) -> int:
    return (await create_hook(api, PROJECT, url, SECRET)).id


async def test_list_pages_newest_first_with_gitlab_fields(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    project = next(iter(fake.projects.values()))
    log = log_of(fake)
    async with session.api() as api:
        hook_id = await _hook(api, "https://pac.example.com/")
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        for n in range(130):  # two pages of 100
            log.record(
                project,
                hook_id,
                kind="Push Hook",
                payload=sample_payload("push_events"),
                status="internal error" if n % 3 == 1 else "202",
                body="" if n % 3 == 1 else '{"status":202,"message":"accepted"}',
                duration=1.5,
                created_at=start + timedelta(seconds=n),
            )
        log.record(  # older than GitLab keeps: never listed
            project, hook_id, kind="Push Hook", payload={}, status="200",
            created_at=datetime.now(UTC) - timedelta(days=8),
        )  # fmt: skip
        events = await list_hook_events(api, PROJECT, hook_id)
        pages = fake.count("GET", "/projects/{id}/hooks/{hook_id}/events")
        first_three = await list_hook_events(api, PROJECT, hook_id, limit=3)
        failed = await list_hook_events(api, PROJECT, hook_id, status="server_failure")
        by_code = await list_hook_events(api, PROJECT, hook_id, status=202, limit=5)
        with pytest.raises(ValueError, match="not a status filter"):
            await list_hook_events(api, PROJECT, hook_id, status="broken")
    assert len(events) == 130 and pages == 2
    assert [e.id for e in events] == sorted((e.id for e in events), reverse=True)
    newest = events[0]
    assert newest.trigger == "push_hooks" and newest.url == "https://pac.example.com/"
    assert newest.created_at == start + timedelta(seconds=129)
    assert newest.execution_duration == 1.5 and newest.response_status == "202"
    assert newest.succeeded and newest.status_code == 202
    assert newest.header("x-gitlab-event") == "Push Hook"
    assert newest.header("X-Gitlab-Token") == "[REDACTED]"  # GitLab masks it
    assert newest.request_data["checkout_sha"] == sample_payload("push_events")["checkout_sha"]
    assert [e.id for e in first_three] == [e.id for e in events[:3]]
    assert failed == []  # "internal error" is no HTTP status: no category holds it
    assert len(by_code) == 5 and all(e.response_status == "202" for e in by_code)
    lost = next(e for e in events if e.response_status == "internal error")
    assert lost.status_code is None and not lost.succeeded
    assert SECRET not in repr(events)
    assert newest_first([events[5], events[0], events[9]]) == [events[0], events[5], events[9]]


async def test_errors_in_words(fake: FakeGitLab, tmp_path: Path) -> None:
    session = await login(fake, tmp_path)
    async with session.api() as api:
        hook_id = await _hook(api, "https://pac.example.com/")
        with pytest.raises(GitLabApiError) as not_maintainer:
            await list_hook_events(api, "group/dev-only", 1)
        with pytest.raises(GitLabApiError) as no_hook:
            await list_hook_events(api, PROJECT, hook_id + 100)
        with pytest.raises(GitLabApiError) as no_project:
            await list_hook_events(api, "group/missing", hook_id)
        with pytest.raises(GitLabApiError) as no_event:
            await resend_hook_event(api, PROJECT, hook_id, 999)
        with pytest.raises(ValueError, match="not a test trigger"):
            await send_test_event(api, PROJECT, hook_id, "everything")
    async with GitLabApi.with_private_token(session.repo.gitlab, "glpat-unknown-0000") as api:
        with pytest.raises(GitLabApiError) as unknown_token:
            await list_hook_events(api, PROJECT, hook_id)
    assert not_maintainer.value.status == 403
    assert "needs the Maintainer role on the project" in str(not_maintainer.value)
    assert no_hook.value.status == 404
    assert f"knows no webhook {hook_id + 100}" in str(no_hook.value)
    assert "group/missing not found" in str(no_project.value)
    assert "no such delivery" in str(no_event.value)
    assert unknown_token.value.status == 401 and "401 Unauthorized" in str(unknown_token.value)


async def test_resend_delivers_again_and_test_reenables(
    fake: FakeGitLab, tmp_path: Path, receiver: Receiver
) -> None:
    session = await login(fake, tmp_path)
    project = next(iter(fake.projects.values()))
    async with session.api() as api:
        hook_id = await _hook(api, receiver.url)
        first = log_of(fake).record(
            project, hook_id, kind="Push Hook", payload=sample_payload("push_events"), status="500"
        )
        status = await resend_hook_event(api, PROJECT, hook_id, first["id"])
        project.hooks[hook_id].update(
            alert_status="temporarily_disabled", disabled_until="2026-12-03T14:00:00.000Z"
        )
        [disabled] = await hook_states(api, PROJECT)
        receiver.status, receiver.message = 500, "internal error"
        with pytest.raises(GitLabApiError) as refused:
            await send_test_event(api, PROJECT, hook_id, "push_events")
        receiver.status, receiver.message = 202, "accepted"
        await send_test_event(api, PROJECT, hook_id, "push_events")
        [enabled] = await hook_states(api, PROJECT)
        events = await list_hook_events(api, PROJECT, hook_id)
    assert status == "202"
    headers, payload = receiver.seen[0]
    assert headers["X-Gitlab-Event"] == "Push Hook" and headers["X-Gitlab-Token"] == SECRET
    assert payload == sample_payload("push_events")
    assert not disabled.enabled and disabled.alert_status == "temporarily_disabled"
    assert disabled.disabled_until == datetime(2026, 12, 3, 14, tzinfo=UTC)
    assert refused.value.status == 422
    assert enabled.enabled and enabled.disabled_until is None
    assert [e.response_status for e in events] == ["202", "500", "202", "500"]
    assert json.loads(events[0].response_body) == {"status": 202, "message": "accepted"}


async def test_resend_and_test_are_rate_limited_as_on_gitlab(
    fake: FakeGitLab, tmp_path: Path, receiver: Receiver
) -> None:
    session = await login(fake, tmp_path)
    project = next(iter(fake.projects.values()))
    async with session.api() as api:
        hook_id = await _hook(api, receiver.url)
        first = log_of(fake).record(project, hook_id, kind="Push Hook", payload={}, status="200")
        for _ in range(5):
            await resend_hook_event(api, PROJECT, hook_id, first["id"])
        with pytest.raises(ProviderUnavailable) as limited:
            await resend_hook_event(api, PROJECT, hook_id, first["id"])
        await send_test_event(api, PROJECT, hook_id, "push_events")  # its own budget
    assert "rate-limiting requests" in str(limited.value) and "in 60 s" in str(limited.value)
