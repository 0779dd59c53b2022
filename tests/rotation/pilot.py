"""Pilot helpers shared by the Rotation and Incident pane tests (no conftest import across dirs)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

FIXED_NOW = datetime(2026, 11, 26, 18, 0, 0, tzinfo=UTC)


async def settle(pilot) -> None:
    """Let every started job finish and the screen repaint (never while a modal waits for input)."""
    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(3):
        await pilot.pause()
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            continue
    await pilot.pause()


async def wait_for(pilot, predicate, timeout: float = 30.0) -> None:
    """Pause until ``predicate()`` is true (jobs that wait on a modal never 'complete')."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time; screen: " + type(pilot.app.screen).__name__)
        await pilot.pause(0.05)


def freeze(monkeypatch) -> datetime:
    """A fixed clock for stable snapshots (store stamps, ages, due dates, the audit actor)."""
    import aptui.clock
    import aptui.store.audit
    import aptui.store.incidents
    import aptui.tui.format

    iso = aptui.clock.iso(FIXED_NOW)
    monkeypatch.setattr(aptui.clock, "utc_now", lambda: FIXED_NOW)
    monkeypatch.setattr(aptui.tui.format, "utc_now", lambda: FIXED_NOW)
    monkeypatch.setattr(aptui.store.incidents, "utc_now_iso", lambda: iso)
    monkeypatch.setattr(aptui.store.audit, "os_actor", lambda: "ops@bastion")
    monkeypatch.setattr(aptui.store.incidents, "os_actor", lambda: "ops@bastion")
    monkeypatch.setattr(aptui.store.incidents, "new_id", lambda: "incFixed0000000000001")
    return FIXED_NOW
