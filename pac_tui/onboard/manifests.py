"""The YAML onboarding shows: the Repository resource and the Secret, every value REDACTED."""

from __future__ import annotations

from typing import Any

import yaml

from pac_tui.core.config import KubernetesBinding, TokenMode
from pac_tui.kube.repositories import SecretRef
from pac_tui.kube.secrets import MANAGED_BY, REFRESH_KEY
from pac_tui.onboard.result import REDACTED


def repository_yaml(obj: dict[str, Any]) -> str:
    """The Repository resource as YAML, without what the server adds."""
    return _dump(_shown(obj))


def secret_yaml(binding: KubernetesBinding, token_ref: SecretRef, webhook_ref: SecretRef) -> str:
    docs = []
    keys: dict[str, list[str]] = {}
    keys.setdefault(token_ref.name, []).append(token_ref.key)
    if binding.mode == TokenMode.OAUTH:
        keys[token_ref.name].append(REFRESH_KEY)
    keys.setdefault(webhook_ref.name, []).append(webhook_ref.key)
    for name, names in keys.items():
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": binding.namespace,
                    "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
                },
                "type": "Opaque",
                "stringData": dict.fromkeys(names, REDACTED),
            }
        )
    return "---\n".join(_dump(doc) for doc in docs)


def _shown(obj: dict[str, Any]) -> dict[str, Any]:
    """The resource without what the server adds (uid, resourceVersion, status, …)."""
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": kept,
        "spec": obj.get("spec"),
    }


def _dump(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
