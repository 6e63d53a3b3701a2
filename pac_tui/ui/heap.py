"""Keep the garbage collector's full collections short in a dashboard that stays open all day.

CPython's generation-2 collection walks every tracked object the process holds. The dashboard at
1,000 repositories holds about 160,000 (modules, Textual's DOM and caches, the configuration, the
token store), so a full collection, which comes every few dozen key presses while the table pages
through rows it has not drawn before, stopped the event loop for 60-140 ms: the tail of key press
→ frame (bench/RESULTS.md, issue 15). Objects that live as long as the app are moved out of the
collector's sight with `gc.freeze()`; a full collection then walks only what came after.

Frozen objects are still freed by reference counting; only garbage in reference cycles among them
would stay. So every `every` seconds, once no key or click came for `idle` seconds, the heap is
unfrozen, collected once and frozen again, at a moment nobody waits for a frame. The app gives
the heap back (`release`) when it stops, so a process that runs several apps (the tests) keeps
collecting normally.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

__all__ = ["HeapSettler"]


class HeapSettler:
    def __init__(
        self,
        every: float = 300.0,
        idle: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = every
        self.idle = idle
        self._monotonic = monotonic
        self._settled_at: float | None = None
        self._input_at = monotonic()

    @property
    def settled(self) -> bool:
        return self._settled_at is not None

    @property
    def last_input(self) -> float:
        return self._input_at

    def freeze(self) -> None:
        """Freeze what exists now, without a collection (cheap: for before the first frame)."""
        gc.freeze()

    def settle(self) -> None:
        """Collect what the unfrozen part holds as garbage, then freeze the rest."""
        gc.collect()
        gc.freeze()
        self._settled_at = self._monotonic()

    def input(self) -> None:
        """A key or a click came: someone may be waiting for the next frame."""
        self._input_at = self._monotonic()

    def maybe_settle(self) -> bool:
        """Unfreeze, collect and freeze again when it is due and nobody is typing."""
        now = self._monotonic()
        due = self._settled_at is None or now - self._settled_at >= self.every
        if not due or now - self._input_at < self.idle:
            return False
        gc.unfreeze()
        self.settle()
        return True

    def release(self) -> None:
        """Give every frozen object back to the collector."""
        gc.unfreeze()
        self._settled_at = None
