"""Webhook signing tokens: the Standard Webhooks symmetric secret, `whsec_` + base64 of the key.

GitLab signs a hook's deliveries when the hook has a `signing_token` in this form (a 32-byte key);
the specification allows 24 to 64 bytes. The config's `webhook_signing_token` holds one, and the
receiver verifies deliveries with its key (`pac_tui.webhooks.signature`). Nothing here ever puts the
token or its key into a message.
"""

from __future__ import annotations

import base64
import binascii
import secrets

SIGNING_KEY = "webhook_signing_token"  # the repository's key in the config file
SIGNING_PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64  # the Standard Webhooks bounds (192 to 512 bits)
NEW_KEY_BYTES = 32  # what GitLab generates and accepts


def signing_key(token: str) -> bytes:
    """The HMAC key of a `whsec_…` signing token.

    Raises `ValueError` saying what is wrong, never with the value: it is a secret.
    """
    if not token.startswith(SIGNING_PREFIX):
        raise ValueError(
            'must be "whsec_" followed by the base64 of the key, as GitLab\'s "Generate signing '
            'token" or pac-tui onboard makes it'
        )
    encoded = token[len(SIGNING_PREFIX) :]
    try:
        # Padding may be left off (the reference libraries accept that); nothing else may differ.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            'after "whsec_" must come standard base64 (A-Z, a-z, 0-9, +, /, = padding)'
        ) from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(
            f"the key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes once decoded (this one has "
            f"{len(key)}); GitLab's are {NEW_KEY_BYTES}"
        )
    return key


def new_signing_token() -> str:
    """A fresh signing token as GitLab accepts it: `whsec_` + base64 of 32 random bytes."""
    return SIGNING_PREFIX + base64.b64encode(secrets.token_bytes(NEW_KEY_BYTES)).decode("ascii")
