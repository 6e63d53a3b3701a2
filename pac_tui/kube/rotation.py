"""One rotator per Secret: who rotates its token, and how pac-tui takes a token someone else wrote.

PAC can rotate a GitLab token in the Secret itself (tektoncd/pipelines-as-code#2820,
`pkg/provider/gitlab/token_rotation.go`), off by default. It is on for a Repository when its
`spec.settings.gitlab.token_auto_rotation` is true, or, when the Repository leaves it unset, when
the global Repository (`pipelines-as-code`, in PAC's namespace) sets it (PAC's `Settings.Merge`).
On a webhook event PAC asks `GET /personal_access_tokens/self`; with less than 7 days left it
proves with a dry-run update that it can write the Secret, rotates with
`POST /personal_access_tokens/self/rotate` (or the project token's `/projects/:id/access_tokens/
self/rotate`), new expiry in 30 days, and writes only the new value into the provider key (Get,
set the key, Update): no annotation of its own. It emits a `GitLabTokenRotated` Event.

Two rotators on one token break it: GitLab revokes a token the moment it is rotated, and a second
rotation of a revoked token revokes its whole family. So where PAC rotates, pac-tui does not:
- a token pac-tui did not write (`StoredSecret.foreign`, by its fingerprint) is adopted in
  project-token mode: GitLab says its id and expiry (`GET /personal_access_tokens/self` with that
  token), and only the annotations are rewritten (`restamp`), never the value;
- the laptop and the refresher leave a due rotation to PAC (`who_rotates`).
In oauth mode PAC cannot rotate (an OAuth token is not a personal access token), so a foreign
token there was put by a person or a tool; pac-tui reports it and does not write over it until a
new `pac-tui login` (an explicit act) replaces it.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from datetime import UTC, datetime, time

from pac_tui.core.clock import Clock
from pac_tui.core.config import GitLabApp
from pac_tui.core.errors import PacTuiError
from pac_tui.core.models import iso_utc, issued_after
from pac_tui.gitlab import project_tokens
from pac_tui.gitlab.api import GitLabApi
from pac_tui.kube.cluster import Cluster
from pac_tui.kube.fingerprint import FINGERPRINT, fingerprint
from pac_tui.kube.repositories import PacRepository, parse_repository, read_repository_object
from pac_tui.kube.secrets import PREFIX, ROTATOR, SecretTokens, StoredSecret, stored_secret

GLOBAL_REPOSITORY = "pipelines-as-code"  # PAC's default PAC_CONTROLLER_GLOBAL_REPOSITORY
PAC_NAMESPACES = ("pipelines-as-code", "openshift-pipelines")  # upstream's and OpenShift's


class Rotator(enum.StrEnum):
    PAC = "pac"  # PAC's own rotation (token_auto_rotation), or a rotation by someone else seen
    PAC_TUI = "pac-tui"  # the laptop or the in-cluster refresher


def pac_setting(cluster: Cluster, pac: PacRepository) -> bool | None:
    """PAC's `token_auto_rotation` for `pac` (blocking): the Repository's own value, else the
    global Repository's (unset there: PAC's default, off); None when neither can be told (no
    global Repository where PAC usually lives, or it cannot be read)."""
    if pac.token_auto_rotation is not None:
        return pac.token_auto_rotation
    for namespace in PAC_NAMESPACES:
        try:
            found = read_repository_object(cluster, namespace, GLOBAL_REPOSITORY)
        except PacTuiError:
            continue  # not allowed to read it, or PAC not installed: cannot tell
        if found is not None:
            return bool(parse_repository(found).token_auto_rotation)
    return None


def who_rotates(setting: bool | None, secret: StoredSecret | None) -> Rotator:
    """PAC when its rotation is on; pac-tui when it is off; when that cannot be told, PAC once a
    token someone else wrote was seen in the Secret (noted as `pac-tui.dev/rotator: pac`)."""
    if setting is not None:
        return Rotator.PAC if setting else Rotator.PAC_TUI
    if secret is not None and (secret.foreign or noted_rotator(secret) is Rotator.PAC):
        return Rotator.PAC
    return Rotator.PAC_TUI


def noted_rotator(secret: StoredSecret) -> Rotator | None:
    annotations = (secret.body.metadata.annotations or {}) if secret.body.metadata else {}
    value = annotations.get(ROTATOR)
    return Rotator(value) if value in tuple(Rotator) else None


def describe(rotator: Rotator, setting: bool | None) -> str:
    """Who rotates, in words for status, check and the panel."""
    if rotator is Rotator.PAC_TUI:
        return "pac-tui rotates the token (PAC's token_auto_rotation is off)"
    if setting:
        return "PAC rotates the token (token_auto_rotation); pac-tui adopts what PAC writes"
    return (
        "PAC rotates the token: someone else replaced the token pac-tui wrote; pac-tui adopts "
        "it and leaves the rotation to them (set spec.settings.gitlab.token_auto_rotation: false "
        "on the Repository to hand rotation back to pac-tui)"
    )


async def introspect(app: GitLabApp, token: str) -> project_tokens.ProjectToken:
    """What GitLab says about `token`, asked with that token as PAC asks (Private-Token)."""
    async with GitLabApi.with_private_token(app, token) as api:
        return await project_tokens.self_info(api)


def adopted(held: SecretTokens, info: project_tokens.ProjectToken, clock: Clock) -> SecretTokens:
    """`held` (a token someone else wrote) with GitLab's id and expiry for it, issued now: the
    newest generation, so the laptop's older record gives way to it."""
    if info.expires_at is None:
        raise PacTuiError(f"{held.gitlab_url} says the token in the Secret never expires")
    return replace(
        held,
        token_id=info.id,
        expires_at=datetime.combine(info.expires_at, time(0), tzinfo=UTC),
        issued_at=issued_after(held.issued_at, clock.now()),
    )


