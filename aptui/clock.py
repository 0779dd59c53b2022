"""Time helpers: one place for "now", ISO-8601 formatting and ages.

"Now" is injectable: ``set_clock(fn)`` in-process (tests), or ``APTUI_CLOCK_OFFSET`` (a duration
such as ``30d`` or ``-2h``) to look at due dates as of another day, e.g. ``APTUI_CLOCK_OFFSET=30d
aptui rotation list`` shows what will be overdue in a month. Tests use these instead of sleeping.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_CLOCK: Callable[[], datetime] | None = None


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Make ``utc_now()`` answer ``fn()`` (None restores the wall clock)."""
    global _CLOCK
    _CLOCK = fn


def _offset() -> float:
    text = os.environ.get("APTUI_CLOCK_OFFSET", "").strip()
    if not text:
        return 0.0
    from aptui.config import parse_duration

    sign = -1.0 if text.startswith("-") else 1.0
    return sign * parse_duration(text.lstrip("+-"))


def utc_now() -> datetime:
    now = _CLOCK() if _CLOCK is not None else datetime.now(UTC)
    offset = _offset()
    return now + timedelta(seconds=offset) if offset else now


def utc_now_iso() -> str:
    """``2026-11-26T18:24:40.123Z``, the format Activepieces uses."""
    return iso(utc_now())


def iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (with ``Z`` or an offset); naive values are taken as UTC."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def epoch() -> float:
    return time.time()


def human_age(seconds: float) -> str:
    """``42s``, ``5m``, ``3h``, ``12d`` (negative ages read as ``in 5m``)."""
    if seconds < 0:
        return "in " + human_age(-seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
