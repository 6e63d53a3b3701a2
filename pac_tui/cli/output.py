"""What the commands print besides sentences: aligned tables and indented JSON.

Every table and every `--json` document goes through here, so all commands print them the same
way, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO


def print_table(out: TextIO, rows: Sequence[Sequence[str]]) -> None:
    """The header row and the rows, each column as wide as its widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        text = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(text.rstrip(), file=out)


def print_json(out: TextIO, document: Any) -> None:
    """A `--json` answer: indented, then a newline."""
    json.dump(document, out, indent=2)
    out.write("\n")


class Report:
    """A `--json` document of a command that acts on repositories (or Secrets): a list with one
    object per subject, every object with the same keys (null when they do not apply), so a
    failure, with its `error`, has the shape of a success.

    The first key names the subject (`name`, `repo`, `secret`).
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.items: list[dict[str, Any]] = []

    def add(self, **values: Any) -> None:
        unknown = set(values) - set(self.keys)
        assert not unknown, f"keys outside the document: {sorted(unknown)}"
        self.items.append({key: values.get(key) for key in self.keys})

    def failed(self, subject: str, error: object, **values: Any) -> None:
        """A subject the command could not act on: its name, the error's words, what is known."""
        self.add(**{self.keys[0]: subject, "error": str(error), **values})

    def print(self, out: TextIO) -> None:
        print_json(out, self.items)
