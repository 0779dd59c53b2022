"""Pane 2 against moto: live offline validation while typing, live test masked, reveal, copy, JSON file."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Static

from aptui.tui.screens.form import FormScreen
from aptui.tui.widgets.secret import RevealableSecret
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle

CONN = "awsConn00000000000001"
TOKEN = "xoxb-test-token-0123456789"


@pytest.fixture
def aws_conn(ctx, moto_aws):
    from aptui.store import connections as store_conn

    moto_aws.create_secret("prod/api-keys", {"slack_token": TOKEN})
    store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config=moto_aws.config(), connection_id=CONN)
    return CONN


def verdict(app) -> str:
    return str(app.query_one("#ref-verdict", Static).render())


async def type_ref(pilot, app, text: str) -> None:
    box = app.query_one("#ref-input", Input)
    box.focus()
    box.value = text[:-4]
    box.cursor_position = len(box.value)
    await pilot.press(*text[-4:])  # the last keystrokes typed for real: validation runs on each
    await settle(pilot)
    assert box.value == text


async def resolve_in_pane_2(pilot, app) -> None:
    """Open pane 2, type the reference to prod/api-keys:slack_token and test it live (enter)."""
    await settle(pilot)
    await pilot.press("2")
    await type_ref(pilot, app, "{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}")
    await pilot.press("enter")
    await settle(pilot)


async def test_offline_validation_as_you_type(make_app, aws_conn):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.focused is app.query_one("#ref-input")
        await type_ref(pilot, app, "{{" + CONN + "|ap_sep_v1|prod/api-keys}}")
        assert verdict(app) == ("✗ VALIDATION: Wrong key format. Should be secretName:secretJsonKey, "
                                "got prod/api-keys")
        app.query_one("#ref-input", Input).value = "{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}"
        await settle(pilot)
        assert verdict(app).startswith("✓ valid — Activepieces resolves it through prod-aws (aws)")
        assert "secretName=prod/api-keys" in str(app.query_one("#ref-detail", Static).render())
        app.query_one("#ref-input", Input).value = "{{unknownConn000000001|ap_sep_v1|a:b}}"
        await settle(pilot)
        assert verdict(app) == "✗ SECRET_MANAGER_GET_SECRET_FAILED: Connection is not accessible"
        app.query_one("#ref-input", Input).value = "Bearer {{" + CONN + "|ap_sep_v1|a:b}}"
        await settle(pilot)
        assert verdict(app).startswith("○ not resolved by Activepieces")
        app.query_one("#ref-input", Input).value = "plain text"
        await settle(pilot)
        assert verdict(app).startswith("○ passthrough")


async def test_live_test_masked_reveal_remask_and_copy(make_app, ctx, aws_conn):
    ctx.settings.reveal_seconds = 1.0
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await resolve_in_pane_2(pilot, app)
        assert verdict(app) == "● resolves — fetched live; the value is below, masked"
        widget = app.query_one("#ref-value", RevealableSecret)
        assert app.focused is app.query_one("#ref-input")  # typing goes on into the input
        assert TOKEN not in app.export_screenshot() and "xoxb-••••••" in app.export_screenshot()
        await pilot.press("escape", "v")  # esc leaves the input; v is the pane's reveal
        await pilot.pause()
        assert TOKEN in str(widget.render())
        for _ in range(50):
            if not widget.revealed:
                break
            await pilot.pause(0.1)
        assert TOKEN not in str(widget.render())  # re-masked by itself
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == TOKEN
        # "Test live" is live every time (issue 18 item 16): the second test does not answer from the cache
        app.query_one("#ref-input", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "fetched live" in verdict(app)
    outcomes = [r["outcome"] for r in ctx.store.query("SELECT outcome FROM audit_log WHERE action='ref.test'")]
    assert outcomes == ["ok", "ok"]
    assert not ctx.store.query("SELECT * FROM audit_log WHERE detail LIKE ?", (f"%{TOKEN}%",))


async def test_a_missing_secret_reports_upstreams_code(make_app, aws_conn):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await type_ref(pilot, app, "{{" + CONN + "|ap_sep_v1|prod/api-keys:nope}}")
        await pilot.press("enter")
        await settle(pilot)
        assert verdict(app) == ("✗ SECRET_MANAGER_GET_SECRET_FAILED: [prod/api-keys:nope] Secret value for key "
                                "nope not found")
        assert app.query_one("#ref-value").display is False
        await pilot.press("escape", "v")  # nothing to reveal: a warning, not a crash
        await pilot.pause()


async def test_json_file_report_per_json_path(make_app, aws_conn, tmp_path):
    doc = {"auth": {"token": "{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}",
                    "bad": "{{" + CONN + "|ap_sep_v1|no-colon}}"},
           "list": ["{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}"], "plain": "hello", "n": 3}
    path = tmp_path / "value.json"
    path.write_text(json.dumps(doc))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2", "escape", "o")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#f-path", Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot)
        table = app.query_one("#ref-doc", VirtualTable)
        by_path = {r.cells[0]: r for r in table._rows}
        assert by_path["$.auth.token"].cells[1].plain == "● resolves"
        assert by_path["$.auth.bad"].cells[1].plain == "✗ error"
        assert by_path["$.auth.bad"].cells[3].startswith("VALIDATION: Wrong key format")
        assert by_path["$.list[0]"].cells[1].plain == "○ not resolved"
        assert TOKEN not in app.export_screenshot()
        table.move_to_key(next(k for k, r in app.pane("refs").results.items() if r.location == "$.auth.token"))
        await pilot.pause()
        widget = app.query_one("#ref-value", RevealableSecret)
        assert widget.label == "$.auth.token" and widget.secret.reveal() == TOKEN
        # a file that is not JSON: one line with the code, nothing else changes
        await pilot.press("o")
        await pilot.pause()
        bad = tmp_path / "bad.json"
        bad.write_text("{nope")
        app.screen.query_one("#f-path", Input).value = str(bad)
        await pilot.press("enter")
        await settle(pilot)
        assert app.errors[-1].code == "VALIDATION" and "not valid JSON (line 1" in app.errors[-1].message
        await pilot.press("o")
        await pilot.pause()
        app.screen.query_one("#f-path", Input).value = str(tmp_path / "missing.json")
        await pilot.press("enter")
        await settle(pilot)
        assert app.errors[-1].code == "FILE_NOT_FOUND"
        # nested past any limit (no RecursionError), and over the size limit: refused in one line
        deep = tmp_path / "deep.json"
        deep.write_text("[" * 100_000 + "]" * 100_000)
        huge = tmp_path / "huge.json"
        huge.write_text('{"a": "' + "x" * (6 * 1024 * 1024) + '"}')
        for path in (deep, huge):
            await pilot.press("o")
            await pilot.pause()
            app.screen.query_one("#f-path", Input).value = str(path)
            await pilot.press("enter")
            await settle(pilot)
            assert app.errors[-1].code == "DOCUMENT_TOO_COMPLEX", app.errors[-1].one_line()
        assert table.total == len(by_path)


async def test_after_a_live_test_typing_still_goes_to_the_input(make_app, aws_conn):
    """Issue 18 item 3: `4`, `o` or `q` typed after a successful test are text, not pane keys."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await resolve_in_pane_2(pilot, app)
        assert verdict(app).startswith("● resolves")
        box = app.query_one("#ref-input", Input)
        before = box.value
        await pilot.press("4", "o", "q")
        await settle(pilot)
        assert box.value == before + "4oq" and app.focused is box
        assert app.current_pane().PANE_ID == "refs" and app.is_running


