"""What onboarding wants in place: the Repository resource and the GitLab hook's settings."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from pac_tui.core.config import KubernetesBinding, Repository, TokenMode
from pac_tui.core.errors import UsageError
from pac_tui.gitlab.hooks import PAC_EVENTS
from pac_tui.kube.repositories import (
    PAC_GROUP,
    PAC_VERSION,
    SecretRef,
    parse_repository,
    split_project_url,
)
from pac_tui.kube.secrets import MANAGED_BY
from pac_tui.onboard.result import REDACTED
from pac_tui.onboard.vocabulary import CONTROLLER_ANNOTATION, project_url

GITLAB_COM = "https://gitlab.com"
OAUTH_USER = "oauth2"


def check_controller_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"controller URL {url!r} is not an http(s) URL")
    if parts.username or parts.password or parts.fragment:
        raise UsageError("the controller URL must not carry user info or a fragment")
    return url.strip()


def wanted_spec(
    repo: Repository, binding: KubernetesBinding, token_ref: SecretRef, webhook_ref: SecretRef
) -> dict[str, Any]:
    """The Repository's spec. With a token gateway, PAC's API calls go to the gateway
    (`git_provider.url`), which forwards them to GitLab with the token as Bearer; clones still go
    to the project's own URL, as `oauth2` with the token."""
    provider: dict[str, Any] = {"type": "gitlab"}
    if binding.gateway:
        provider["url"] = binding.gateway
    elif repo.gitlab.url.rstrip("/") != GITLAB_COM:
        provider["url"] = repo.gitlab.url
    if binding.mode == TokenMode.OAUTH:
        provider["user"] = OAUTH_USER
    provider["secret"] = {"name": token_ref.name, "key": token_ref.key}
    provider["webhook_secret"] = {"name": webhook_ref.name, "key": webhook_ref.key}
    return {"url": project_url(repo), "git_provider": provider}


def hook_settings(controller_url: str, signed: bool = False) -> dict[str, Any]:
    """The hook as it is sent to GitLab, its token (and signing token) REDACTED."""
    return {
        "url": controller_url,
        **{event: True for event in PAC_EVENTS},
        "enable_ssl_verification": True,
        "token": REDACTED,
        **({"signing_token": REDACTED} if signed else {}),
    }


def wanted_object(
    repo: Repository,
    binding: KubernetesBinding,
    current: dict[str, Any] | None,
    token_ref: SecretRef,
    webhook_ref: SecretRef,
    controller_url: str,
) -> dict[str, Any]:
    """The Repository resource as it should be: the current one with pac-tui's fields set."""
    spec = wanted_spec(repo, binding, token_ref, webhook_ref)
    if current is None:
        obj: dict[str, Any] = {
            "apiVersion": f"{PAC_GROUP}/{PAC_VERSION}",
            "kind": "Repository",
            "metadata": {
                "name": binding.repository,
                "namespace": binding.namespace,
                "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
                "annotations": {CONTROLLER_ANNOTATION: controller_url},
            },
            "spec": spec,
        }
        return obj
    pac = parse_repository(current)
    if pac.url and not _same_project(pac.url, pac.instance, repo):
        raise UsageError(
            f"{repo.name}: PAC Repository {pac.key} already exists for {pac.url}, not "
            f"{project_url(repo)}; pick another name with --repository"
        )
    obj = copy.deepcopy(current)
    meta = obj.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), CONTROLLER_ANNOTATION: controller_url}
    have = obj.setdefault("spec", {})
    if not pac.url:
        have["url"] = spec["url"]
    provider = have.setdefault("git_provider", {})
    for key, value in spec["git_provider"].items():
        if key == "url" and str(provider.get("url") or "").rstrip("/") == value.rstrip("/"):
            continue
        provider[key] = value
    return obj


def _same_project(url: str, instance: str, repo: Repository) -> bool:
    if instance.rstrip("/").casefold() != repo.gitlab.url.casefold():
        base, path = split_project_url(url, repo.gitlab.url)
        return (
            base.casefold() == repo.gitlab.url.casefold()
            and path.casefold() == repo.project.casefold()
        )
    _, path = split_project_url(url, instance)
    return path.casefold() == repo.project.casefold()
