"""The console frame: first run, panes by number, help, palette, read-only, keymap, themes, errors."""

from __future__ import annotations

import asyncio

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, Static

from aptui.errors import AptuiError
from aptui.tui.commands import palette_commands
from aptui.tui.messages import JobFinished
from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.first_run import FirstRunScreen
from aptui.tui.screens.help import HelpScreen
from tests.tui.conftest import settle


def screen_text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


async def test_first_run_shows_the_real_path_home_as_tilde(make_app, aptui_home, monkeypatch):
    """Issue 18 item 16: the store's real path, the home directory abbreviated as ``~``."""
    monkeypatch.setenv("HOME", str(aptui_home.parent))
    app = make_app(show_first_run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "~/aptui-home/aptui.db" in text and "$APTUI_HOME" not in text


def footer_keys(app) -> set[str]:
    return {b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}


async def test_first_run_explains_what_aptui_needs_and_q_quits(make_app, aptui_home):
    app = make_app(show_first_run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        text = screen_text(app)
        from aptui.tui.screens.first_run import fit_path

        assert "$APTUI_HOME" not in text and fit_path(str(aptui_home / "aptui.db")) in text.replace("\n", "")
        assert "secret-manager connection" in text and "Activepieces profile" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, FirstRunScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_number_keys_switch_panes(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, pane_id in (("7", "audit"), ("3", "cache"), ("2", "refs"), ("1", "sm")):
            await pilot.press("escape", key)  # esc leaves a text input first
            await settle(pilot)
            assert pane_id == app.current_pane().PANE_ID
        labels = [f"{p.NUMBER} {p.TAB or p.TITLE}" for p in app.pane_classes]
        assert {"1 Managers", "2 References", "3 Cache", "4 Platform", "7 Audit"} <= set(labels)
        assert sum(len(label) + 2 for label in labels) <= 80  # every tab visible at 80 columns


async def test_help_lists_every_binding_of_the_pane(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in ("Secret managers pane", "a    Add", "d    Delete", "t    Test", "enter", "Details",
                         "Everywhere", "q", "Quit", "Commands", "Lists"):
            assert expected in text, expected
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_lists_noun_verb_commands_current_pane_first(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        names = [name for name, _, _ in palette_commands(app)]
        assert names[0].startswith("cache: ")
        for expected in ("secret manager: add", "secret manager: delete", "reference: test live", "cache: clear all",
                         "platform: rotate token", "platform: retry failed runs on the latest flow version",
                         "audit: filter", "go: audit", "app: quit"):
            assert expected in names, expected
        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"manager: add")
        from textual.command import CommandList

        for _ in range(50):  # the palette searches asynchronously
            await pilot.pause(0.1)
            results = app.screen.query_one(CommandList)
            if results.option_count and results.highlighted is not None:
                break
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)  # which provider?
        assert app.current_pane().PANE_ID == "sm"


async def test_read_only_hides_and_refuses_mutations(make_app, ctx):
    ctx.settings.read_only = True
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in app.sub_title
        keys = footer_keys(app)
        assert "Test" in keys and "Add" not in keys and "Delete" not in keys and "Edit" not in keys
        names = [name for name, _, _ in palette_commands(app)]
        assert "secret manager: test" in names
        assert not any(n in names for n in ("secret manager: add", "cache: clear", "platform: upsert",
                                             "platform: rotate token", "platform: retry"))
        await pilot.press("a", "d")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceModal)
        assert await app.run_action("add", app.pane("sm")) is False  # check_action says no
        app.pane("sm").action_add()  # and the action itself refuses when called directly
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceModal)
        assert app.errors[-1].code == "READ_ONLY"
        await pilot.press("3")
        await settle(pilot)
        assert "Clear" not in footer_keys(app)
        await pilot.press("question_mark")
        assert "Clear" not in screen_text(app)


async def test_keymap_rebinds_by_id_and_reports_unknown_ids(make_app, ctx):
    ctx.settings.keymap = {"sm.add": "ctrl+n", "nope.unknown": "f5"}
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.errors and app.errors[0].code == "CONFIG_INVALID" and "nope.unknown" in app.errors[0].message
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceModal)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)


