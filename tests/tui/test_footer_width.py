"""Issue 18 item 16: at 80x24 no pane's footer is cut off mid-key; the keys that do not fit are left
out (they stay in ``?`` help), help and quit always shown."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from tests.tui.conftest import settle
from tests.tui.hostile import screen_text

SIZE = (80, 24)


@pytest.mark.parametrize("seeded", [False, True], ids=["empty", "seeded"])
async def test_every_pane_footer_fits_80_columns(make_app, ctx, request, seeded):
    if seeded:
        from aptui.services import incident
        from tests.incident import scenario

        scenario.build(ctx, request.getfixturevalue("moto_aws"), request.getfixturevalue("activepieces"),
                       request.getfixturevalue("tmp_path"))
        incident.start(ctx, "sm:prod-aws")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for pane_cls in app.pane_classes:
            app.action_show_pane(pane_cls.PANE_ID)
            await settle(pilot)
            if pane_cls.PANE_ID == "refs":
                app.pane("refs").focus()
                await settle(pilot)
            for _ in range(40):  # the footer recomposes for the new pane (slower on a loaded machine)
                keys = list(app.screen.query(FooterKey))
                if keys:
                    break
                await pilot.pause(0.05)
            await settle(pilot)
            bottom = screen_text(app).split("\n")[SIZE[1] - 1]
            keys = list(app.screen.query(FooterKey))
            shown = [f"{k.key_display} {k.description}" for k in keys]
            for text in shown:
                assert text in bottom, (pane_cls.PANE_ID, text, bottom)
            assert {"? Help", "q Quit"} <= set(shown), (pane_cls.PANE_ID, shown)
            assert max(k.region.right for k in keys) <= SIZE[0], pane_cls.PANE_ID


async def test_the_footer_shows_more_keys_when_wider(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        narrow = len(app.screen.query(FooterKey))
        await pilot.resize_terminal(160, 40)
        await settle(pilot)
        await pilot.pause(0.1)
        assert len(app.screen.query(FooterKey)) > narrow
        assert ": Commands" in screen_text(app).split("\n")[39]


async def test_the_migrate_screen_footer_fits_80_columns(make_app):
    """QA: the migrate screen's footer ended in a cut "? H"."""
    from aptui.tui.screens.migrate import MigrateScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "escape", "m")
        await settle(pilot)
        assert isinstance(app.screen, MigrateScreen)
        await pilot.pause(0.1)
        bottom = screen_text(app).split("\n")[SIZE[1] - 1]
        keys = list(app.screen.query(FooterKey))
        shown = [f"{k.key_display} {k.description}" for k in keys]
        assert {"? Help", "q Quit"} <= set(shown), shown
        for text in shown:
            assert text in bottom, (text, bottom)
        assert max(k.region.right for k in keys) <= SIZE[0]
