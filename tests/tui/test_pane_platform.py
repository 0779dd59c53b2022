"""Pane 4 against the Activepieces double: connections (filter, upsert, delete), MCP token rotation
(shown once), failed runs retry (dry run first), and a slow server that never freezes the UI."""

from __future__ import annotations

import time

from textual.widgets import Input

from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.form import FormScreen
from aptui.tui.screens.show_once import ShowOnceModal
from aptui.tui.widgets.vtable import VirtualTable
from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.tui.conftest import settle


async def open_platform(pilot, app) -> VirtualTable:
    await pilot.press("4")
    await settle(pilot)
    return app.query_one("#plat-conns-table", VirtualTable)


async def test_connections_load_page_by_page_and_filter(make_app, activepieces, ap_profile):
    activepieces.validate_responses = False  # 15 pages of bulk rows: skip schema checks for speed
    activepieces.seed_connections(1500)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = await open_platform(pilot, app)
        assert table.total == 1500
        assert len(activepieces.calls("GET", "/v1/app-connections")) == 15  # SeekPage, 100 a page
        await pilot.press("slash", *"connection 149")
        await pilot.pause()
        assert table.shown == 12  # words AND-ed: 149, 1149, 1490-1499
        await pilot.press("escape")
        assert table.shown == 1500


async def test_upsert_and_delete_an_app_connection(make_app, ctx, activepieces, ap_profile):
    app = make_app()
    value = "xoxb-upsert-secret-value-1"
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = await open_platform(pilot, app)
        before = table.total
        await pilot.press("u")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen) and form.query_one("#f-value", Input).password
        for name, text in (("external_id", "ops-slack-1"), ("display_name", "Ops Slack"),
                           ("piece_name", "@activepieces/piece-slack"), ("value", value)):
            form.query_one(f"#f-{name}", Input).value = text
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table.total == before + 1
        posted = activepieces.calls("POST", "/v1/app-connections")[-1].body
        assert posted["externalId"] == "ops-slack-1" and posted["projectId"] == DEFAULT_PROJECT
        assert value not in app.export_screenshot()
        new = next(r for r in table._rows if r.cells[1] == "Ops Slack")
        table.move_to_key(new.key)
        await pilot.press("d")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name == "Ops Slack"
        assert "fail at run time" in modal.body
        modal.query_one(Input).value = "Ops Slack"
        await pilot.press("enter")
        await settle(pilot)
        assert table.total == before
        assert activepieces.calls("DELETE", "/v1/app-connections/")
    details = " ".join(r["detail"] or "" for r in ctx.store.query("SELECT detail FROM audit_log"))
    assert value not in details


async def test_rotate_mcp_token_shows_it_once(make_app, ctx, activepieces, ap_profile):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        await pilot.press("m")
        await settle(pilot)
        mcp = app.query_one("#plat-mcp-table", VirtualTable)
        assert mcp.total == 1 and mcp.current_key.startswith(DEFAULT_PROJECT)  # the profile's default project
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "stops working" in app.screen.body
        await pilot.press("y")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ShowOnceModal)
        token = modal._value.reveal()
        assert token and token not in app.export_screenshot()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == token
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ShowOnceModal) and modal._value is None
        assert token not in app.export_screenshot()
    rows = ctx.store.query("SELECT * FROM audit_log WHERE action='platform.mcp.rotate'")
    assert rows and all(token not in (r["detail"] or "") for r in rows)


async def test_retry_failed_runs_dry_run_first(make_app, activepieces, ap_profile):
    for _ in range(3):
        activepieces.add_run(status="FAILED")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        await pilot.press("f")
        await settle(pilot)
        runs = app.query_one("#plat-runs-table", VirtualTable)
        failed = runs.total
        assert failed >= 3
        await pilot.press("R")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and f"{failed} would-retry" in modal.body
        assert not activepieces.calls("POST", "/v1/flow-runs/")  # the dry run sent nothing
        await pilot.press("y")
        await settle(pilot)
        [bulk] = activepieces.calls("POST", "/v1/flow-runs/")  # one bulk retry with the explicit ids
        assert bulk.path == "/v1/flow-runs/retry" and len(bulk.body["flowRunIds"]) == failed