async def test_high_contrast_theme_and_toggle(make_app):
    app = make_app(high_contrast=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "aptui-high-contrast"
        app.action_toggle_contrast()
        assert app.theme == "textual-dark"
        assert app.animation_level == "none"


async def test_no_color_keeps_meaning_in_shapes_and_words(make_app, ctx, monkeypatch):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config={
        "accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "s" * 40, "region": "us-east-1"}, tested_ok=True)
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault", config={
        "url": "http://127.0.0.1:1", "roleId": "r", "secretId": "s"})
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        svg = app.export_screenshot()
        assert "●&#160;ok" in svg or "● ok" in svg
        assert "○&#160;untested" in svg or "○ untested" in svg


async def test_errors_carry_the_code_and_never_a_secret(make_app):
    app = make_app()
    notes: list[tuple[str, str]] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append((kw.get("title", ""), message))  # type: ignore[method-assign]
        app.remember_secret("hunter2-very-secret")
        app.report_error(AptuiError("SECRET_MANAGER_GET_SECRET_FAILED", "[db:pw] got hunter2-very-secret back",
                                    hint="not hunter2-very-secret"))
        app.report_error(ValueError("password=hunter2-very-secret"))
        await pilot.pause()
    assert notes[0][0] == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert "hunter2-very-secret" not in notes[0][1] and "•••••• (16+ chars)" in notes[0][1]
    assert notes[1][0] == "INTERNAL" and "ValueError" in notes[1][1] and "hunter2" not in notes[1][1]
    assert all("Traceback" not in m for _, m in notes)


async def test_confirm_modal_y_n_esc_and_typed_name(make_app):
    app = make_app()
    results: list[bool] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for keys, expected in ((["y"], True), (["n"], False), (["escape"], False)):
            app.push_screen(ConfirmModal("Delete x?", "x · id1", "body"), results.append)
            await pilot.pause()
            await pilot.press(*keys)
            await pilot.pause()
            assert results[-1] is expected
        app.push_screen(ConfirmModal("Delete prod?", "prod-aws", "", typed_name="prod-aws"), results.append)
        await pilot.pause()
        await pilot.press("y", "enter")  # 'y' is typed into the box, not a confirmation
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and len(results) == 3
        app.screen.query_one(Input).value = "prod-aws"
        await pilot.press("enter")
        await pilot.pause()
        assert results[-1] is True


async def test_jobs_time_out_with_a_code_and_esc_cancels(make_app, ctx):
    import threading

    release = threading.Event()
    app = make_app()
    finished: list[JobFinished] = []

    def hang() -> None:
        release.wait(10)

    async def hang_async() -> None:
        await asyncio.sleep(10)

    try:
        async with app.run_test(size=(80, 24), message_hook=lambda m: isinstance(m, JobFinished)
                                and finished.append(m)) as pilot:
            await settle(pilot)
            pane = app.pane("sm")
            pane.run_job("slow thing", hang, timeout=0.2)
            await pilot.pause(0.05)
            assert "slow thing" in str(pane.status.render())  # the spinner line says what runs
            await settle(pilot)
            assert app.errors[-1].code == "TIMEOUT" and app.errors[-1].exit_code == 4
            pane.run_job("slow async thing", hang_async, timeout=30)
            await pilot.pause(0.05)
            await pilot.press("escape")
            await settle(pilot)
            outcomes = {(m.label, m.ok, m.code) for m in finished}
            assert {("slow thing", False, "TIMEOUT"), ("slow async thing", False, "CANCELLED")} <= outcomes
            assert "cancelled" in str(pane.status.render())
    finally:
        release.set()


@pytest.mark.parametrize("tmux", [False, True])
async def test_copy_uses_osc52_and_tmux_passthrough(make_app, monkeypatch, tmux):
    from aptui.masking import Secret
    from aptui.tui.widgets.secret import RevealableSecret

    monkeypatch.delenv("STY", raising=False)
    if tmux:
        monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    else:
        monkeypatch.delenv("TMUX", raising=False)
    app = make_app()
    writes: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app._driver.write = writes.append  # type: ignore[method-assign]
        widget = RevealableSecret(Secret("s3cr3t-value-42"), label="value")
        await app.screen.mount(widget)
        widget.focus()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "s3cr3t-value-42"
        assert "\x1b]52;c;czNjcjN0LXZhbHVlLTQy\x07" in writes
        wrapped = [w for w in writes if w.startswith("\x1bPtmux;")]
        assert bool(wrapped) is tmux
        if tmux:
            assert wrapped[0] == "\x1bPtmux;\x1b\x1b]52;c;czNjcjN0LXZhbHVlLTQy\x07\x1b\\"


