"""The refresher's part in "one rotator per Secret" (`kube.rotation`), before it renews anything:

- a token pac-tui did not write (by its fingerprint) is adopted in project-token mode: GitLab
  says its id and expiry, only the annotations are rewritten, nothing is minted or rotated;
- in oauth mode such a token is reported and left alone (PAC cannot rotate an OAuth token, so a
  person put it there; a new `pac-tui login` on a workstation replaces it);
- a due project token that PAC rotates itself is left to PAC, said once per Secret.
"""

from __future__ import annotations

import asyncio

from pac_tui.core.clock import Clock
from pac_tui.core.config import Config, TokenMode
from pac_tui.core.errors import PacTuiError
from pac_tui.gitlab.api import GitLabApiError
from pac_tui.kube.cluster import Cluster, Conflict
from pac_tui.kube.events import EventType
from pac_tui.kube.renew import application, due
from pac_tui.kube.report import COMPONENT, Outcome, RefresherAction, Reporter
from pac_tui.kube.repositories import PAC_GROUP, PAC_PLURAL, PAC_VERSION, parse_repository
from pac_tui.kube.rotation import (
    Rotator,
    adopted,
    describe,
    introspect,
    pac_setting,
    restamp,
    who_rotates,
)
from pac_tui.kube.secrets import SecretTokens, StoredSecret, read_secret


class Handover:
    def __init__(self, cluster: Cluster, config: Config, clock: Clock, report: Reporter) -> None:
        self.cluster = cluster
        self.config = config
        self.clock = clock
        self.report = report
        self._said: set[tuple[str, str]] = set()  # (Secret, action) already reported

    async def visit(self, secret: StoredSecret) -> Outcome | None:
        """An outcome when the refresher must not renew `secret` itself, else None."""
        tokens = secret.tokens
        if tokens is None:
            return None
        if secret.foreign and tokens.mode == TokenMode.OAUTH:
            return await self._say(
                secret,
                RefresherAction.FOREIGN,
                "ForeignToken",
                "the Secret holds an OAuth token pac-tui did not write; the refresher leaves it "
                "alone (log in again on a workstation to replace it: pac-tui login, pac-tui sync)",
            )
        if secret.foreign:
            return await self._adopt(secret, tokens)
        if tokens.mode != TokenMode.PROJECT_TOKEN or not due(tokens, self.clock.now()):
            return None
        setting = await asyncio.to_thread(self._setting, secret)
        if who_rotates(setting, secret) is not Rotator.PAC:
            return None
        return await self._say(
            secret,
            RefresherAction.LEFT_TO_PAC,
            "LeftToPAC",
            f"{describe(Rotator.PAC, setting)}; the refresher leaves this project token alone",
        )

    def _setting(self, secret: StoredSecret) -> bool | None:
        """PAC's token_auto_rotation for the Repositories that read `secret` (blocking). They are
        listed, as the Role allows (`deploy/rbac.yaml`: list, not get, on repositories)."""
        try:
            answer = self.cluster.call(
                f"list PAC Repositories in namespace {secret.namespace}",
                self.cluster.custom.list_namespaced_custom_object,
                PAC_GROUP,
                PAC_VERSION,
                secret.namespace,
                PAC_PLURAL,
            )
        except PacTuiError:
            return None
        settings = [
            pac_setting(self.cluster, repo)
            for repo in map(parse_repository, answer.get("items", []))
            if repo.token_secret.name == secret.name
        ]
        return True if True in settings else False if False in settings else None

    async def _adopt(self, secret: StoredSecret, held: SecretTokens) -> Outcome | None:
        try:
            info = await introspect(application(self.config, held), held.token)
        except GitLabApiError as exc:
            if exc.status not in (401, 403):
                return self._failed(secret, f"could not ask GitLab about the token: {exc}")
            info = None
        except PacTuiError as exc:
            return self._failed(secret, f"could not ask GitLab about the token: {exc}")
        if info is None or not info.active or info.revoked:
            return await self._say(
                secret,
                RefresherAction.FAILED,
                "ForeignToken",
                "the Secret holds a token pac-tui did not write, and GitLab refuses it; the "
                "refresher does not replace it: run pac-tui sync on a workstation",
            )
        setting = await asyncio.to_thread(self._setting, secret)
        rotator = who_rotates(setting, secret)
        tokens = adopted(held, info, self.clock)
        try:
            saved = await asyncio.to_thread(self._restamp, secret, tokens, rotator)
        except Conflict:
            return None  # written meanwhile: decide again next pass
        except PacTuiError as exc:
            return self._failed(secret, f"could not note the adopted token: {exc}")
        expires = tokens.expires_at.isoformat() if tokens.expires_at else "never"
        message = f"adopted the token someone else wrote ({describe(rotator, setting)})"
        text = f"{COMPONENT} {message}; expires {expires}; nothing minted or rotated"
        await self.report.tell(saved, EventType.NORMAL, "TokenAdopted", text)
        return self.report.count(Outcome(secret.key, RefresherAction.ADOPTED, text))

    def _restamp(
        self, secret: StoredSecret, tokens: SecretTokens, rotator: Rotator
    ) -> StoredSecret:
        """`restamp`, once more on a conflict when only annotations changed meanwhile (the
        refresher's own Lease stamp, written just before in the same pass)."""
        try:
            return restamp(self.cluster, secret, tokens, rotator)
        except Conflict:
            now = read_secret(self.cluster, secret.namespace, secret.name, secret.token_key)
            if now is None or now.tokens is None or now.tokens.token != tokens.token:
                raise
            return restamp(self.cluster, now, tokens, rotator)

    async def _say(
        self, secret: StoredSecret, action: RefresherAction, reason: str, message: str
    ) -> Outcome:
        """Report once per Secret (an Event, a log line); repeats are quiet."""
        seen = (secret.key, message) in self._said
        if not seen:
            self._said.add((secret.key, message))
            type_ = EventType.NORMAL if action is RefresherAction.LEFT_TO_PAC else EventType.WARNING
            await self.report.tell(secret, type_, reason, message)
        return self.report.count(Outcome(secret.key, action, message, quiet=seen))

    def _failed(self, secret: StoredSecret, message: str) -> Outcome:
        return self.report.count(Outcome(secret.key, RefresherAction.FAILED, message))
