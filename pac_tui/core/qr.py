"""A QR code as text: two rows of modules per line with half blocks, for a terminal or a widget.

Light modules are drawn (as `qrencode -t UTF8` does), so the code reads on a dark background with
the usual light quiet zone around it.
"""

from __future__ import annotations

import segno

# (top is light, bottom is light) → character
_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def qr_text(data: str, border: int = 2) -> str:
    """`data` as a QR code (error correction L, smallest version) in lines of half blocks."""
    code = segno.make(data, error="l", micro=False)
    rows = [[not dark for dark in row] for row in code.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))
    return "\n".join(
        "".join(_BLOCKS[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    )
