"""The console frame: opens at 80x24 on a fresh store, explains the first run, help on ?, quits on q."""

from __future__ import annotations


async def test_opens_at_80x24_first_run_help_and_quit(ctx):
    from aptui.tui.app import AptuiApp

    app = AptuiApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen_text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "secret-manager connection" in screen_text
        assert "Activepieces profile" in screen_text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Help" in type(app.screen).__name__
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert not app.is_running
