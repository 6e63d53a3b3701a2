"""Signed webhooks: what checking GitLab's signature adds to judging one delivery.

Run: .venv/bin/python -m bench.signature_bench  (prints its results; nothing is written elsewhere).
`verify` alone on bodies of the real push payload's size up to the receiver's 25 MB limit, and the
receiver's `judge` (parse, summarise, match, token, signature) on the real push payload for a
repository without and with a signing token. Medians of 7 rounds; no journal and no socket: the
receiver's throughput is measured by bench.webhook_bench.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pac_tui.core.clock import ManualClock
from pac_tui.core.config import parse_config
from pac_tui.core.config.signing import new_signing_token, signing_key
from pac_tui.webhooks.models import Verdict
from pac_tui.webhooks.receiver import Receiver
from pac_tui.webhooks.signature import sign, verify

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "gitlab-webhooks"
PUSH = (FIXTURES / "go-gitlab" / "webhooks" / "push.json").read_bytes()
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
TOKEN = new_signing_token()
KEY = signing_key(TOKEN)
ROUNDS = 7


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Median seconds per call over `ROUNDS` rounds of `calls` calls."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - started) / calls)
    return statistics.median(rounds)


def headers_for(body: bytes) -> dict[str, str]:
    return {
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": "s3cret",
        "webhook-id": "3f0e6a4c-idem",
        "webhook-timestamp": str(STAMP),
        "webhook-signature": sign(KEY, "3f0e6a4c-idem", STAMP, body),
    }


def receiver(signed: bool) -> Receiver:
    extra = f'webhook_signing_token = "{TOKEN}"\n' if signed else ""
    config = parse_config(
        '[gitlab.default]\nurl = "https://gitlab.example.com"\nclient_id = "app"\n\n'
        '[[repositories]]\nname = "d"\nproject = "mike/diaspora"\nwebhook_secret = "s3cret"\n'
        + extra,
        None,
    )
    return Receiver(config, None, ManualClock(NOW))  # type: ignore[arg-type]


def main() -> None:
    print(f"verify (HMAC-SHA256 over id.timestamp.body), medians of {ROUNDS} rounds:")
    for label, body, calls in (
        (f"push payload, {len(PUSH):,} B", PUSH, 20_000),
        ("1 MiB body", b"x" * 2**20, 200),
        ("25 MB body (the receiver's limit)", b"x" * (25 * 1024 * 1024), 10),
    ):
        headers = headers_for(body)
        assert verify(KEY, headers, body, NOW) is None
        seconds = per_call(lambda b=body, h=headers: verify(KEY, h, b, NOW), calls)
        print(f"  {label}: {seconds * 1e6:,.1f} µs")
    headers = headers_for(PUSH)
    print("judge, the real push payload (parse, summary, match, token[, signature]):")
    for signed in (False, True):
        judge = receiver(signed).judge
        assert judge(headers, PUSH).verdict is Verdict.ACCEPTED
        seconds = per_call(lambda j=judge: j(headers, PUSH), 5_000)
        print(f"  {'with' if signed else 'without'} a signing token: {seconds * 1e6:,.1f} µs")


if __name__ == "__main__":
    main()
