"""Issue 18 item 13, read-only: a refused key gives a one-line notice; status lines and help follow
the live bindings; reveal is off (read-only is meant for an audience)."""

from __future__ import annotations

from aptui.tui.widgets.secret import RevealableSecret
from tests.tui.conftest import settle
from tests.tui.hostile import screen_text
from tests.tui.test_pane_references import CONN, TOKEN, aws_conn, resolve_in_pane_2, type_ref  # noqa: F401  (fixture)


async def test_a_refused_key_says_so_in_one_line(make_app, ctx):
    ctx.settings.read_only = True
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert [e.code for e in app.errors] == ["READ_ONLY"]
        assert "\n" not in app.errors[-1].message and "a (add)" in app.errors[-1].message
        assert "press a" not in screen_text(app)  # the empty list no longer offers what is refused
        await pilot.press("6")
        await settle(pilot)
        status = app.pane("incident").status.render()
        assert "n new" not in str(status) and "e export" in str(status)
        await pilot.press("question_mark")
        await settle(pilot)
        help_text = screen_text(app)
        assert "Export" in help_text and "New" not in help_text


async def test_reveal_is_off_in_read_only(make_app, ctx, aws_conn):  # noqa: F811
    ctx.settings.read_only = True
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await resolve_in_pane_2(pilot, app)
        widget = app.query_one("#ref-value", RevealableSecret)
        assert widget.secret is not None and "v reveal" not in str(widget.render())
        await pilot.press("escape", "v")
        await settle(pilot)
        assert app.errors[-1].code == "READ_ONLY" and not widget.revealed
        widget.focus()
        await pilot.press("v")
        await settle(pilot)
        assert not widget.revealed and TOKEN not in screen_text(app)