async def test_revealed_value_remasks_by_itself_and_never_lands_in_a_screenshot(make_app, ctx, tmp_path):
    from aptui.masking import Secret
    from aptui.tui.widgets.secret import RevealableSecret

    app = make_app(screenshot_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        widget = RevealableSecret(Secret("s3cr3t-value-42"), label="value", reveal_seconds=0.3)
        await app.screen.mount(widget)
        widget.focus()
        await pilot.press("v")
        assert "s3cr3t-value-42" in app._secrets  # revealed (the 0.3 s may already be over on a busy box)
        for _ in range(50):  # the 0.3 s timer; generous for a loaded machine
            if not widget.revealed:
                break
            await pilot.pause(0.1)
        assert not widget.revealed and "s3cr3t-value-42" not in str(widget.render())
        widget.reveal_seconds = 30
        await pilot.press("v")
        await pilot.pause()
        assert widget.revealed and "s3cr3t-value-42" in str(widget.render())
        await pilot.press("f12")
        for _ in range(50):
            await pilot.pause(0.1)
            if list(tmp_path.glob("*.svg")):
                break
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1
        svg = shots[0].read_text()
        assert "s3cr3t" not in svg and "(8+&#160;chars)" in svg
        assert not widget.revealed


async def test_audit_log_newest_first_filter_and_hardening_findings(make_app, ctx, tmp_path):
    from aptui.tui.screens.details import DetailsModal
    from aptui.tui.screens.form import FormScreen
    from aptui.tui.widgets.vtable import VirtualTable

    for n in range(5):
        ctx.audit("sm.add", f"conn{n}", "ok", None)
    ctx.audit("cache.clear", "*", "ok", "3 entries")
    (tmp_path / ".env").write_text("AP_ENCRYPTION_KEY=" + "a" * 64 + "\nAP_JWT_SECRET=short\n")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        table = app.query_one("#audit-table", VirtualTable)
        assert [r.cells[3] for r in table.visible_rows()[:2]] == ["*", "conn4"]  # newest first
        await pilot.press("slash", *"conn3")
        assert table.shown == 1
        await pilot.press("escape", "escape", "h")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#f-directory", Input).value = str(tmp_path)
        await pilot.press("ctrl+s")
        await settle(pilot)
        findings = app.query_one("#hardening-table", VirtualTable)
        assert findings.total > 0
        ids = [r.cells[1] for r in findings._rows]
        assert any(i.startswith("env.encryption_key") or "encryption" in i for i in ids), ids
        assert "a" * 64 not in app.export_screenshot()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsModal)
        await pilot.press("escape", "l")
        await pilot.pause()
        assert app.pane("audit").view == "log"


async def test_an_audit_write_that_fails_is_reported_not_dropped(make_app, monkeypatch):
    app = make_app()

    def fail(*_args, **_kwargs):
        raise AptuiError("STORE_DISK_FULL", "the store's disk is full", exit_code=3, hint="free some space")

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(app.ctx, "audit", fail)
        app.audit_event("clipboard.copy", "value", "ok")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert [e.code for e in app.errors] == ["STORE_DISK_FULL"]
        assert "the store's disk is full" in app.errors[0].message


@pytest.mark.parametrize(("clipboard", "passthrough", "claimed"), [
    ("on", "off", "copied through tmux"), ("off", "on", "copied through tmux"), ("off", "off", "NOT copied")])
def test_copy_claims_only_what_tmux_lets_through(tmp_path, monkeypatch, clipboard, passthrough, claimed):
    """Issue 18 item 16: "copied" is not claimed when tmux's set-clipboard (and passthrough) are off."""
    import stat

    from aptui.tui.clipboard import delivery

    fake = tmp_path / "tmux"
    fake.write_text(f'#!/bin/sh\ncase "$3" in set-clipboard) echo {clipboard};; *) echo {passthrough};; esac\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "PATH": f"{tmp_path}:/usr/bin:/bin"}
    assert delivery(env).startswith(claimed) or claimed in delivery(env)
    assert "OSC 52" in delivery({"PATH": "/usr/bin"})