async def test_hints_under_the_input_say_esc_comes_before_the_pane_keys(make_app, aws_conn, tmp_path):
    """While the input has the focus, `v`, `y` and `o` type into it: the value line and the status line
    say "esc, then …" (the README's walkthrough follows them); after esc they name the keys alone. A
    failed job's line stays until the next job succeeds, then the resting hint is back."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await resolve_in_pane_2(pilot, app)
        value = app.query_one("#ref-value", RevealableSecret)
        status = app.query_one("#refs-status", Static)
        assert "esc, then v reveal · y copy" in str(value.render())
        assert str(status.render()).startswith("esc, then o opens a JSON file")
        await pilot.press("escape")
        await settle(pilot)
        assert "   v reveal · y copy" in str(value.render()) and "esc, then" not in str(value.render())
        assert str(status.render()).startswith("o opens a JSON file")
        await pilot.press("v")
        await pilot.pause()
        assert TOKEN in str(value.render()), "v right after esc reveals, as the hint says"
        await pilot.press("o")
        await pilot.pause()
        app.screen.query_one("#f-path", Input).value = str(tmp_path / "missing.json")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")  # the form came back; leave it
        await settle(pilot)
        assert "resolving missing.json: failed" in str(status.render())
        good = tmp_path / "value.json"
        good.write_text(json.dumps({"token": "plain"}))
        await pilot.press("o")
        await pilot.pause()
        app.screen.query_one("#f-path", Input).value = str(good)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "failed" not in str(status.render()), "a success ends the old failure's line"


async def test_a_reference_is_started_from_pane_1_and_ids_complete(make_app, aws_conn):
    """Issue 18 item 11: `i` in pane 1 starts a reference to the selected connection; in pane 2 the
    connection id completes after `{{` (by id or by name), `→` accepts."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        box = app.query_one("#ref-input", Input)
        assert app.current_pane().PANE_ID == "refs" and app.focused is box
        assert box.value == "{{" + CONN + "|ap_sep_v1|}}" and box.cursor_position == len(box.value) - 2
        await pilot.press(*"prod/api-keys:slack_token")
        await settle(pilot)
        assert box.value == "{{" + CONN + "|ap_sep_v1|prod/api-keys:slack_token}}"
        assert verdict(app).startswith("✓ valid")
        box.value = ""
        await pilot.press("{", "{", "p", "r", "o")  # by name: prod-aws
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        assert box.value == "{{" + CONN + "|ap_sep_v1|"
        box.value = ""
        await pilot.press("{", "{", *CONN[:5])  # by id prefix
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        assert box.value == "{{" + CONN + "|ap_sep_v1|"


async def test_help_lists_the_filter_only_when_there_is_a_report_to_filter(make_app, tmp_path):
    from aptui.tui.screens.help import collect_sections

    def listed(app) -> list[str]:
        return [desc for _, rows in collect_sections(app, app.pane("refs")) for _, desc in rows]

    doc = tmp_path / "value.json"
    doc.write_text(json.dumps({"token": "plain"}))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "escape")
        await settle(pilot)
        assert "Test live" in listed(app) and "Filter" not in listed(app)
        await pilot.press("o")
        await pilot.pause()
        app.screen.query_one("#f-path", Input).value = str(doc)
        await pilot.press("ctrl+s")
        await settle(pilot)
        app.query_one("#ref-doc", VirtualTable).focus()
        await pilot.pause()
        assert "Filter" in listed(app)
        await pilot.press("slash")
        await pilot.pause()
        assert app.query_one("#ref-doc-filter").has_focus
