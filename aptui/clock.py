"""Time helpers: one place for "now", ISO-8601 formatting and ages."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


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
