"""Run blocking or async service calls off the UI loop, with a timeout that always fires.

Each call runs in its own daemon thread (a hung provider never blocks the UI nor the exit);
a coroutine result is driven by a private event loop in that thread. The UI side awaits a
future with ``asyncio.wait_for``, so Esc (worker cancellation) and the timeout both return at once.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from aptui.errors import AptuiError, Exit, unreachable


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict, timeout: float) -> Any:
    result = fn(*args, **kwargs)
    if inspect.iscoroutine(result):
        return asyncio.run(asyncio.wait_for(result, timeout))
    return result


async def run_blocking(fn: Callable[..., Any], *args: Any, timeout: float, label: str = "request",
                       **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a daemon thread; raises ``TIMEOUT`` (exit 4) after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def runner() -> None:
        try:
            value, ok = _call(fn, args, kwargs, timeout), True
        except BaseException as exc:  # delivered to the awaiting side
            value, ok = exc, False
        try:
            loop.call_soon_threadsafe(deliver, ok, value)
        except RuntimeError:  # the UI loop is gone (app quit): nobody is waiting
            pass

    threading.Thread(target=runner, name=f"aptui-job:{label}", daemon=True).start()
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise unreachable("TIMEOUT", f"{label} did not finish within {timeout:g}s",
                          hint="the remote is slow or unreachable; try again or raise general.timeout") from None


def describe(err: BaseException) -> AptuiError:
    """Any failure as an AptuiError; unexpected exceptions name only their type (no values)."""
    if isinstance(err, AptuiError):
        return err
    if isinstance(err, TimeoutError):
        return unreachable("TIMEOUT", "the operation timed out")
    return AptuiError("INTERNAL", f"unexpected {type(err).__name__}; see the log with APTUI_DEBUG=1",
                      exit_code=Exit.FAILED)