def restamp(
    cluster: Cluster, secret: StoredSecret, tokens: SecretTokens, rotator: Rotator
) -> StoredSecret:
    """Rewrite only the annotations of `secret` for `tokens` (its fingerprint, id, expiry, issue
    time, who rotates); the value stays as it is (blocking). Conditional on the `resourceVersion`
    read: `Conflict` when it was written meanwhile."""
    assert tokens.token_id is not None
    annotations = {
        FINGERPRINT: fingerprint(tokens.token, secret.namespace, secret.name, secret.token_key),
        f"{PREFIX}token-id": str(tokens.token_id),
        f"{PREFIX}expires-at": iso_utc(tokens.expires_at),
        f"{PREFIX}issued-at": iso_utc(tokens.issued_at),
        ROTATOR: rotator.value,
    }
    patch = {"metadata": {"resourceVersion": secret.resource_version, "annotations": annotations}}
    saved = cluster.call(
        f"annotate Secret {secret.key}",
        cluster.core.patch_namespaced_secret,
        secret.name,
        secret.namespace,
        patch,
    )
    return stored_secret(saved, secret.namespace, secret.token_key)


def readiness(
    cluster: Cluster, pac: PacRepository, stored: StoredSecret | None, oauth: bool, name: str
) -> tuple[bool, str, str]:
    """`pac-tui check`'s Rotation line (blocking): (ok, who rotates, the fix when not ok)."""
    if oauth:
        if stored is not None and stored.foreign:
            return (
                False,
                f"Secret {stored.key} holds a token pac-tui did not write; pac-tui leaves it",
                f"run: pac-tui login {name} (the new grant replaces it)",
            )
        detail = "pac-tui refreshes the OAuth token (PAC cannot rotate an OAuth token)"
        if pac.token_auto_rotation:
            detail += "; token_auto_rotation is on, and PAC logs a warning on each event"
        return True, detail, ""
    setting = pac_setting(cluster, pac)
    return True, describe(who_rotates(setting, stored), setting), ""
