"""Durability under load: a 2xx means the delivery is in the journal, even across kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

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


def test_kill_9_during_a_flood_loses_no_acknowledged_delivery(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "PAC_TUI_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pac_tui",
            "--config",
            str(config),
            "webhook",
            "serve",
            "--port",
            "0",
            "--quiet",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
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
        os.kill(proc.pid, signal.SIGKILL)
        await flood

    asyncio.run(flood_then_kill())
    proc.wait(timeout=10)
    journal = Journal(journal_path(tmp_path / "data"))
    missing = [i for i in acked if journal.get(i) is None]
    assert missing == [], f"{len(missing)} acknowledged deliveries lost"
    assert journal.count() >= len(acked)
