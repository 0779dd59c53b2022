"""Issue 18 item 0: server text in every modal, notification and toast is sanitised.

A double whose names and error messages carry OSC 52, OSC 8, OSC 0 and CSI 2J; the test reads what
the terminal would receive of each screen (Textual's own sequences excepted) and finds no ESC, BEL
or C1 character in it.
"""

from __future__ import annotations

from rich.text import Text

from aptui.masking import Secret
from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.details import DetailsModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormField, FormScreen
from aptui.tui.screens.show_once import ShowOnceModal
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle
from tests.tui.hostile import HOSTILE, assert_clean, screen_text


async def test_every_modal_and_toast_shows_hostile_text_made_visible(make_app):
    app = make_app()
    modals = [
        DetailsModal(f"details {HOSTILE}", [("name", HOSTILE), (HOSTILE, Text(HOSTILE)), ("n", 3)]),
        ConfirmModal(f"Delete {HOSTILE}?", HOSTILE, f"body {HOSTILE}\nsecond line", typed_name=HOSTILE),
        ConfirmModal(f"Delete {HOSTILE}?", HOSTILE, HOSTILE),
        ErrorModal(HOSTILE, "VALIDATION", HOSTILE, hint=HOSTILE),
        ChoiceModal(HOSTILE, [("a", HOSTILE), ("b", "plain")]),
        ShowOnceModal(f"token for {HOSTILE}", Secret("tok-" + HOSTILE)),
        FormScreen(HOSTILE, [FormField("x", HOSTILE, HOSTILE, value=HOSTILE, note=HOSTILE),
                             FormField("y", "choice", choices=(HOSTILE, "b"))], about=HOSTILE),
    ]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        for modal in modals:
            await app.push_screen(modal)
            await pilot.pause()
            text = assert_clean(app)
            assert "\\x1b]52;c;" in text.replace("\n", ""), type(modal).__name__  # shown, not obeyed
            app.pop_screen()
            await pilot.pause()
        app.notify(HOSTILE, title=HOSTILE)
        app.notify(HOSTILE, markup=True)
        await pilot.pause(0.3)
        text = assert_clean(app)
        assert "\\x1b]0;pwned" in text.replace("\n", "")


async def test_revealed_value_and_typed_name_are_visible_forms(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        modal = ShowOnceModal("token", Secret(HOSTILE))
        await app.push_screen(modal)
        await pilot.press("v")  # revealed on purpose: still no raw escape
        await pilot.pause()
        assert_clean(app)
        app.pop_screen()
        confirm = ConfirmModal("Delete?", "x", typed_name="a\x1b[2Jb")
        await app.push_screen(confirm)
        assert confirm.typed_name == "a\\x1b[2Jb"  # what can be typed is what is shown


async def test_platform_pane_details_delete_and_errors_from_a_hostile_server(make_app, activepieces, ap_profile):
    activepieces.validate_responses = False
    activepieces.connections = []
    activepieces.add_connection(display_name=HOSTILE, piece_name=f"@evil/{HOSTILE}", external_id=HOSTILE)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = app.query_one("#plat-conns-table", VirtualTable)
        assert table.total == 1
        assert_clean(app)  # the list
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsModal)
        assert "\\x1b]52" in screen_text(app).replace("\n", "")
        assert_clean(app)
        await pilot.press("escape", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert_clean(app)
        await pilot.press("escape")
        await pilot.pause()
        activepieces.fault("/v1/app-connections", status=400, times=None,
                           body={"code": "VALIDATION", "params": {"message": HOSTILE}})
        await pilot.press("r")
        await settle(pilot)
        assert app.errors and "\x1b" in app.errors[-1].message  # the data is kept; only the screen is made safe
        assert_clean(app)
        activepieces.clear_faults()
