"""One connection to one cluster: kubeconfig context or in-cluster service account.

Every call goes through `Cluster.call`, which bounds its time and turns the client's exceptions
into messages a person can act on (unreachable, unauthorized, forbidden, not installed), naming the
context and server but never a credential.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from pac_tui.core.errors import ClusterRefused, ClusterUnavailable, PacTuiError, UsageError

T = TypeVar("T")

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


class NotFound(PacTuiError):
    """The object (or its whole resource type) does not exist."""


class Conflict(PacTuiError):
    """409: AlreadyExists on create, or Conflict (stale resourceVersion) on update."""


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    namespace: str
    current: bool


def list_contexts(kubeconfig: str | None = None) -> list[ContextInfo]:
    """The contexts of the kubeconfig (`$KUBECONFIG` or `~/.kube/config` when not given)."""
    try:
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError) as exc:
        raise UsageError(f"cannot read the kubeconfig: {exc}") from None
    current_name = (current or {}).get("name")
    return [
        ContextInfo(
            name=c["name"],
            cluster=c.get("context", {}).get("cluster", ""),
            namespace=c.get("context", {}).get("namespace") or "default",
            current=c["name"] == current_name,
        )
        for c in contexts
    ]


class Cluster:
    """An API client bound to one context, with the namespace that context defaults to."""

    def __init__(self, api: client.ApiClient, context: str, namespace: str) -> None:
        self.api = api
        self.context = context
        self.namespace = namespace
        self.server = api.configuration.host
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.coordination = client.CoordinationV1Api(api)
        self.timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)

    def with_timeout(self, seconds: float) -> Cluster:
        """The same connection, each call bounded by `seconds` (connect and read), e.g. for the
        last writes before a SIGTERM deadline."""
        bounded = copy.copy(self)
        bounded.timeout = (min(CONNECT_TIMEOUT, seconds), seconds)
        return bounded

    def call(self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one API call; `action` says what it was for ("read Secret ci/demo-token")."""
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            raise self.explain(exc, action) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterUnavailable(
                f"cannot reach the cluster at {self.server} (context {self.context}) to "
                f"{action}: {_reason(exc)}"
            ) from None

    def explain(self, exc: ApiException, action: str) -> PacTuiError:
        status, reason, message = api_error(exc)
        where = f"context {self.context}"
        if status == 401:
            return ClusterRefused(
                f"the cluster ({where}) does not accept pac-tui's credentials while trying to "
                f"{action}; refresh your kubeconfig login"
            )
        if status == 403:
            return ClusterRefused(
                f"not allowed to {action} ({where}): {message}. Grant it with a Role (see "
                "deploy/rbac.yaml)"
            )
        if status == 404:
            return NotFound(f"cannot {action} ({where}): {message or 'not found'}")
        if status == 409:
            return Conflict(f"cannot {action} ({where}): {message or reason}")
        if status >= 500 or status == 0:
            return ClusterUnavailable(f"the cluster ({where}) failed to {action}: {message}")
        return ClusterRefused(f"the cluster ({where}) refused to {action}: {message or reason}")

    def close(self) -> None:
        self.api.close()


def api_error(exc: ApiException) -> tuple[int, str, str]:
    """(code, reason, message) of an API error, read from its `Status` body when there is one."""
    reason = str(exc.reason or "")
    message = ""
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict):
        reason = str(body.get("reason") or reason)
        message = str(body.get("message") or "")
    return int(exc.status or 0), reason, message


def connect(
    context: str | None = None,
    kubeconfig: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Cluster:
    """Connect with the kubeconfig's `context` (its current one when None), or in-cluster.

    In-cluster configuration is used when there is no kubeconfig to read and the process runs in
    a pod (`KUBERNETES_SERVICE_HOST` is set), as kubectl does.
    """
    env = os.environ if env is None else env
    kubeconfig = kubeconfig or (env.get("KUBECONFIG") or "").split(os.pathsep)[0] or None
    if context is None and kubeconfig is None and _in_cluster(env):
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise UsageError(f"cannot use the in-cluster service account: {exc}") from None
        namespace = _service_account_namespace()
        _bound(configuration)
        return Cluster(client.ApiClient(configuration), "in-cluster", namespace)

    contexts = list_contexts(kubeconfig)
    if not contexts:
        raise UsageError("the kubeconfig has no contexts; run `kind create cluster` or log in")
    if context is None:
        chosen = next((c for c in contexts if c.current), None)
        if chosen is None:
            raise UsageError("the kubeconfig has no current context; pass --context")
    else:
        chosen = next((c for c in contexts if c.name == context), None)
        if chosen is None:
            known = ", ".join(c.name for c in contexts)
            raise UsageError(f"no context {context!r} in the kubeconfig (known: {known})")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=kubeconfig,
            context=chosen.name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError) as exc:
        raise UsageError(f"cannot use context {chosen.name!r}: {exc}") from None
    _bound(configuration)
    return Cluster(client.ApiClient(configuration), chosen.name, chosen.namespace)


class ClusterSource(Protocol):
    """Where a sync or an onboarding gets the connection for a binding's context: `Clusters`,
    or the pool the use cases own (`pac_tui.actions.clusters.ClusterPool`)."""

    def get(self, context: str | None) -> Cluster: ...


class Clusters:
    """Connections by context, each opened on first use and kept (one per context)."""

    def __init__(self, kubeconfig: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.env = env
        self._open: dict[str | None, Cluster] = {}

    def get(self, context: str | None) -> Cluster:
        if context not in self._open:
            self._open[context] = connect(context, self.kubeconfig, self.env)
        return self._open[context]

    def close(self) -> None:
        for cluster in self._open.values():
            cluster.close()
        self._open.clear()


def _bound(configuration: client.Configuration) -> None:
    """One quick retry on connect only, so an unreachable cluster is reported in seconds."""
    configuration.retries = urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0)


def _in_cluster(env: Mapping[str, str]) -> bool:
    if not env.get("KUBERNETES_SERVICE_HOST"):
        return False
    kubeconfig = env.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return not any(Path(p).exists() for p in kubeconfig.split(os.pathsep) if p)


def _service_account_namespace() -> str:
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text.split(": ", 1)[-1] if ": " in text else text
