"""What a replayed delivery carries: one rule for every face that replays (`events replay`).

The journal keeps no credential, so a replay to PAC needs the webhook secret put back. It is put
back only on a delivery that was accepted against that very secret: lent to a rejected one (a
wrong token, a forgery), it would make the forgery genuine for PAC. A rejected or malformed
delivery goes out only when asked for explicitly (`--force`), and as it came.
"""

from __future__ import annotations

from pac_tui.webhooks.models import REDACTED, TOKEN_HEADER, Delivery, Verdict

UNVOUCHED = frozenset({Verdict.REJECTED, Verdict.MALFORMED})


def needs_force(delivery: Delivery) -> bool:
    """Whether replaying `delivery` must be asked for explicitly (pac-tui refused it)."""
    return delivery.verdict in UNVOUCHED


def replay_headers(delivery: Delivery, webhook_secret: str | None) -> dict[str, str]:
    """The headers to replay `delivery` with; `webhook_secret` is its repository's, if any.

    Redacted values are left out, never sent as "[redacted]"; the secret is added for an
    accepted delivery only.
    """
    headers = {k: v for k, v in delivery.headers.items() if v != REDACTED}
    if delivery.verdict is Verdict.ACCEPTED and webhook_secret:
        headers[TOKEN_HEADER] = webhook_secret
    return headers
