"""The fingerprint pac-tui leaves on a Secret for the token it wrote (`token-fingerprint`).

PAC can rotate the token in the Secret itself (`spec.settings.gitlab.token_auto_rotation`,
tektoncd/pipelines-as-code#2820): it replaces the value of the provider key and leaves every
annotation as it was. Comparing the fingerprint with the value now in the Secret tells "the
token pac-tui wrote" from "a token someone else wrote", without pac-tui keeping the token anywhere
else and without the annotation revealing it.

It is HMAC-SHA256 of the token under a key derived from the Secret's place: namespace, name and
the data key PAC reads. Why that key:

- the laptop and the in-cluster refresher must both compute it from what they can read, with no
  second secret to distribute between them; the place is known before the Secret is created (a
  key from `metadata.uid` would need a second write after each create) and survives a backup and
  restore, which gives the Secret a new uid but not a new token;
- the token's own entropy (GitLab's `glpat-` tokens carry about 120 random bits) is what makes
  guessing it from a fingerprint hopeless; nothing both writers can read is hidden from someone
  who can read the Secret's metadata, so a "secret" key would be theatre;
- the key binds the fingerprint to this Secret and this purpose: it cannot be matched against
  another digest of the same token (PAC's own SHA-256 introspection cache key, GitLab's stored
  digest, a copy of the token in another Secret), and a token copied into another Secret does not
  carry a fingerprint that vouches for it there.

The value is versioned (`v1:`) so the derivation can change without every Secret reading as
foreign; an unknown version reads as "no fingerprint".
"""

from __future__ import annotations

import hashlib
import hmac

FINGERPRINT = "pac-tui.dev/token-fingerprint"
VERSION = "v1"
_LABEL = b"pac-tui.dev/token-fingerprint v1"


def fingerprint(token: str, namespace: str, name: str, token_key: str) -> str:
    """The fingerprint of `token` stored under `token_key` in Secret `namespace/name`."""
    place = f"{namespace}/{name}/{token_key}".encode()
    key = hmac.new(_LABEL, place, hashlib.sha256).digest()
    return f"{VERSION}:{hmac.new(key, token.encode(), hashlib.sha256).hexdigest()}"


def written_by_pac_tui(
    noted: str | None, token: str, namespace: str, name: str, token_key: str
) -> bool | None:
    """True when `token` is the one the fingerprint `noted` was made for, False when it is not
    (someone else wrote the Secret's token), None when there is no fingerprint to compare
    (a Secret written before fingerprints, or by a later version)."""
    if not noted or not noted.startswith(f"{VERSION}:"):
        return None
    return hmac.compare_digest(noted, fingerprint(token, namespace, name, token_key))
