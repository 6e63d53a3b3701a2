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
