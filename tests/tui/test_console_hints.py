"""Issue 18 item 12: in the console, hints name the console's keys and form fields, not CLI commands;
no confirmation for an action that cannot run; pane 4 without a profile says how to add one."""

from __future__ import annotations

import pytest

from aptui.tui.hints import for_console
from aptui.tui.screens.confirm import ConfirmModal
from tests.tui.conftest import settle
from tests.tui.hostile import screen_text


@pytest.mark.parametrize(("hint", "expected"), [
    ("rerun `aptui rotation rotate sm:x` to continue, or add --abort to undo",
     "x in pane 5 continues the rotation from this step; A in pane 5 aborts the stopped rotation"),
    ("nothing was saved; fix the connection or pass --no-test to save it",
     "nothing was saved; set 'Test the connection before saving' to no in the form"),
    ("add one: aptui profile add NAME --url https://ap.example.com", "n in pane 4 adds a profile"),
    ("after rotating it, record it: aptui rotation mark aws-secret:a/b", "m in pane 5 records the rotation"),
    ("the remote is slow or unreachable; retry, or raise general.timeout",
     "the remote is slow or unreachable; retry; raise general.timeout"),
])
def test_cli_hints_become_console_ways(hint, expected):
    assert for_console(hint) == expected


async def test_no_profile_no_confirmation_and_pane_4_says_how(make_app, ctx):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="aws", name="prod-aws",
                      config={"accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "x" * 40,
                              "region": "us-east-1"})
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        err = app.errors[-1]
        assert err.code == "PROFILE_MISSING" and err.hint == "n in pane 4 adds a profile"
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert "no Activepieces profile — n adds one" in text and "no app connections" not in text
        await pilot.press("n")
        await settle(pilot)
        from aptui.tui.screens.form import FormScreen

        assert isinstance(app.screen, FormScreen) and "profile" in app.screen.title_text
