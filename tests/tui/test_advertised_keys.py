"""Issue 18 item 17: every key a screen advertises (its footer, and keys its text names: hint lines,
status lines, "press enter", "n opens one") does something on that screen.

"Something" is any change of what the terminal shows (text or style: a moved highlight counts), of
the screen stack, of the focus, or a notification. Each key is pressed on a fresh copy of the state
(modals are pushed again, panes re-shown), at 80x24.
"""

from __future__ import annotations

import pytest

from aptui.masking import Secret
from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.details import DetailsModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormField, FormScreen
from aptui.tui.screens.help import HelpScreen
from aptui.tui.screens.show_once import ShowOnceModal
from tests.tui.advertised import SIZE, count_jobs, footer_keys, keys_in_text, modal_text, press_and_check
from tests.tui.conftest import settle

__all__ = ["count_jobs"]  # the autouse fixture, imported to apply here

def modal_cases():
    return {
        "details": lambda: DetailsModal("details", [("name", "x"), ("id", "y")]),
        "confirm": lambda: ConfirmModal("Delete x?", "x · id", "body"),
        "confirm-typed": lambda: ConfirmModal("Delete prod?", "prod", "body", typed_name="prod"),
        "error": lambda: ErrorModal("Error", "VALIDATION", "bad input", hint="fix it"),
        "choice": lambda: ChoiceModal("Pick", [("a", "first"), ("b", "second")]),
        "show-once": lambda: ShowOnceModal("New token", Secret("tok-1234567890")),
        "form": lambda: FormScreen("Form", [FormField("a", "A", value="1"), FormField("b", "B", value="2")]),
        "help": lambda: HelpScreen("Cache", "about the pane", [("Everywhere", [("q", "Quit")])]),
    }


@pytest.mark.parametrize("name", list(modal_cases()))
async def test_every_key_a_modal_names_works(make_app, name):
    make = modal_cases()[name]
    app = make_app()
    problems: list[str] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        base = len(app.screen_stack)
        await app.push_screen(make())
        await pilot.pause()
        keys = keys_in_text(modal_text(app)) | footer_keys(app)  # the modal's own footer too
        assert keys, "no key named"
        for key in sorted(keys):
            while len(app.screen_stack) > base:
                app.pop_screen()
            await app.push_screen(make())
            await pilot.pause()
            await press_and_check(pilot, key, name, problems)
    assert not problems, "\n".join(problems)


async def test_every_key_the_welcome_screen_names_works(make_app):

    problems: list[str] = []
    app = make_app(show_first_run=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        from aptui.tui.screens.first_run import FirstRunScreen

        assert isinstance(app.screen, FirstRunScreen)
        keys = keys_in_text(modal_text(app))
        assert {"question_mark", "1", "7", "colon", "q", "enter", "escape"} <= keys, keys
        for key in sorted(keys - {"q"}):
            while len(app.screen_stack) > 1:
                app.pop_screen()
            await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
            await pilot.pause()
            await press_and_check(pilot, key, "welcome", problems)
        while len(app.screen_stack) > 1:
            app.pop_screen()
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        from aptui.tui.screens.help import HelpScreen

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        app.pop_screen()
        await settle(pilot)
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        await pilot.press("3")
        await settle(pilot)
        assert len(app.screen_stack) == 1 and app.current_pane().PANE_ID == "cache"
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause(0.2)
        assert not app.is_running
    assert not problems, "\n".join(problems)


async def test_the_reference_input_advertises_its_own_keys(make_app):
    """With the focus in pane 2's input the pane's letter keys belong to the input, so the footer
    names what works there: enter tests, esc hands the keys back to the pane."""
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.focused.id == "ref-input"
        assert {"enter", "escape"} <= footer_keys(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is app.pane("refs")
        assert "t" in footer_keys(app)  # the pane's keys are back in the footer
