"""The one cluster pool a command or the dashboard works with.

It owns the kubeconfig (a path, or None for `$KUBECONFIG` / `~/.kube/config` / in-cluster) and
one connection per context, opened on first use and closed once, when the command or the app
ends. Every use case that needs a cluster borrows it from here, so no caller builds its own set
of connections, nor forgets the kubeconfig the user gave. The `kubernetes` client is imported on
the first connection only: a command that never reaches a cluster never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pac_tui.kube.cluster import Cluster, Clusters, ContextInfo


class ClusterPool:
    """Connections by context for one kubeconfig; safe to use from worker threads."""

    def __init__(self, kubeconfig: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.env = env
        self._lock = threading.Lock()
        self._clusters: Clusters | None = None

    def get(self, context: str | None) -> Cluster:
        """The connection to `context` (the kubeconfig's current one when None)."""
        with self._lock:
            if self._clusters is None:
                from pac_tui.kube.cluster import Clusters

                self._clusters = Clusters(self.kubeconfig, self.env)
            return self._clusters.get(context)

    def contexts(self) -> list[ContextInfo]:
        """The kubeconfig's contexts, for a form that lets the user choose one."""
        from pac_tui.kube.cluster import list_contexts

        return list_contexts(self.kubeconfig)

    def close(self) -> None:
        with self._lock:
            if self._clusters is not None:
                self._clusters.close()
                self._clusters = None
