"""A paced webhook load generator: POSTs the push payload at a fixed rate and records, per delivery
id, when its 2xx arrived (time.monotonic(), which is CLOCK_MONOTONIC: comparable across processes).

Run: .venv/bin/python -m bench.webhook_loadgen URL --rate 5000 --duration 10 --out result.json
[--token T] [--connections 32]. `bench.ui_lag_bench` runs it as a separate process.

It is a plain asyncio HTTP/1.1 keep-alive client with prebuilt request bytes, because on 2 cores the
generator's own CPU cost must stay small (an aiohttp client costs several times more per request).
Pacing is open-loop: request k is due at start + k/rate and is sent then by whichever connection is
free; when every connection is busy the generator falls behind, and the achieved rate and how late
requests went out are reported instead of being hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.webhook_common import pct, push_body

_ID = re.compile(rb'"id":\s*(\d+)')
_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


def request_bytes(host: str, port: int, token: str | None, body: bytes) -> bytes:
    lines = [
        "POST / HTTP/1.1",
        f"Host: {host}:{port}",
        "User-Agent: GitLab/17.6.0",
        "Content-Type: application/json",
        "X-Gitlab-Event: Push Hook",
        f"Content-Length: {len(body)}",
    ]
    if token:
        lines.append(f"X-Gitlab-Token: {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def generate(
    url: str, rate: float, duration: float, connections: int, token: str | None
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = request_bytes(host, port, token, push_body())
    total = int(rate * duration)
    acked: list[tuple[int, float]] = []  # (delivery id, monotonic time of its 2xx)
    latencies: list[float] = []
    late: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    next_index = 0
    start = time.monotonic() + 0.2  # every connection is open by then

    async def worker() -> None:
        nonlocal next_index, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                index = next_index
                if index >= total or time.monotonic() >= start + duration:
                    return
                next_index += 1
                due = start + index / rate
                now = time.monotonic()
                if due > now:
                    await asyncio.sleep(due - now)
                sent = time.monotonic()
                late.append(sent - due)
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = int(_LENGTH.search(head).group(1))  # type: ignore[union-attr]
                body = await reader.readexactly(length)
                done = time.monotonic()
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(done - sent)
                if 200 <= status < 300:
                    found = _ID.search(body)
                    if found:
                        acked.append((int(found.group(1)), done))
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - start
    ok = sum(n for code, n in statuses.items() if 200 <= code < 300)
    return {
        "offered_rate": rate,
        "duration": elapsed,
        "requests": len(latencies),
        "ok": ok,
        "non_2xx": len(latencies) - ok,
        "statuses": statuses,
        "errors": errors,
        "achieved_rate": len(latencies) / elapsed,
        "latency_p50_ms": pct(latencies, 50) * 1e3,
        "latency_p99_ms": pct(latencies, 99) * 1e3,
        "late_p50_ms": pct(late, 50) * 1e3,
        "late_p99_ms": pct(late, 99) * 1e3,
        "start": start,
        "acked": acked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=5000.0, help="requests/s (default 5000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--token", help="X-Gitlab-Token")
    parser.add_argument("--out", type=Path, required=True, help="JSON results go here")
    args = parser.parse_args()
    result = asyncio.run(generate(args.url, args.rate, args.duration, args.connections, args.token))
    args.out.write_text(json.dumps(result))
    print(
        f"offered {args.rate:,.0f}/s, achieved {result['achieved_rate']:,.0f}/s, "
        f"{result['ok']:,} 2xx, {result['non_2xx']} non-2xx, {result['errors']} socket errors"
    )


if __name__ == "__main__":
    main()
