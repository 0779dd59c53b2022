"""Every way the console can save a screenshot masks first: f12, the palette, Textual's own route.

A live reference (moto) is resolved in pane 2 and revealed, so the secret is on the screen; each
route must then write an SVG without it, mode 0600, under aptui's data directory, with an audit
entry, and nothing anywhere else (Textual's default is ~/Downloads, 0644, unmasked).
"""

from __future__ import annotations

import stat

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from aptui.store import audit
from aptui.tui.widgets.secret import RevealableSecret
from tests.tui import conftest as console_fixtures
from tests.tui.conftest import settle

make_app = console_fixtures.make_app  # the console tests' fixture, here too

CONN = "awsConn00000000000007"
CANARY = "xoxb-canary-screenshot-5f1e2d3c4b"


async def _by_f12(pilot, app) -> None:
    await pilot.press("f12")


async def _by_palette(pilot, app) -> None:
    await pilot.press("colon")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    app.screen.query_one(Input).value = "screenshot"
    await pilot.pause(0.3)  # the palette searches in a worker
    await settle(pilot)
    await pilot.press("enter")


async def _by_textual_route(pilot, app) -> None:
    app.deliver_screenshot()  # what Textual's own command and TEXTUAL_SCREENSHOT call


@pytest.mark.parametrize("route", [_by_f12, _by_palette, _by_textual_route], ids=["f12", "palette", "textual"])
async def test_a_revealed_secret_never_reaches_a_saved_screenshot(route, make_app, ctx, moto_aws, tmp_path,
                                                                   monkeypatch):
    from aptui.store import connections as store_conn

    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    moto_aws.create_secret("prod/api-keys", {"slack_token": CANARY})
    store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config=moto_aws.config(), connection_id=CONN)
    ctx.settings.reveal_seconds = 60
    shots = ctx.paths.data_dir / "screenshots"
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        app.query_one("#ref-input", Input).value = "{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        widget = app.query_one("#ref-value", RevealableSecret)
        await pilot.press("escape", "v")  # the focus stays in the input after a test: esc leaves it
        await pilot.pause()
        assert widget.revealed and CANARY in app.export_screenshot()  # the secret is on the screen
        await route(pilot, app)
        for _ in range(100):
            await pilot.pause(0.05)
            if list(shots.glob("*.svg")):
                break
        await settle(pilot)
        saved = list(shots.glob("*.svg"))
        assert len(saved) == 1, saved
        svg = saved[0].read_text()
        assert CANARY not in svg and "xoxb-canary" not in svg
        assert "•" in svg  # the masked value is what was saved
        assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
        assert stat.S_IMODE(shots.stat().st_mode) == 0o700
        assert not widget.revealed
    entries = [e for e in audit.recent(ctx.store, limit=50) if e["action"] == "screenshot.save"]
    assert [(e["target"], e["outcome"]) for e in entries] == [(str(saved[0]), "ok")]  # the real path
    others = [p for p in (*home.rglob("*.svg"), *tmp_path.glob("*.svg"))]
    assert others == []


async def test_the_palette_offers_one_screenshot_command_and_it_masks(make_app):
    """The review of Textual's system commands (docs/tui.md): Quit and Screenshot are aptui's own."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in system and "Quit" not in system
        assert {"Theme", "Keys"} <= set(system)
        from aptui.tui.commands import palette_commands

        ours = [name for name, _, _ in palette_commands(app) if "screenshot" in name]
        assert ours == ["app: screenshot (secrets masked)"]


async def test_a_screenshot_that_cannot_be_written_is_an_error_and_audited(make_app, ctx, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    app = make_app(screenshot_dir=blocked)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
        assert app.errors[-1].code == "SCREENSHOT_FAILED"
    entries = [e for e in audit.recent(ctx.store, limit=20) if e["action"] == "screenshot.save"]
    assert [e["outcome"] for e in entries] == ["failed"]


async def test_a_known_secret_outside_a_masked_widget_refuses_the_screenshot(make_app, ctx, tmp_path):
    from textual.widgets import Static

    shots = tmp_path / "shots"
    app = make_app(screenshot_dir=shots)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.remember_secret(CANARY)
        await app.screen.mount(Static(CANARY))  # e.g. a widget that forgot to mask it
        await pilot.press("f12")
        await settle(pilot)
        assert app.errors[-1].code == "SCREENSHOT_REFUSED"
        assert not shots.exists()
    entries = [e for e in audit.recent(ctx.store, limit=20) if e["action"] == "screenshot.save"]
    assert [e["outcome"] for e in entries] == ["refused"]
