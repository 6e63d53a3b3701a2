"""A real receiver on a real socket, with the real journal, for the webhook tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
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


@contextlib.contextmanager
def fuzz_receiver(tmp_root: Path) -> Iterator[tuple[WebhookService, asyncio.AbstractEventLoop]]:
    """One receiver for many hypothesis examples, on a loop of its own that the caller drives
    (the fuzz test and bench/fuzz_bench.py).

    Its journal is on a tmpfs when there is one: the same SQLite and fsyncs, but each commit
    costs microseconds instead of a disk flush.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        tmp = Path(tempfile.mkdtemp(prefix="pac-tui-fuzz-", dir=shm))
    else:
        tmp = Path(tempfile.mkdtemp(prefix="pac-tui-fuzz-", dir=tmp_root))
    loop = asyncio.new_event_loop()
    config = parse_config(CONFIG, tmp / "config.toml")
    svc = WebhookService(config, tmp / "data", SystemClock())
    # Thousands of refused deliveries from one address: the 429 of a flood is not what is fuzzed.
    svc.receiver.refusals = RefusalLimiter(burst=10**9)
    loop.run_until_complete(svc.start("127.0.0.1", 0))
    # aiohttp logs every request line it cannot parse with a traceback, which pytest's log
    # capture formats and keeps: most of a fuzzed example's time, none of what is checked.
    parser_log = logging.getLogger("aiohttp.server")
    level = parser_log.level
    parser_log.setLevel(logging.CRITICAL)
    try:
        yield svc, loop
    finally:
        parser_log.setLevel(level)
        loop.run_until_complete(svc.stop())
        loop.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def fuzz_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[WebhookService, asyncio.AbstractEventLoop]]:
    """`fuzz_receiver` for the module (a sync test drives its loop)."""
    with fuzz_receiver(tmp_path_factory.mktemp("fuzz")) as service:
        yield service
