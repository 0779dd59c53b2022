"""QA: keys lost or reordered in bursts. Over SSH several keys arrive in one read; Textual then
hands them all out before the first one's binding runs. These send each burst the way the driver
does (every key posted at once, nothing awaited in between) and check the keys land in the order
typed: a form opened by the burst's first key gets the rest, backspace and ctrl+u apply where they
were typed, tab moves the text after it to the next field."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from aptui.tui.screens.form import FormScreen
from tests.tui.conftest import settle

NAMES = {"/": "slash", ":": "colon", ".": "full_stop", "-": "minus", " ": "space"}


def burst(app, *keys: str) -> None:
    """Post keys as one read from the terminal delivers them: single characters are typed text."""
    for k in keys:
        if len(k) == 1:
            app.post_message(events.Key(NAMES.get(k, k), k))
        else:
            app.post_message(events.Key(k, None))


def typed(text: str) -> list[str]:
    return list(text)


async def test_a_form_opened_by_a_burst_gets_the_rest_of_it(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        burst(app, "h", "ctrl+u", *typed("/srv/ap"), "tab", *typed("https://ap.example.org"))
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert [w.value for w in form.query(Input)][:2] == ["/srv/ap", "https://ap.example.org"]


async def test_backspace_and_ctrl_u_apply_where_they_were_typed(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        box = app.query_one("#ref-input", Input)
        burst(app, *typed("abc"), "backspace", "d", "ctrl+u", *typed("{{x"), "backspace", "y")
        await settle(pilot)
        assert box.value == "{{y"


async def test_a_choice_opened_by_a_burst_takes_the_keys_after_it(make_app, ctx):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, "a", "down", "enter")  # pane 1: new connection, the second provider
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and "Hashicorp Vault" in form.title_text
        burst(app, *typed("vault-pay"), "backspace", "y")
        await settle(pilot)
        assert form.query_one("#f-name", Input).value == "vault-pay"


async def test_a_y_typed_before_a_confirmation_showed_does_not_answer_it(make_app, ctx):
    """Type-ahead may fill a form, never answer a question not yet on screen: `d y` in one burst
    opens the delete confirmation and leaves it open."""
    from aptui.store import connections as store_conn
    from aptui.tui.screens.confirm import ConfirmModal

    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conj", scope="PROJECT", project_ids=["prj1"],
                      config={"organizationAccountName": "a", "loginId": "host/x", "url": "https://c", "apiKey": "k"})
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, "d", "y")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and not app.screen.typed_name
        assert len(store_conn.list_all(ctx.store)) == 1
        await pilot.press("y")
        await settle(pilot)
        assert store_conn.list_all(ctx.store) == []
