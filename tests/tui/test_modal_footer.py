"""Issue 18: with a modal open, the footer names the modal's keys, not the pane's under it (which do
not work there), at 80x24."""

from __future__ import annotations

import pytest

from tests.tui.conftest import settle
from tests.tui.hostile import screen_text
from tests.tui.test_advertised_keys import SIZE, modal_cases


def shown(bindings) -> set[str]:
    return {a.binding.description for a in bindings.values() if a.binding.show and a.enabled and
            a.binding.description}


@pytest.mark.parametrize("name", list(modal_cases()))
async def test_a_modal_footer_names_the_modal_keys(make_app, name):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane_keys = shown(app.screen.active_bindings)
        await app.push_screen(modal_cases()[name]())
        await settle(pilot)
        modal_keys = shown(app.screen.active_bindings)
        own = {b.description for b in type(app.screen).BINDINGS if b.show and b.description} & modal_keys
        bottom = screen_text(app).split("\n")[SIZE[1] - 1]
        assert own, "the modal has no key of its own to show"
        for desc in own:
            assert desc in bottom, (desc, bottom)
        for desc in pane_keys - modal_keys:
            assert f" {desc}" not in bottom, (desc, bottom)


async def test_the_welcome_screen_keeps_the_header_with_its_own_footer(make_app, aptui_home, monkeypatch):
    monkeypatch.setenv("HOME", str(aptui_home.parent))  # a one-line store path (~/aptui-home/aptui.db)
    app = make_app(show_first_run=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = screen_text(app).split("\n")
        assert "aptui — v" in rows[0]  # the box fits between the header and the footer
        assert "Press enter or esc to continue." in "\n".join(rows) and "Continue" in rows[SIZE[1] - 1]
        assert " Add" not in rows[SIZE[1] - 1]  # not pane 1's keys


@pytest.mark.parametrize("name", ["confirm", "confirm-typed", "choice", "form"])
async def test_no_old_toast_sits_over_a_question(make_app, name):
    """QA: a "saved …" toast covered the delete dialog's buttons; a modal that asks clears them."""
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.notify("saved prod-aws (aws, PLATFORM); references to it: {{abc|ap_sep_v1|<path>}}")
        await pilot.pause()
        assert app._notifications
        await app.push_screen(modal_cases()[name]())
        await pilot.pause()
        assert not app._notifications and "saved prod-aws" not in screen_text(app)
