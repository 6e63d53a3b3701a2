"""What every `pac-tui` command runs with: the config, the token store, the clock, the streams
and the one cluster pool (opened only if the command reaches a cluster, closed when it ends)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pac_tui.actions.clusters import ClusterPool
from pac_tui.core.clock import Clock
from pac_tui.core.config import Config
from pac_tui.stores.file_store import TokenStore


@dataclass
class Context:
    config: Config
    config_path: Path
    store: TokenStore
    clock: Clock
    out: TextIO
    err: TextIO
    clusters: ClusterPool


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value
