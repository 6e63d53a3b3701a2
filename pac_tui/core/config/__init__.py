"""The config file: its model (`model`), how it is read and checked (`load`), how it is edited
(`write`)."""

from pac_tui.core.config.load import load_config, parse_config, parse_kubernetes_binding
from pac_tui.core.config.model import (
    DEFAULT_GITLAB_URL,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPES,
    LOOPBACK_NAMES,
    TOKEN_MODES,
    Config,
    GatewayTable,
    GitLabApp,
    KubernetesBinding,
    Repository,
    TokenMode,
    WebhookSettings,
)

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
