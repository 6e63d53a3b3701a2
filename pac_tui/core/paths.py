"""Where pac-tui keeps its config and its state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "pac-tui"


def config_path(
    explicit: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (then it must exist).

    Order: ``--config PATH``, then ``$PAC_TUI_CONFIG``, then the user config dir.
    """
    if explicit:
        return Path(explicit).expanduser(), True
    if env.get("PAC_TUI_CONFIG"):
        return Path(env["PAC_TUI_CONFIG"]).expanduser(), True
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml", False


def data_dir(env: Mapping[str, str]) -> Path:
    """The directory for tokens and other state: ``$PAC_TUI_DATA_DIR``, else the user data dir."""
    if env.get("PAC_TUI_DATA_DIR"):
        return Path(env["PAC_TUI_DATA_DIR"]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))
