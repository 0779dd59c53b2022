"""Issue 18 layout items at 80x24 and 120x40: the last row of a list is visible after End (item 4)."""

from __future__ import annotations

import pytest

from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle
from tests.tui.hostile import screen_text

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_platform_end_shows_the_last_row_above_the_count_line(make_app, activepieces, ap_profile, size):
    activepieces.validate_responses = False
    activepieces.seed_connections(60)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = app.query_one("#plat-conns-table", VirtualTable)
        await pilot.press("end")
        await pilot.pause()
        assert table.current_key == "c" + "59".zfill(20)
        status = app.query_one("#plat-status", JobStatus)
        assert table.region.bottom <= status.region.y, (table.region, status.region)
        lines = screen_text(app).split("\n")
        row_y = table.region.y + 1 + table.cursor - int(table.scroll_offset.y)
        assert row_y < status.region.y and "bulk connection 59" in lines[row_y]
        assert "60 app connection(s)" in lines[status.region.y]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_no_list_runs_under_its_pane_status_line(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for pane in app.pane_classes:
            await pilot.press(pane.NUMBER)
            await settle(pilot)
            node = app.pane(pane.PANE_ID)
            status = node.status
            for table in node.query(VirtualTable):
                if table.display and table.region.height:
                    assert table.region.bottom <= status.region.y, (pane.PANE_ID, table.id)
