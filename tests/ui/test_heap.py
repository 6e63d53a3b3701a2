"""The dashboard keeps its long-lived objects out of the garbage collector's full collections
(ui/heap.py), settles again only when nobody is typing, and gives the heap back when it stops."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from pac_tui.ui.heap import HeapSettler
from tests.ui.conftest import eventually, make_app, make_context


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def walked(obj: object) -> bool:
    """Whether the collector's generations hold `obj` (a frozen object is in none of them)."""
    return any(o is obj for o in gc.get_objects())


def test_settle_collects_cycles_then_freezes_what_survives(unfrozen: None) -> None:
    heap = HeapSettler()
    a, b = Node(), Node()
    a.other, b.other = b, a  # garbage only the cyclic collector frees
    gone = weakref.ref(a)
    del a, b
    survivor = Node()
    heap.settle()
    assert gone() is None
    assert gc.get_freeze_count() > 0 and heap.settled and not walked(survivor)
    heap.release()
    assert gc.get_freeze_count() == 0 and not heap.settled and walked(survivor)


def test_it_settles_again_only_when_due_and_nobody_is_typing(unfrozen: None) -> None:
    ticks = Ticks()
    heap = HeapSettler(every=300, idle=5, monotonic=ticks)
    assert heap.maybe_settle() is False  # never settled, but the app just started (an input)
    ticks.now += 5
    assert heap.maybe_settle() is True  # never settled, quiet for 5 s
    ticks.now += 200
    assert heap.maybe_settle() is False  # not due
    ticks.now += 100
    heap.input()
    assert heap.maybe_settle() is False  # due, but a key just came
    ticks.now += 4.9
    assert heap.maybe_settle() is False
    ticks.now += 0.1
    assert heap.maybe_settle() is True
    heap.release()


async def test_the_dashboard_freezes_its_heap_and_gives_it_back(
    tmp_path: Path, unfrozen: None
) -> None:
    ctx = make_context(tmp_path)
    ctx.settle_heap = True  # off for the other dashboard tests (a full collection each)
    app = make_app(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await eventually(pilot, lambda: app.heap.settled, "the settle after the first frame")
        assert gc.get_freeze_count() > 0
        before = app.heap.last_input
        await pilot.press("down")
        assert app.heap.last_input > before  # a key counts as input
    assert gc.get_freeze_count() == 0
