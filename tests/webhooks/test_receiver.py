"""Every verdict of the receiver over real sockets, with the real journal behind it."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pac_tui.webhooks.models import REDACTED, Verdict
from pac_tui.webhooks.service import WebhookService
from tests.webhooks.conftest import FIXTURES, SECRET, push_payload

PUSH = {"X-Gitlab-Event": "Push Hook", "Content-Type": "application/json"}


async def post(service: WebhookService, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(service.url + "hooks/any/path", content=body, headers=headers)  # type: ignore[attr-defined]


async def test_each_verdict(service: WebhookService) -> None:
    good = json.dumps(push_payload()).encode()
    cases = [
        ({**PUSH, "X-Gitlab-Token": SECRET}, good, 200, Verdict.ACCEPTED),
        ({**PUSH, "X-Gitlab-Token": "wrong"}, good, 401, Verdict.REJECTED),
        (PUSH, good, 401, Verdict.REJECTED),
        (PUSH, json.dumps(push_payload("jsmith/example")).encode(), 200, Verdict.UNVERIFIED),
        (PUSH, json.dumps(push_payload("someone/else")).encode(), 200, Verdict.UNKNOWN_REPO),
        (PUSH, b"{not json", 400, Verdict.MALFORMED),
        (PUSH, b"[1, 2]", 400, Verdict.MALFORMED),
    ]
    for headers, body, status, verdict in cases:
        answer = await post(service, body, headers)
        assert answer.status_code == status, (verdict, answer.text)
        assert answer.json()["verdict"] == verdict.value
        stored = service.journal.get(answer.json()["id"])
        assert stored is not None and stored.verdict is verdict
        assert SECRET not in json.dumps(stored.headers)
        if "X-Gitlab-Token" in headers:
            assert stored.headers.get("X-Gitlab-Token") == REDACTED
    checked = service.journal.recent(10, repo="checked", kind="Push Hook")
    by_verdict = {d.verdict: d for d in checked}
    assert by_verdict[Verdict.ACCEPTED].pac_event == "push"
    assert by_verdict[Verdict.REJECTED].pac_event is None, "PAC would refuse it too"


async def test_matches_by_web_url_when_path_is_missing(service: WebhookService) -> None:
    payload = push_payload()
    del payload["project"]["path_with_namespace"]
    payload["project"]["web_url"] = "http://example.com/mike/diaspora"
    answer = await post(service, json.dumps(payload).encode(), {**PUSH, "X-Gitlab-Token": SECRET})
    assert answer.json()["verdict"] == "accepted"


async def test_too_large_is_413_and_get_is_harmless(service: WebhookService) -> None:
    big = b"{" + b" " * (25 * 1024 * 1024 + 10) + b"}"
    answer = await post(service, big, PUSH)
    assert answer.status_code == 413
    async with httpx.AsyncClient() as http:
        assert (await http.get(service.url)).status_code == 200  # type: ignore[attr-defined]


async def test_same_idempotency_key_is_stored_once(service: WebhookService) -> None:
    body = json.dumps(push_payload()).encode()
    headers = {**PUSH, "X-Gitlab-Token": SECRET, "Idempotency-Key": "retry-me"}
    answers = await asyncio.gather(*(post(service, body, headers) for _ in range(5)))
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1 and all(a.status_code == 200 for a in answers)
    stored = service.journal.get(ids.pop())
    assert stored is not None and stored.redeliveries == 4


async def test_every_fixture_payload_is_accepted_and_summarized(service: WebhookService) -> None:
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) > 60
    for path in files:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict):
            continue  # headers_example is a list of headers, not a payload
        kind = "System Hook" if "systemhooks" in str(path) or "system-" in path.name else ""
        answer = await post(service, path.read_bytes(), {"X-Gitlab-Event": kind} if kind else {})
        assert answer.status_code in (200, 401), (path, answer.text)
        stored = service.journal.get(answer.json()["id"])
        assert stored is not None and stored.summary and "\n" not in stored.summary, path


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["X-Gitlab-Event", "X-Gitlab-Token", "Idempotency-Key", "X-Gitlab-Instance", "X-Other"]
        ),
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    ),
    body=st.one_of(
        st.binary(max_size=2000),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.just(json.dumps(push_payload()).encode()),
    ),
)
def test_fuzzed_headers_and_bodies_never_get_a_5xx(
    fuzz_service: tuple[WebhookService, asyncio.AbstractEventLoop],
    headers: dict[str, str],
    body: bytes,
) -> None:
    service, loop = fuzz_service
    answer = loop.run_until_complete(post(service, body, headers))
    assert answer.status_code < 500, answer.text
    assert answer.status_code in (200, 400, 401)
