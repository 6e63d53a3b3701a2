"""Token generations are ordered by issue time, stored to the second (pac_tui.core.models)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pac_tui.core.models import issued_after

T = datetime(2026, 11, 26, 12, 0, 0, 250_000, tzinfo=UTC)


def test_a_new_generation_is_issued_strictly_after_the_previous_one() -> None:
    assert issued_after(None, T) == T.replace(microsecond=0)
    later = T + timedelta(seconds=5)
    assert issued_after(T, later) == later.replace(microsecond=0)
    # Within the same second (or a clock that did not move): one second after the previous.
    same = T.replace(microsecond=900_000)
    assert issued_after(T, same) == T.replace(microsecond=0) + timedelta(seconds=1)
    assert issued_after(later, T) == later.replace(microsecond=0) + timedelta(seconds=1)
