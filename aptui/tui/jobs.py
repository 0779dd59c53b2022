"""Run service calls off the UI loop, with a timeout that always fires.

Async service functions run on ONE background event loop (a daemon thread) for the whole
session, so the platform client keeps its keep-alive connections between calls. Sync service
functions (store reads, cache clears) run each in a daemon thread. The UI side awaits a future
with ``asyncio.wait_for``: Esc (worker cancellation) and the timeout both return at once, and a
hung provider never blocks the UI nor the exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any

from aptui.errors import AptuiError, Exit, unreachable


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """The service loop's default executor (``asyncio.to_thread``): one daemon thread per call.

    A ThreadPoolExecutor's workers are joined when the interpreter exits, so a provider call hung
    in boto3 or hvac kept the process alive for its whole timeout after ``q`` (8.5 s measured).
    Daemon threads are dropped at exit, like the sync jobs' threads: a call cut short there is a
    dropped session, which rotations and incidents resume from their saved step."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # delivered to the awaiting side
                future.set_exception(exc)
            else:
                future.set_result(value)

        threading.Thread(target=run, name="aptui-io", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


class ServiceRunner:
    """The background loop for async services plus daemon threads for sync ones."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                loop.set_default_executor(_DaemonExecutor(max_workers=1))
                threading.Thread(target=loop.run_forever, name="aptui-services", daemon=True).start()
                self._loop = loop
            return self._loop

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        """Start ``fn``; a coroutine (or a sync function returning one) runs on the service loop."""
        if inspect.iscoroutinefunction(fn):
            return asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self.loop())
        future: concurrent.futures.Future = concurrent.futures.Future()

        def runner() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                value = fn(*args, **kwargs)
                if inspect.iscoroutine(value):
                    value = asyncio.run_coroutine_threadsafe(value, self.loop()).result()
            except BaseException as exc:  # delivered to the awaiting side
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_exception(exc)
            else:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_result(value)

        threading.Thread(target=runner, name=f"aptui-job:{getattr(fn, '__name__', 'call')}", daemon=True).start()
        return future

    async def call(self, fn: Callable[..., Any], *args: Any, timeout: float, label: str = "request",
                   **kwargs: Any) -> Any:
        """Await ``fn(*args, **kwargs)``; ``TIMEOUT`` (exit 4) after ``timeout`` seconds."""
        future = asyncio.wrap_future(self.submit(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise unreachable("TIMEOUT", f"{label} did not finish within {timeout:g}s",
                              hint="the remote is slow or unreachable; retry, or raise general.timeout") from None

    def close(self, ctx: Any = None, *, grace: float = 2.0) -> None:
        """Close the platform clients opened on the service loop, then stop it."""
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        platform = sys.modules.get("aptui.services.platform")
        if platform is not None and ctx is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(platform.aclose(ctx), loop).result(timeout=grace)
        loop.call_soon_threadsafe(loop.stop)


def describe(err: BaseException) -> AptuiError:
    """Any failure as an AptuiError; unexpected exceptions name only their type (no values)."""
    if isinstance(err, AptuiError):
        return err
    if isinstance(err, TimeoutError):
        return unreachable("TIMEOUT", "the operation timed out")
    return AptuiError("INTERNAL", f"unexpected {type(err).__name__}; rerun with APTUI_DEBUG=1 for details",
                      exit_code=Exit.FAILED)
