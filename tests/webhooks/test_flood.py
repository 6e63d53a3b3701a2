"""Durability under load: a 2xx means the delivery is in the journal, even across kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from pac_tui.webhooks.journal import Journal
from pac_tui.webhooks.service import WebhookService, journal_path
from tests.webhooks.conftest import CONFIG, SECRET, push_payload

HEADERS = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}


async def _flood(url: str, total: int, concurrency: int, acked: list[int]) -> int:
    body = json.dumps(push_payload()).encode()
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal sent
            while sent < total:
                sent += 1
                try:
                    async with http.post(url, data=body, headers=HEADERS) as answer:
                        if 200 <= answer.status < 300:
                            acked.append((await answer.json())["id"])
                except (TimeoutError, aiohttp.ClientError, OSError):
                    return  # the server went away (kill -9)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def test_a_flood_of_20000_deliveries_is_all_journaled(service: WebhookService) -> None:
    acked: list[int] = []
    await _flood(service.url, 20_000, 64, acked)  # type: ignore[attr-defined]
    assert len(acked) == 20_000
    assert len(set(acked)) == 20_000
    assert service.journal.count() == len(acked)


@pytest.mark.parametrize(
    ("workers", "victim"),
    [
        ("1", "serve"),  # one process: receiver and journal writer
        ("2", "serve"),  # the writer process only: its receivers must stop acknowledging
        ("2", "all"),  # the writer and every receiver process at once
    ],
)
def test_kill_9_during_a_flood_loses_no_acknowledged_delivery(
    tmp_path: Path, workers: str, victim: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)  # it holds the webhook secret: private, or pac-tui warns
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pac_tui", "--config", str(config), "webhook", "serve"),
            *("--port", "0", "--quiet", "--workers", workers),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the receivers too
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"(http://\S+/)", line)
    assert match, line
    acked: list[int] = []

    async def flood_then_kill() -> None:
        flood = asyncio.create_task(_flood(match.group(1), 1_000_000, 32, acked))
        while len(acked) < 3000:
            await asyncio.sleep(0.05)
        if victim == "all":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
        await flood  # ends once nothing answers any more: no process may keep acknowledging

    try:
        asyncio.run(asyncio.wait_for(flood_then_kill(), timeout=60))
        proc.wait(timeout=30)
        _wait_until_group_is_gone(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    journal = Journal(journal_path(tmp_path / "data"))
    missing = [i for i in acked if journal.get(i) is None]
    assert missing == [], f"{len(missing)} acknowledged deliveries lost"
    assert journal.count() >= len(acked)


def _wait_until_group_is_gone(pgid: int, timeout: float = 30.0) -> None:
    """The receivers of a killed writer exit by themselves."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-pgid, os.WNOHANG)
        time.sleep(0.05)
    raise AssertionError("a receiver process outlived the killed webhook serve")
