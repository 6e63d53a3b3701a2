"""A real receiver on a real socket, with the real journal, for the webhook tests."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pac_tui.core.clock import SystemClock
from pac_tui.core.config import parse_config
from pac_tui.webhooks.limits import RefusalLimiter
from pac_tui.webhooks.service import WebhookService

# Real GitLab payloads, copied from ../shared/fixtures (see its SOURCES.txt).
FIXTURES = Path(__file__).parents[1] / "fixtures" / "gitlab-webhooks"

SECRET = "hook-secret-for-tests"
CONFIG = f"""
[gitlab.default]
url = "https://gitlab.example.com"
client_id = "app"

[[repositories]]
name = "checked"
project = "mike/diaspora"
webhook_secret = "{SECRET}"

[[repositories]]
name = "open"
project = "jsmith/example"
"""


def fixture(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def push_payload(project: str = "mike/diaspora") -> dict[str, Any]:
    payload = json.loads(fixture("go-gitlab/webhooks/push.json"))
    payload["project"]["path_with_namespace"] = project
    return payload


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[WebhookService]:
    config = parse_config(CONFIG, tmp_path / "config.toml")
    svc = WebhookService(config, tmp_path / "data", SystemClock())
    await svc.start("127.0.0.1", 0)
    yield svc
    await svc.stop()


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One receiver for many hypothesis examples (a sync test drives its own loop).

    Its journal is on a tmpfs when there is one: the same SQLite and fsyncs, but each commit
    costs microseconds instead of a disk flush, so 10,000 examples fit in the suite.
    """
    import asyncio
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        tmp = Path(tempfile.mkdtemp(prefix="pac-tui-fuzz-", dir=shm))
    else:
        tmp = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    config = parse_config(CONFIG, tmp / "config.toml")
    svc = WebhookService(config, tmp / "data", SystemClock())
    # Thousands of refused deliveries from one address: the 429 of a flood is not what is fuzzed.
    svc.receiver.refusals = RefusalLimiter(burst=10**9)
    loop.run_until_complete(svc.start("127.0.0.1", 0))
    yield svc, loop
    loop.run_until_complete(svc.stop())
    loop.close()
    if tmp.parent == shm:
        shutil.rmtree(tmp, ignore_errors=True)
