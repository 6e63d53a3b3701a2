"""Where the deliveries timeline gets its facts besides GitLab: the cluster (the Repository's
controller URL and webhook secret, its PipelineRuns) and the local journal.

Both are read in threads by `pac_tui.actions.deliveries`; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pac_tui.core.config import Repository
from pac_tui.core.errors import PacTuiError
from pac_tui.webhooks.models import Delivery

if TYPE_CHECKING:
    from pac_tui.kube.cluster import ClusterSource
    from pac_tui.kube.pipelineruns import PacPipelineRun


@dataclass(frozen=True)
class JournalMatch:
    """The journal's record of the same delivery (pac-tui's receiver saw it too)."""

    id: int | None
    verdict: str
    relay_status: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "verdict": self.verdict, "relay_status": self.relay_status}


@dataclass(frozen=True)
class ClusterFacts:
    runs: list[PacPipelineRun]
    controller_url: str | None
    secret_problem: str | None  # why PAC refuses every delivery, or None


def journal_matches(deliveries: Iterable[Delivery]) -> dict[str, Delivery]:
    found: dict[str, Delivery] = {}
    for d in deliveries:
        for key in (d.event_uuid, d.idempotency_key):
            if key:
                found.setdefault(key, d)
    return found


def cluster_facts(repo: Repository, clusters: ClusterSource) -> ClusterFacts:
    """Blocking: the Repository (its controller URL, its webhook secret) and its PipelineRuns."""
    from pac_tui.kube.pipelineruns import list_pipelineruns
    from pac_tui.kube.repositories import parse_repository, read_repository_object
    from pac_tui.kube.secrets import b64decode_text, read_secret
    from pac_tui.onboard.vocabulary import CONTROLLER_ANNOTATION  # pac_tui.onboard imports kube

    binding = repo.kubernetes
    assert binding is not None
    cluster = clusters.get(binding.context)
    obj = read_repository_object(cluster, binding.namespace, binding.repository)
    if obj is None:
        raise PacTuiError(f"PAC Repository {binding.key} does not exist; run: pac-tui onboard")
    pac = parse_repository(obj)
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    problem = None
    fix = f"run: pac-tui onboard {repo.name}"
    ref = pac.webhook_secret
    if ref is None:
        problem = (
            f"the Repository {binding.key} has no webhook secret, so PAC refuses every "
            f"delivery; {fix}"
        )
    else:
        stored = read_secret(cluster, binding.namespace, ref.name, ref.key)
        data = (stored.body.data or {}) if stored is not None else {}
        if stored is None or not b64decode_text(data.get(ref.key)):
            problem = (
                f"the webhook secret ({binding.namespace}/{ref.name}:{ref.key}) is missing or "
                f"empty, so PAC refuses every delivery; {fix}"
            )
    runs = list_pipelineruns(cluster, binding.namespace, binding.repository)
    return ClusterFacts(runs, notes.get(CONTROLLER_ANNOTATION), problem)
