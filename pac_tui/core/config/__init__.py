"""The config file: its model (`model`), how it is read and checked (`load`, with the URL rules
of `urls`), how it is edited (`write`), and whether the files holding secrets are private
(`permissions`)."""

from pac_tui.core.config.load import load_config, parse_config, parse_kubernetes_binding
from pac_tui.core.config.model import (
    DEFAULT_GITLAB_URL,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPES,
    TOKEN_MODES,
    Config,
    GatewayTable,
    GitLabApp,
    KubernetesBinding,
    Repository,
    TokenMode,
    WebhookSettings,
)
from pac_tui.core.config.urls import LOOPBACK_NAMES

__all__ = [
    "DEFAULT_GITLAB_URL",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "LOOPBACK_NAMES",
    "TOKEN_MODES",
    "Config",
    "GatewayTable",
    "GitLabApp",
    "KubernetesBinding",
    "Repository",
    "TokenMode",
    "WebhookSettings",
    "load_config",
    "parse_config",
    "parse_kubernetes_binding",
]