async def test_profile_and_project_switchers(make_app, ctx, activepieces, ap_profile):
    from aptui.masking import Secret
    from aptui.store import profiles

    profiles.create(ctx.store, "other", activepieces.url, api_key=Secret(activepieces.api_key))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal) and [k for k, _ in app.screen.options] == ["ap-test", "other"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.profile_name == "other" and "profile other" in app.sub_title
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("enter")
        await settle(pilot)
        assert app.pane("platform").project is not None
        assert app.query_one("#plat-conns-table", VirtualTable).total > 0


async def test_a_profile_without_key_is_a_clear_error(make_app, ctx, activepieces, monkeypatch):
    from aptui.store import profiles

    monkeypatch.delenv("AP_API_KEY", raising=False)
    profiles.create(ctx.store, "nokey", activepieces.url, default_project=DEFAULT_PROJECT, make_default=True)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        assert app.errors[-1].code == "API_KEY_MISSING"
        assert not activepieces.calls()


async def test_a_profile_without_a_project_says_p_picks_one(make_app, ctx, activepieces):
    """Not "no app connections in this project" when no project is chosen."""
    from aptui.masking import Secret
    from aptui.store import profiles

    profiles.create(ctx.store, "noproj", activepieces.url, api_key=Secret(activepieces.api_key), make_default=True)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = await open_platform(pilot, app)
        assert app.errors[-1].code == "PROJECT_REQUIRED"
        assert table.shown_empty_text() == "no project chosen — p picks one"
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal), "p picks the project, as the list says"


async def test_no_profile_is_a_clear_error(make_app, activepieces):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        assert app.errors[-1].code == "PROFILE_MISSING"


async def test_slow_server_never_freezes_the_ui(make_app, ctx, activepieces, ap_profile):
    activepieces.fault("/v1/app-connections", method="GET", delay=6.0, times=1)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(0.2)
        pane = app.pane("platform")
        assert pane.busy and "loading app connections" in str(pane.status.render())
        started = time.perf_counter()
        await pilot.press("7")  # other panes work while the request hangs
        await pilot.pause()
        assert app.current_pane().PANE_ID == "audit"
        await pilot.press("slash", *"sm.")
        await pilot.pause()
        assert app.query_one("#audit-filter", Input).value == "sm."
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        await pilot.press("escape")
        assert time.perf_counter() - started < 6.0
        assert pane.busy  # all of that ran while the server was still silent
        await pilot.press("4", "escape")  # esc cancels the load
        await settle(pilot)
        assert not pane.busy and "cancelled" in str(pane.status.render())


async def test_a_server_slower_than_the_timeout_gives_a_timeout_code(make_app, ctx, activepieces, ap_profile):
    ctx.settings.timeout = 0.3
    ctx.settings.retries = 0
    activepieces.fault("/v1/projects/[^/]+/mcp-server", method="GET", delay=2.0, times=1)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        await pilot.press("m")
        await settle(pilot)
        assert app.errors[-1].code == "PLATFORM_TIMEOUT" and "no answer within 0.3s" in app.errors[-1].message
        assert app.errors[-1].exit_code == 4


async def test_mcp_offers_the_login_and_the_session_expiry_is_shown(make_app, ctx, activepieces, ap_key_profile):
    from aptui.store import profiles as store_profiles
    from tests.doubles.activepieces import ADMIN_EMAIL, ADMIN_PASSWORD

    activepieces.use_mcp_era("oauth")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_platform(pilot, app)
        context = app.query_one("#plat-context")
        assert "no session (L: log in)" in str(context.render())
        await pilot.press("m")
        await settle(pilot)
        assert app.errors[-1].code == "USER_SESSION_REQUIRED"
        assert not any("mcp-server" in r.path for r in activepieces.requests)  # refused before sending
        form = app.screen
        assert isinstance(form, FormScreen) and form.query_one("#f-password", Input).password
        form.query_one("#f-email", Input).value = ADMIN_EMAIL
        form.query_one("#f-password", Input).value = ADMIN_PASSWORD
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "session expires in 6 d" in str(context.render())
        assert store_profiles.require(ctx.store, "ap-key").has_session
        mcp = app.query_one("#plat-mcp-table", VirtualTable)
        assert mcp.total == 1
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and "authenticate by OAuth" in modal.body
        assert ADMIN_PASSWORD not in app.export_screenshot()
        await pilot.press("escape")


async def test_a_profile_updated_from_another_shell_is_picked_up(make_app, ctx, activepieces, run_cli):
    """Issue 18 item 15: `aptui profile update --url` in another shell; `r` in pane 4 uses the new URL."""
    from aptui.masking import Secret
    from aptui.store import profiles

    profiles.create(ctx.store, "ap-test", "http://127.0.0.1:9", api_key=Secret(activepieces.api_key),
                    default_project=DEFAULT_PROJECT, make_default=True)
    ctx.settings.retries = 0
    ctx.settings.timeout = 2.0
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = await open_platform(pilot, app)
        assert table.total == 0 and app.errors  # nothing listens on port 9
        done = run_cli("profile", "update", "ap-test", "--url", activepieces.url)
        assert done.code == 0, done.err
        await pilot.press("r")
        await settle(pilot)
        assert table.total == len(activepieces.connections) > 0
