"""What a revoke leaves behind in the cluster, in the words both faces use.

Revoking a bound repository's grant does not touch its Secret: in oauth mode the Secret still holds
the revoked OAuth token, so every PAC call to GitLab fails; in project-token mode the project token
stays valid but nobody rotates it any more. Either way the user must hear it, with the way out.
"""

from __future__ import annotations

from pac_tui.core.config import Repository, TokenMode


def revoke_warning(repo: Repository) -> str | None:
    """The warning for a revoked grant of `repo`, or None when it is not bound to a Repository."""
    binding = repo.kubernetes
    if binding is None:
        return None
    where = f"PAC Repository {binding.namespace}/{binding.repository}"
    way_out = (
        f"log in again (pac-tui login {repo.name} writes a new token there); to take pac-tui "
        f"out of it instead, log in and run pac-tui offboard {repo.name}"
    )
    if binding.mode == TokenMode.OAUTH:
        return (
            f"the Secret of {where} still holds the token just revoked, so PAC's calls to GitLab "
            f"fail from now on; {way_out}"
        )
    return (
        f"the project token in the Secret of {where} stays valid until it expires, but nothing "
        f"rotates it without a grant; {way_out}"
    )
