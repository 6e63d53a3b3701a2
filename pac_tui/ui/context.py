"""What the dashboard needs from outside, injected so tests control it (clock, store, browser)."""

from __future__ import annotations

import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from pac_tui.actions.clusters import ClusterPool
from pac_tui.core.clock import Clock, SystemClock
from pac_tui.core.config import Config, load_config
from pac_tui.core.models import TokenRecord
from pac_tui.oauth.device import device_login
from pac_tui.oauth.login import DEFAULT_TIMEOUT, login
from pac_tui.stores.file_store import TokenStore


@dataclass
class AppContext:
    config: Config
    config_path: Path
    store: TokenStore
    clock: Clock = field(default_factory=SystemClock)
    open_browser: Callable[[str], object] | None = webbrowser.open
    login_timeout: float = DEFAULT_TIMEOUT
    local_tz: tzinfo | None = None  # None: the machine's zone
    auto_refresh: bool = True
    receive_webhooks: bool = True  # run the webhook receiver inside the dashboard
    webhook_port: int | None = None  # None: [webhook] port of the config
    login: Callable[..., Awaitable[TokenRecord]] = login  # the core's browser login
    device_login: Callable[..., Awaitable[TokenRecord]] = device_login  # and its device login
    discover_cluster: bool = True  # list PAC Repository resources (when there is a kubeconfig)
    kubeconfig: str | None = None  # None: $KUBECONFIG or ~/.kube/config
    check_hooks: bool = True  # ask GitLab whether the PAC hooks of the rows on screen work
    settle_heap: bool = True  # freeze long-lived objects out of full collections (ui/heap.py)
    warnings: tuple[str, ...] = ()  # shown once at start (files holding secrets left open…)
    _clusters: ClusterPool | None = field(default=None, init=False, repr=False)

    @property
    def clusters(self) -> ClusterPool:
        """The app's one cluster pool, made on first use with `kubeconfig` (which tests set
        after construction); it connects to nothing until a context is asked for."""
        if self._clusters is None:
            self._clusters = ClusterPool(self.kubeconfig)
        return self._clusters

    def reload_config(self) -> None:
        """Re-read the config file (after the walkthrough wrote it); raises `ConfigError`."""
        if self.config_path.exists():
            self.config = load_config(self.config_path)
