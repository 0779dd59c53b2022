"""Keystroke-to-repaint latency while filtering 10,000 rows (target < 50 ms per keystroke).

Drives the real console (Audit pane, 10,000 audit entries in a temporary store) headless at
80x24. Each key event is handed to the driver as a terminal would; the clock stops at the first
screen update after the filter has run, once the compositor's update has been serialised to
terminal output (only the final write to a tty is skipped). Pilot's own idle waits are not timed.
Baseline in the same run: a plain DataTable refilled with the matching rows on every keystroke
(what a naive pane would do).

    python benchmarks/filter_latency.py [--rows 10000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUERY = "conn-12"  # typed one key at a time, then erased with backspace


def seed_audit(ctx, rows: int) -> None:
    from aptui.clock import utc_now_iso

    now = utc_now_iso()
    with ctx.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO audit_log (at, actor, action, target, outcome, detail) VALUES (?,?,?,?,?,?)",
            [(now, "ops@bastion", ("sm.test", "ref.test", "cache.clear")[i % 3], f"conn-{i}",
              "ok" if i % 7 else "failed", f"entry {i}") for i in range(rows)])


def spy_display(app, stamps: list[float]) -> None:
    from textual._compositor import CompositorUpdate

    original = app._display

    def display(screen, renderable) -> None:
        if renderable is not None:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            stamps.append(time.perf_counter())
        original(screen, renderable)

    app._display = display


async def type_and_time(app, pilot, stamps: list[float], applied: list[float]) -> list[float]:
    """Send each key straight to the driver, stop the clock at the first paint after the filter ran."""
    from textual import events

    keys = list(QUERY) + ["\b"] * len(QUERY)
    out = []
    for ch in keys:
        key = "backspace" if ch == "\b" else ("minus" if ch == "-" else ch)
        stamps.clear()
        applied.clear()
        start = time.perf_counter()
        app._driver.send_message(events.Key(key, None if ch == "\b" else ch))
        deadline = start + 10
        while not (applied and stamps and stamps[-1] > applied[-1]) and time.perf_counter() < deadline:
            await asyncio.sleep(0.0002)
        out.append(stamps[-1] - start)
        await pilot.pause()
    return out


async def measure_aptui(rows: int) -> list[float]:
    from aptui.services.context import Context
    from aptui.tui.app import AptuiApp
    from aptui.tui.widgets.vtable import VirtualTable

    ctx = Context()
    seed_audit(ctx, rows)
    app = AptuiApp(ctx, show_first_run=False)
    stamps: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one("#audit-table", VirtualTable)
        assert table.total == rows, table.total
        await pilot.press("slash")
        await pilot.pause()
        applied: list[float] = []
        original = table.set_filter

        def set_filter(text: str) -> None:
            original(text)
            applied.append(time.perf_counter())

        table.set_filter = set_filter
        spy_display(app, stamps)
        times = await type_and_time(app, pilot, stamps, applied)
    ctx.close()
    return times


async def measure_datatable(rows: int) -> list[float]:
    from textual.app import App
    from textual.widgets import DataTable, Input

    data = [(f"2026-11-26 18:00:{i % 60:02d}", "ops@bastion", ("sm.test", "ref.test", "cache.clear")[i % 3],
             f"conn-{i}", "ok" if i % 7 else "failed", f"entry {i}") for i in range(rows)]
    hay = [" ".join(r).lower() for r in data]

    class Naive(App):
        def compose(self):
            yield Input(id="f")
            yield DataTable(id="t")

        def on_mount(self) -> None:
            t = self.query_one(DataTable)
            t.add_columns("at", "actor", "action", "target", "outcome", "detail")
            t.add_rows(data)

        def on_input_changed(self, event: Input.Changed) -> None:
            t = self.query_one(DataTable)
            t.clear()
            q = event.value.lower()
            t.add_rows([data[i] for i, h in enumerate(hay) if q in h])
            applied.append(time.perf_counter())

    applied: list[float] = []
    app = Naive()
    stamps: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.query_one(Input).focus()
        spy_display(app, stamps)
        return await type_and_time(app, pilot, stamps, applied)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": statistics.median(times) * 1000, "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
            "max_ms": max(times) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ["APTUI_HOME"] = tempfile.mkdtemp(prefix="aptui-filter-")
    os.environ.pop("NO_COLOR", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    aptui = summary(asyncio.run(measure_aptui(args.rows)))
    naive = summary(asyncio.run(measure_datatable(args.rows)))
    result = {"rows": args.rows, "keystrokes": 2 * len(QUERY), "aptui_virtual_table": aptui,
              "baseline_datatable_refill": naive,
              "ratio_median": aptui["median_ms"] / naive["median_ms"]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, s in (("aptui VirtualTable", aptui), ("DataTable refill", naive)):
            print(f"{name:20} median {s['median_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f} ms  max {s['max_ms']:6.1f} ms")
        verdict = "met" if aptui["p95_ms"] < 50 else "NOT met"
        print(f"ratio (median)       {result['ratio_median']:.3f}x   target p95 < 50 ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
