"""Bounded async retries with exponential backoff and full jitter, plus per-call timeouts.

``max attempts = options.retries + 1``. The delay before retry ``n`` (0-based) is
``uniform(0, min(cap, base * 2**n))``, or longer when the server asked for a pause
(``Retry-After``); a server asking for more than ``max_server_delay`` (30 s) is not retried at all,
so a terminal never blocks on it. Tests make the backoff instant with
``ProviderOptions(extra={"backoff_base": 0})``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aptui.providers.base import ProviderOptions

T = TypeVar("T")

DEFAULT_BASE = 0.25
DEFAULT_CAP = 4.0
DEFAULT_MAX_SERVER_DELAY = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base: float = DEFAULT_BASE
    cap: float = DEFAULT_CAP
    max_server_delay: float = DEFAULT_MAX_SERVER_DELAY

    @classmethod
    def from_options(cls, options: ProviderOptions) -> RetryPolicy:
        extra = options.extra or {}
        return cls(
            attempts=max(1, int(options.retries) + 1),
            base=max(0.0, float(extra.get("backoff_base", DEFAULT_BASE))),
            cap=max(0.0, float(extra.get("backoff_cap", DEFAULT_CAP))),
            max_server_delay=max(0.0, float(extra.get("max_retry_after", DEFAULT_MAX_SERVER_DELAY))),
        )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * (2 ** attempt))
        return (rng or random).uniform(0.0, ceiling) if ceiling > 0 else 0.0


async def retry_async(
    op: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    retry_on_error: Callable[[BaseException], bool] = lambda exc: False,
    retry_on_result: Callable[[T], bool] = lambda result: False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    server_delay: Callable[[T], float | None] | None = None,
) -> T:
    """Run ``op`` until it succeeds, or the failure is not retryable, or attempts run out.

    A retryable *result* (e.g. an HTTP 503 response) is returned as it is after the last attempt;
    a retryable *exception* is re-raised after the last attempt. ``server_delay(result)`` is the
    pause the server asked for (``Retry-After``): the next attempt waits at least that long, and a
    pause above ``policy.max_server_delay`` returns the result at once instead.
    """
    attempt = 0
    while True:
        asked: float | None = None
        try:
            result = await op()
        except Exception as exc:
            if attempt + 1 >= policy.attempts or not retry_on_error(exc):
                raise
        else:
            if attempt + 1 >= policy.attempts or not retry_on_result(result):
                return result
            asked = server_delay(result) if server_delay is not None else None
            if asked is not None and asked > policy.max_server_delay:
                return result
        delay = policy.delay(attempt, rng)
        await sleep(delay if asked is None else max(delay, asked))
        attempt += 1


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` header (delta-seconds or an HTTP date) as seconds, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if seconds == seconds else None  # NaN: ignore


async def with_timeout(aw: Awaitable[T], seconds: float) -> T:
    """``asyncio.wait_for`` that raises the builtin ``TimeoutError`` (classified as a timeout)."""
    try:
        return await asyncio.wait_for(aw, timeout=seconds)
    except TimeoutError as exc:
        raise TimeoutError(f"timed out after {seconds:g}s") from exc


class LoopLock:
    """An ``asyncio.Lock`` that follows the running event loop (a client may outlive one loop)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._loop, self._lock = loop, asyncio.Lock()
        return self._lock
