"""Start-up phase marks for ``benchmarks/startup.py``; nothing is recorded unless it asks.

With ``APTUI_STARTUP_TRACE`` naming a file, each :func:`mark` appends ``<phase> <monotonic>`` to it
at once (the benchmark stops the process as soon as it has what it measures). ``time.monotonic``
is the system-wide CLOCK_MONOTONIC on Linux, so the benchmark compares the marks with its own
clock. Phases: ``main`` (entry point reached), ``imports`` (console modules loaded), ``app``
(console built), ``frame`` (first frame written), ``data`` (first pane's data or the welcome screen).
"""

from __future__ import annotations

import os
import time

ENV = "APTUI_STARTUP_TRACE"
_seen: set[str] = set()


def mark(phase: str) -> None:
    """Record the first time ``phase`` is reached (later calls for the same phase are ignored)."""
    target = os.environ.get(ENV)
    if not target or phase in _seen:
        return
    _seen.add(phase)
    try:
        with open(target, "a", encoding="ascii") as fh:
            fh.write(f"{phase} {time.monotonic():.6f}\n")
    except OSError:
        pass  # a benchmark aid: never a reason to fail start-up
