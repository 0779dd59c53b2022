"""Helpers for the console tests: build the app on the test's store, settle workers, freeze time."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import pytest

FIXED_NOW = datetime(2026, 11, 26, 18, 0, 0, tzinfo=UTC)


async def settle(pilot) -> None:
    """Let every started job finish (or be cancelled), its callbacks run and the screen repaint.

    Polls with short fixed pauses instead of Pilot's CPU-idle detection, which waits up to a
    second whenever a test double's thread in this process is busy.
    """
    import asyncio

    from textual.worker import WorkerCancelled, WorkerFailed

    app = pilot.app
    quiet = 0
    for _ in range(400):
        await pilot.pause(0.01)
        if any(not w.is_finished for w in app.workers):
            quiet = 0
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await asyncio.wait_for(app.workers.wait_for_complete(), 60)
            continue
        quiet += 1
        if quiet >= 2:
            return


@pytest.fixture
def make_app(ctx):
    from aptui.tui.app import AptuiApp

    apps = []

    def make(**kwargs):
        kwargs.setdefault("show_first_run", False)
        app = AptuiApp(ctx, **kwargs)
        apps.append(app)
        return app

    yield make


class _FrozenTime:
    """``time`` for aptui.store.cache: a fixed wall clock, the real monotonic clock."""

    monotonic = staticmethod(time.monotonic)
    perf_counter = staticmethod(time.perf_counter)

    @staticmethod
    def time() -> float:
        return FIXED_NOW.timestamp()


@pytest.fixture
def frozen(monkeypatch):
    """Fixed clock (store timestamps, ages, cache ages) and a fixed audit actor: stable snapshots."""
    import aptui.clock
    import aptui.store.audit
    import aptui.store.cache
    import aptui.tui.format

    monkeypatch.setattr(aptui.clock, "utc_now", lambda: FIXED_NOW)
    monkeypatch.setattr(aptui.tui.format, "utc_now", lambda: FIXED_NOW)
    monkeypatch.setattr(aptui.store.audit, "os_actor", lambda: "ops@bastion")
    monkeypatch.setattr(aptui.store.cache, "time", _FrozenTime)
    return FIXED_NOW
