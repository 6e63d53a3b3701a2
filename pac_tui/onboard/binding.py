"""The binding onboarding uses, and recording it in the config file after a successful run.

`binding_for` merges command-line values into the config's `[repositories.kubernetes]` binding
(or makes one); `save_binding` writes it into the config file (tomlkit: comments kept).
`save_webhook_secret` records the webhook secret onboarding gave PAC and the hook, when pac-tui's
own receiver is in the delivery path (`[webhook] relay`): it must check deliveries against the
same secret as PAC, or its verdicts and PAC's differ. For the same receiver `signing_token_for`
gives the hook a signing token (the config's, else a new one), and `save_signing_token` records
it once GitLab has taken it: the receiver then requires GitLab's signature.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pac_tui.core.config import (
    TOKEN_MODES,
    Config,
    KubernetesBinding,
    Repository,
    TokenMode,
    parse_config,
    parse_kubernetes_binding,
)
from pac_tui.core.config.signing import new_signing_token
from pac_tui.core.config.write import set_binding, set_webhook_secret, set_webhook_signing_token
from pac_tui.core.errors import ConfigError, UsageError


def binding_for(
    repo: Repository,
    *,
    namespace: str | None = None,
    mode: TokenMode | str | None = None,
    context: str | None = None,
    repository: str | None = None,
    gateway: str | None = None,
) -> KubernetesBinding:
    """The binding onboarding uses: the config's, with any value given here taking its place.

    Without a binding in the config, `namespace` is required; the Repository resource is named
    after the config's repository unless `repository` says otherwise. A `gateway` (the URL PAC
    reaches pac-tui's token gateway at) means oauth mode unless `mode` says otherwise (then it is
    refused); switching to project-token mode drops the binding's gateway.
    """
    current = repo.kubernetes
    if current is None and not namespace:
        raise UsageError(
            f"{repo.name} has no [repositories.kubernetes] table yet; give --namespace (and "
            "--controller-url) to onboard it"
        )
    if mode is not None and mode not in TOKEN_MODES:
        raise UsageError(f"--mode {mode!r}: use project-token or oauth")
    base = current or KubernetesBinding(namespace=namespace or "", repository=_k8s_name(repo.name))
    new_mode = TokenMode(mode) if mode else TokenMode.OAUTH if gateway else base.mode
    if gateway and new_mode != TokenMode.OAUTH:
        raise UsageError("--gateway-url carries OAuth tokens: it goes with --mode oauth")
    binding = replace(
        base,
        namespace=namespace or base.namespace,
        repository=repository or base.repository,
        mode=new_mode,
        context=context if context is not None else base.context,
        gateway=gateway or (base.gateway if new_mode == TokenMode.OAUTH else None),
    )
    # Validate the names exactly as the config loader would.
    _validated_table(binding)
    return binding


def _k8s_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-.")
    return cleaned[:63].rstrip("-") or "repository"


def _binding_table(binding: KubernetesBinding) -> dict[str, Any]:
    table: dict[str, Any] = {}
    if binding.context is not None:
        table["context"] = binding.context
    table["namespace"] = binding.namespace
    table["repository"] = binding.repository
    table["mode"] = binding.mode
    if binding.token_days != KubernetesBinding.token_days:
        table["token_days"] = binding.token_days
    if binding.gateway is not None:
        table["gateway"] = binding.gateway
    return table


def _validated_table(binding: KubernetesBinding) -> dict[str, Any]:
    table = _binding_table(binding)
    try:
        parse_kubernetes_binding(table, "kubernetes")
    except ConfigError as exc:
        raise UsageError(f"{exc.key}: {exc.problem}") from None
    return table


def save_binding(path: Path, repo_name: str, binding: KubernetesBinding) -> bool:
    """Write `binding` as the `[repositories.kubernetes]` table of `repo_name` in the config file.

    Returns False when the file already says exactly that (nothing is written). Comments and the
    rest of the file are kept (tomlkit); the result is validated before it replaces the file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the config {path} to record the binding: {exc}") from None
    config = parse_config(text, path)
    current = config.repository(repo_name)
    if current.kubernetes == binding:
        return False
    set_binding(path, repo_name, _validated_table(binding))
    return True


def save_webhook_secret(path: Path, repo_name: str, secret: str) -> bool:
    """Record `secret` as `repo_name`'s `webhook_secret` in the config file when pac-tui's own
    receiver relays deliveries to PAC; False when it is not in the path or already says so."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the config {path} to record the webhook secret: {exc}"
        ) from None
    config = parse_config(text, path)
    if not config.webhook.relay or config.repository(repo_name).webhook_secret == secret:
        return False
    set_webhook_secret(path, repo_name, secret)
    return True


def signing_token_for(config: Config, repo: Repository) -> str | None:
    """The signing token onboarding gives the hook: the repository's own `webhook_signing_token`,
    else a new one when pac-tui's receiver is in the delivery path (`[webhook] relay`), else None:
    PAC itself ignores signatures, so only pac-tui's receiver has a use for one."""
    if repo.webhook_signing_token is not None:
        return repo.webhook_signing_token
    return new_signing_token() if config.webhook.relay else None


def save_signing_token(path: Path, repo_name: str, token: str) -> bool:
    """Record `token`, which the hook now signs with, as `repo_name`'s `webhook_signing_token`;
    False when the config already says so. Only a token GitLab took belongs there: with one the
    receiver rejects every unsigned delivery."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the config {path} to record the signing token: {exc}"
        ) from None
    if parse_config(text, path).repository(repo_name).webhook_signing_token == token:
        return False
    set_webhook_signing_token(path, repo_name, token)
    return True
