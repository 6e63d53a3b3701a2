"""The terminal QR code encodes exactly segno's matrix, two module rows per line."""

from __future__ import annotations

import segno

from pac_tui.core.qr import qr_text

URL = "https://gitlab.example.com/oauth/device?user_code=WDJB-MJHT"
LIGHT = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}


def test_half_blocks_match_the_matrix() -> None:
    lines = qr_text(URL, border=2).splitlines()
    decoded: list[list[bool]] = []
    for line in lines:
        rows = [[LIGHT[c][0] for c in line], [LIGHT[c][1] for c in line]]
        decoded += rows
    matrix = [
        [not dark for dark in row]
        for row in segno.make(URL, error="l", micro=False).matrix_iter(scale=1, border=2)
    ]
    assert decoded[: len(matrix)] == matrix
    assert len(lines) == (len(matrix) + 1) // 2
    assert all(len(line) == len(matrix[0]) for line in lines)
