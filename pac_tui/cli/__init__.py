"""The `pac-tui` command: one module per command family, all over the same use cases as the UI."""

from pac_tui.cli.main import main

__all__ = ["main"]
