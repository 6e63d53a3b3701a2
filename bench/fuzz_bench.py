"""The receiver's fuzz property, many times: count, failures, wall time, examples/s.

Run: .venv/bin/python -m bench.fuzz_bench [--examples 100000] [--out FILE]
(results go to bench/RESULTS.md by hand). It runs the property of
tests/webhooks/test_receiver.py (`never_a_5xx`) with that test's strategies, against the same
receiver (`fuzz_receiver`: the real aiohttp receiver and journal, on a tmpfs when there is one),
but keeps going after a failure so that failures are counted, not just the first one shown.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.webhooks.conftest import fuzz_receiver
from tests.webhooks.test_receiver import BODIES, HEADERS, FuzzClient, never_a_5xx

SHOWN_FAILURES = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--out", type=Path, help="also write the result lines here")
    args = parser.parse_args()

    count = 0
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, fuzz_receiver(Path(tmp)) as (service, loop):
        client = FuzzClient(service.url)  # type: ignore[arg-type]

        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(headers=HEADERS, body=BODIES)
        def run(headers: list[tuple[bytes, bytes]], body: bytes) -> None:
            nonlocal count
            count += 1
            try:
                never_a_5xx(client, loop, headers, body)
            except AssertionError as exc:
                failures.append(f"status {exc}: headers={headers!r:.300} body={body!r:.200}")
            if count % 10_000 == 0:
                print(f"  {count} examples, {time.perf_counter() - started:.0f} s", flush=True)

        started = time.perf_counter()
        run()
        wall = time.perf_counter() - started
        client.close()
        connections = client.connections

    lines = [
        f"examples: {count}",
        f"failures: {len(failures)}",
        f"wall time: {wall:.1f} s",
        f"examples/s: {count / wall:.0f}",
        f"connections opened: {connections}",
        *(f"failure: {failure}" for failure in failures[:SHOWN_FAILURES]),
    ]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
