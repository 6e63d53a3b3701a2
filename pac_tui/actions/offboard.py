"""Offboarding: take pac-tui out of a repository onboarded to PAC, in both faces.

`plan_offboard` only reads (the Repository, its Secrets, the local record, the hook and the
project tokens at GitLab) and returns the steps, each `planned` or `skipped` (already absent,
or not asked for); `--dry-run` shows exactly that. `carry_out` then runs the planned steps in
order and stops at the first that fails: the later ones stay `planned`, nothing else changes,
and the failure says what to do (`Offboarding.next_command`). A second run finds every step
already absent and writes nothing.

The order, and why:

1. **The hook** goes first: from then on GitLab sends PAC no event for this project, so nothing
   starts a PipelineRun that would use the token being taken away.
2. **The Repository's `pac-tui.dev/controller-url` annotation** (how a later run finds the hook)
   goes right after the hook, so a rerun never needs a grant to look for a hook already removed.
3. **The Secret** (`kube.unbind`): deleted when it is pac-tui's alone, else stripped of pac-tui's
   label, annotations, token and refresh keys, in one write conditional on the resourceVersion the
   plan read. PAC never reads half a Secret, and a Secret the in-cluster refresher rotated
   meanwhile makes this step fail (plan again) instead of leaving a token the plan never saw.
   Without the label, the refresher and `pac-tui sync` leave it alone from here on.
4. **The project access token** is revoked only now that no Secret hands it out: revoking it
   first would leave PAC reading a dead token, and a managed Secret the refresher keeps trying to
   rotate. If the revoke fails, the token is still valid but held nowhere but the local store,
   whose record keeps its id until the revoke succeeds, so the rerun revokes it.
5. **The OAuth grant**: the tokens of the local record and, in oauth mode, those the Secret held
   (the refresher may have renewed them). Revoked after the project token, which needs the grant
   to be revoked at all.
6. **The local record** in the token store, once nothing in it is live.
7. **The Repository** itself only with `delete_repository` (it is PAC's resource, often written by
   hand or by GitOps: by default it is kept, pointing at a Secret that holds no token).
8. **The config entry** only with `forget`: the config is the user's own file, and keeping the
   entry lets a rerun of `pac-tui offboard` find the binding again (as `glab auth logout` leaves
   the rest of glab's config alone). While the entry keeps its binding, `pac-tui login` writes a
   token into the Secret again (the first half of onboarding: `pac-tui onboard` does the rest).

What is pac-tui's: the Secret rule is in `kube.unbind`. The hook: nothing records who created it,
so the one hook posting to the controller URL onboarding recorded on the Repository is taken as
pac-tui's (onboarding created it, or took it over and set its secret); no other hook is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pac_tui.actions.offboard_steps import (
    ALREADY_ABSENT,
    NOT_DONE,
    Facts,
    Step,
    StepState,
    api_for,
    build_steps,
    forget_entry,
    noted,
)
from pac_tui.core.clock import Clock
from pac_tui.core.config import Repository, TokenMode
from pac_tui.core.errors import PacTuiError, UsageError
from pac_tui.gitlab.hooks import find_hook, list_hooks
from pac_tui.gitlab.project_tokens import get as get_project_token
from pac_tui.kube.cluster import ClusterSource
from pac_tui.onboard.read import read_cluster_or_error
from pac_tui.onboard.vocabulary import CONTROLLER_ANNOTATION
from pac_tui.stores.file_store import TokenStore

__all__ = [
    "ALREADY_ABSENT",
    "NOT_DONE",
    "Offboarding",
    "Step",
    "StepState",
    "carry_out",
    "offboard",
    "plan_offboard",
]


@dataclass
class Offboarding:
    """The steps for one repository: the plan, then what became of it."""

    repo: str
    dry_run: bool
    steps: list[Step]
    next_command: str

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.state == StepState.FAILED), None)

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.state == StepState.PLANNED]

    def to_json(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "repository": self.repo,
            "dry_run": self.dry_run,
            "ok": failed is None,
            "steps": [step.to_json() for step in self.steps],
            "next": self.next_command if failed is not None else None,
        }


async def plan_offboard(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    *,
    dry_run: bool = False,
    delete_repository: bool = False,
    forget: bool = False,
    config_path: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Offboarding:
    """Read both sides and return the steps (see the module docstring); writes nothing.

    Raises when the cluster or GitLab cannot be read (nothing was changed then).
    """
    binding = repo.kubernetes
    if binding is None:
        raise UsageError(
            f"{repo.name} is not bound to a PAC Repository ([repositories.kubernetes] in the "
            f"config), so there is nothing to offboard; pac-tui revoke {repo.name} revokes its "
            "grant"
        )
    if forget and config_path is None:
        raise UsageError("forgetting the repository needs the config file's path")
    view = await read_cluster_or_error(clusters, binding)
    if view.error is not None:
        raise noted(view.error, "nothing was changed") from None
    facts = Facts(view)
    record = store.get(repo.name)
    token_ref, _ = view.refs(binding.repository)
    held = view.secrets.get(token_ref.name)
    tokens = held.tokens if held is not None else None
    annotations = ((view.obj or {}).get("metadata") or {}).get("annotations") or {}
    facts.hook_url = annotations.get(CONTROLLER_ANNOTATION)
    ids = {tokens.token_id} if tokens and tokens.token_id is not None else set()
    if record is not None and record.project_token is not None:
        ids.add(record.project_token.token_id)
    if tokens is not None and tokens.mode == TokenMode.OAUTH:
        facts.secret_grant = tokens
    elif tokens is not None:
        facts.secret_project_token = tokens

    if facts.hook_url or ids:
        async with api_for(repo, store, clock, clusters, dry_run, transport) as api:
            try:
                if facts.hook_url:
                    found = find_hook(await list_hooks(api, repo.project), facts.hook_url)
                    facts.hook_id = found.id if found else None
                for token_id in sorted(ids):
                    token = await get_project_token(api, repo.project, token_id)
                    if token is not None and token.active and not token.revoked:
                        facts.live_token_ids.append(token_id)
            except PacTuiError as exc:
                raise noted(exc, "nothing was changed") from None

    steps = build_steps(repo, store, clock, clusters, facts, delete_repository, transport)
    if forget:
        assert config_path is not None
        steps.append(
            Step(
                "config",
                str(config_path),
                StepState.PLANNED,
                f"remove the repository {repo.name} from the config",
                lambda: forget_entry(config_path, repo.name),
            )
        )
    else:
        steps.append(
            Step("config", repo.name, StepState.SKIPPED, "kept (--forget removes the entry)")
        )
    flags = " --delete-repository" if delete_repository else ""
    flags += " --forget" if forget else ""
    return Offboarding(repo.name, dry_run, steps, f"pac-tui offboard {repo.name}{flags}")


async def carry_out(plan: Offboarding) -> Offboarding:
    """Run the planned steps in order; stop at the first failure (see the module docstring)."""
    if plan.dry_run:
        return plan
    for index, step in enumerate(plan.steps):
        if step.state != StepState.PLANNED or step.run is None:
            continue
        try:
            step.message = await step.run()
        except PacTuiError as exc:
            step.state = StepState.FAILED
            step.message = str(
                noted(exc, f"nothing after this step was done: once fixed, run {plan.next_command}")
            )
            for later in plan.steps[index + 1 :]:
                if later.state == StepState.PLANNED:
                    later.message = NOT_DONE
            break
        step.state = StepState.DONE
    return plan


async def offboard(
    repo: Repository,
    store: TokenStore,
    clock: Clock,
    clusters: ClusterSource,
    **options: Any,
) -> Offboarding:
    """Plan and, unless `dry_run`, carry out (for callers that need no confirmation between)."""
    return await carry_out(await plan_offboard(repo, store, clock, clusters, **options))
