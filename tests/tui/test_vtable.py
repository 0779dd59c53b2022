"""The virtual table: filtering 10,000+ rows, cursor, paging, append, rendering only what shows."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import App

from aptui.tui.widgets.vtable import Column, Row, VirtualTable


class Host(App):
    def __init__(self, rows):
        super().__init__()
        self.rows = rows
        self.selected = []

    def compose(self):
        yield VirtualTable([Column("id", 8), Column("name"), "state"], id="t")

    def on_mount(self):
        t = self.query_one(VirtualTable)
        t.set_rows(self.rows)
        t.focus()

    def on_virtual_table_selected(self, event):
        self.selected.append(event.row.key)


def rows(n):
    return [Row(i, (f"r{i}", f"connection-{i}", Text("● ok") if i % 2 else "✗ failed")) for i in range(n)]


async def test_filter_10k_rows_is_fast_and_exact():
    app = Host(rows(10_000))
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(VirtualTable)
        assert t.total == 10_000 and t.shown == 10_000
        start = time.perf_counter()
        t.set_filter("connection-99")
        elapsed = time.perf_counter() - start
        assert {r.key for r in t._rows if "connection-99" in r.cells[1]} == {t._rows[i].key for i in t._view}
        assert t.shown == 111  # 99, 990-999, 9900-9999
        assert elapsed < 0.25
        t.set_filter("CONNECTION-99 ok")  # words AND-ed, case-insensitive
        assert all(t._rows[i].key % 2 == 1 for i in t._view) and t.shown == 56
        t.set_filter("")
        assert t.shown == 10_000
        await pilot.pause()
        # only the visible lines are rendered: 23 rows under the header at 80x24
        assert len(t.visible_rows()) == 23


async def test_cursor_paging_and_enter():
    app = Host(rows(500))
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(VirtualTable)
        await pilot.press("down", "down", "j")
        assert t.cursor == 3
        await pilot.press("pagedown")
        assert t.cursor == 3 + 22
        await pilot.press("end")
        assert t.current_key == 499
        assert t.visible_rows()[-1].key == 499
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.selected == [0]


async def test_filter_keeps_the_cursor_row_and_clamps():
    app = Host(rows(100))
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(VirtualTable)
        t.move_to_key(42)
        t.set_filter("connection-4")
        assert t.current_key == 42
        t.set_filter("nothing matches this")
        assert t.current_row is None and t.shown == 0
        await pilot.press("down", "enter")  # no crash on an empty view
        assert app.selected == []
        await pilot.pause()
        from tests.tui.hostile import screen_text

        text = screen_text(app)
        assert "no match for 'nothing matches this' among 100" in text
        assert t.empty_text not in text  # not the empty list's own text ("no connections yet — press a")
        t.set_filter("")
        t.set_rows([])
        assert t.shown_empty_text() == t.empty_text


async def test_append_rows_while_loading():
    app = Host([])
    async with app.run_test(size=(80, 24)):
        t = app.query_one(VirtualTable)
        t.set_filter("-7")
        for start in range(0, 3000, 1000):
            t.append_rows(Row(i, (f"r{i}", f"c-{i}", "ok")) for i in range(start, start + 1000))
        assert t.total == 3000
        assert t.shown == len([i for i in range(3000) if "-7" in f"c-{i}"])


class Capped(App):
    def compose(self):
        yield VirtualTable([Column("id", max_width=6), Column("state", 5), Column("when", max_width=11)], id="t")

    def on_mount(self):
        self.query_one(VirtualTable).set_rows([Row(1, ("incFixed0000000000001", "open", "11-26 18:00"))])


async def test_spare_room_shows_capped_columns_in_full_last_column_first():
    for width, expected in ((24, [6, 5, 10]), (25, [6, 5, 11]), (31, [12, 5, 11]), (60, [21, 5, 31])):
        app = Capped()
        async with app.run_test(size=(width, 5)) as pilot:
            await pilot.pause()
            t = app.query_one(VirtualTable)
            assert t._layout_widths(t.shown_columns()) == expected, width


class Wide(App):
    def compose(self):
        yield VirtualTable([Column("name", max_width=10), Column("id", 21, wide=100), Column("state")], id="t")

    def on_mount(self):
        self.query_one(VirtualTable).set_rows([Row(1, ("slack", "conn1234567890abcdefg", "ACTIVE"))])


async def test_a_wide_column_is_drawn_only_where_the_table_has_the_room():
    for width, shown in ((80, [0, 2]), (99, [0, 2]), (100, [0, 1, 2]), (120, [0, 1, 2])):
        app = Wide()
        async with app.run_test(size=(width, 5)) as pilot:
            await pilot.pause()
            t = app.query_one(VirtualTable)
            assert t.shown_columns() == shown, width
            header, first = (t.render_line(y).text for y in (0, 1))
            assert ("id" in header.split()) == (1 in shown) and ("conn1234567890abcdefg" in first) == (1 in shown)
            assert len(first) == width and first.split()[-1] == "ACTIVE"
            t.set_filter("conn1234")  # the filter matches hidden columns too
            assert t.shown == 1


class Keys(App):
    def compose(self):
        yield VirtualTable(["name"], id="t")

    def on_mount(self):
        self.query_one(VirtualTable).set_rows([Row(k, (k,)) for k in "abcdef"])


async def test_the_cursor_stays_in_place_when_its_row_goes_away():
    """Issue 18 item 9: the cursor follows its item; when a refresh drops the item the cursor keeps
    its place (the row that took it) rather than jumping to the top; a new list starts at the top."""
    app = Keys()
    async with app.run_test(size=(40, 10)) as pilot:
        t = app.query_one(VirtualTable)
        t.move_to_key("d")
        await pilot.pause()
        t.set_rows([Row(k, (k,)) for k in "fedcba"])  # re-sorted: the cursor follows d
        assert t.current_key == "d" and t.cursor == 2
        t.set_rows([Row(k, (k,)) for k in "fecba"])  # d went away: the row now in its place
        assert t.current_key == "c" and t.cursor == 2
        t.move_to_key("a")
        t.set_rows([Row(k, (k,)) for k in "fec"])  # past the end: the last row
        assert t.current_key == "c"
        t.set_rows([Row(k, (k,)) for k in "xyz"])  # a different list altogether: the top
        assert t.current_key == "x"
        t.set_filter("zzz")
        assert t.current_row is None
