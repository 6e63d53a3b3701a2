"""Callbacks into the webhook pipeline's users, which may be plain functions or coroutines."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

MaybeAwaitable = Awaitable[None] | None


async def run_callback(callback: Callable[..., MaybeAwaitable], *args: object) -> None:
    """Call `callback(*args)` and, when it returns an awaitable (a coroutine function's call),
    await it: the dashboard hands plain functions, tests and services coroutines."""
    result = callback(*args)
    if inspect.isawaitable(result):
        await result
