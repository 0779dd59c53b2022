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


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_the_filter_says_how_many_of_how_many(make_app, activepieces, ap_profile, size):
    """Item 16: "12 of 1500" while a filter narrows the list."""
    activepieces.validate_responses = False
    activepieces.seed_connections(1500)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("slash", *"connection 149")
        await pilot.pause()
        table = app.query_one("#plat-conns-table", VirtualTable)
        header = screen_text(app).split("\n")[table.region.y]
        assert header.rstrip().endswith("12 of 1500")


async def test_a_long_wait_shows_its_seconds_and_a_form_clears_old_toasts(make_app, activepieces, ap_profile):
    """Item 16: the spinner line counts seconds (it does not look frozen); toasts do not sit over a form."""
    import re

    activepieces.fault("/v1/app-connections", method="GET", delay=3.5, times=1)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(2.6)
        status = str(app.pane("platform").status.render())
        assert re.search(r"loading app connections… \ds  \(esc cancels\)", status), status
        await settle(pilot)
        app.notify("an old toast")
        await pilot.pause()
        assert app._notifications
        await pilot.press("u")
        await pilot.pause()
        assert not app._notifications


async def test_step_names_in_full_where_there_is_room(make_app, ctx, aws_conn_any):
    from aptui.services import incident

    inc = incident.start(ctx, aws_conn_any)
    for size, expected in (((80, 24), "·scop ·cont"), ((120, 40), "·scope ·contain ·flush ·recover ·verify")):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("6")
            await settle(pilot)
            assert expected in screen_text(app), (size, inc.id)


@pytest.fixture
def aws_conn_any(ctx):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="aws", name="prod-aws",
                      config={"accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "x" * 40,
                              "region": "us-east-1"})
    return "sm:prod-aws"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_platform_lists_use_the_room_at_120_columns(make_app, activepieces, ap_profile, size):
    """Item 16: at 120x40 pane 4 shows full connection, MCP server, run and flow ids (cut at 80)."""
    for _ in range(2):
        activepieces.add_run(status="FAILED")
    app = make_app()
    wide = size[0] >= 120
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        conns = app.query_one("#plat-conns-table", VirtualTable)
        header = conns.render_line(0).text.split()
        full = str(conns.current_key)
        assert header.count("id") == (2 if wide else 1) and (full in screen_text(app)) == wide, header
        assert "external" in header and "updated" in header  # nothing the 80-column view had is lost
        await pilot.press("m")
        await settle(pilot)
        mcp = app.query_one("#plat-mcp-table", VirtualTable)
        server_id = mcp.current_key.split(":", 1)[1]
        assert (server_id in screen_text(app)) == wide
        await pilot.press("f")
        await settle(pilot)
        runs = app.query_one("#plat-runs-table", VirtualTable)
        run = next(r for r in activepieces.runs if r["id"] == runs.current_key)
        text = screen_text(app)
        assert (run["id"] in text) == wide and (run["flowId"] in text) == wide
        for line in text.split("\n"):
            assert len(line) <= size[0]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_managers_show_the_connection_id_where_there_is_room(make_app, ctx, aws_conn_any, size):
    """Item 11/16: at 120 columns pane 1 shows each connection's id, the part a reference starts with."""
    from aptui.store import connections as store_conn

    conn_id = store_conn.by_name(ctx.store, "prod-aws").id
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        text = screen_text(app)
        assert "prod-aws" in text and (conn_id in text) == (size[0] >= 120), text
        assert all(len(line) <= size[0] for line in text.split("\n"))
