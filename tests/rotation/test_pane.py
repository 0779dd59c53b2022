"""Pane 5 (Rotation) with Pilot: the list (observed and recorded dates), mark, assisted AWS rotation
with one confirmation modal per step, a prompted rotation, a stopped rotation and abort, read-only,
and a snapshot at 80x24."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from aptui.store import connections as store_conn
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormScreen
from aptui.tui.screens.show_once import ShowOnceModal
from aptui.tui.widgets.vtable import VirtualTable
from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.rotation.conftest import iam_keys, stored_config
from tests.rotation.pilot import freeze, settle, wait_for

CONJUR = {"organizationAccountName": "acme", "loginId": "host/ci", "url": "https://conjur.local",
          "apiKey": "old-conjur-key-0001"}


@pytest.fixture
def app(ctx):
    from aptui.tui.app import AptuiApp

    return AptuiApp(ctx, show_first_run=False)


def table(app) -> VirtualTable:
    return app.query_one("#rot-table", VirtualTable)


def row(app, key):
    return next(r.cells for r in table(app)._rows if r.key == key)


async def open_pane(pilot) -> None:
    await settle(pilot)
    await pilot.press("5")
    await settle(pilot)


async def test_list_shows_observed_and_recorded_dates(app, ctx, aws_conn):
    aws_conn("prod-aws")
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur", config=CONJUR)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot)
        assert table(app).total == 2
        assert row(app, "sm:prod-aws")[5] == "obs:ListAccessKeys" and row(app, "sm:prod-aws")[6] == "high"
        assert row(app, "sm:conjur")[5] == "recorded"
        assert "2 ok" in str(app.query_one("#rot-summary").render())
        await pilot.press("o")
        await settle(pilot)
        assert row(app, "sm:prod-aws")[5] == "recorded"
        await pilot.press("enter")
        await pilot.pause()
        assert "rotation:" in app.screen.title_text
        await pilot.press("escape")


async def test_mark_from_a_form(app, ctx):
    store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot)
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#f-date", Input).value = "not a date"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.errors and app.errors[-1].code == "VALIDATION"
        form = app.screen  # issue 18 item 14: the same form again, holding what was typed
        assert isinstance(form, FormScreen) and form.query_one("#f-date", Input).value == "not a date"
        assert "VALIDATION: not a date" in str(form.query_one("#form-error").render())
        form.query_one("#f-date", Input).value = ""
        form.query_one("#f-note", Input).value = "rotated in 1Password"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert row(app, "sm:op")[6] == "low"
    assert ctx.store.query("SELECT note FROM rotation_records WHERE source = 'marked'")[0]["note"] == \
        "rotated in 1Password"


async def test_assisted_aws_rotation_confirms_every_step(app, ctx, aws_conn, moto_aws, monkeypatch):
    from aptui.services.rotation import assisted

    monkeypatch.setattr(assisted, "TEST_DELAY", 0.0)
    conn = aws_conn("prod-aws")
    asked = []
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot)
        await pilot.press("x")
        for _ in range(6):
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            asked.append(app.screen.title_text)
            await pilot.press("y")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmModal) or
                           app.screen.title_text not in asked)
        await settle(pilot)
        assert [t.rsplit(": ", 1)[1] for t in asked] == ["inspect", "create", "test", "store", "publish", "retire"]
        new = stored_config(ctx, "prod-aws")
        assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Inactive", new["accessKeyId"]: "Active"}
        assert new["secretAccessKey"] not in app.export_screenshot()
        assert not app.errors


async def test_declined_step_pauses_and_abort_undoes(app, ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot)
        await pilot.press("x")
        for answer in ("y", "y", "n"):  # inspect, create, then decline the test
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press(answer)
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert "declined" in str(app.errors[-1].message) and app.errors[-1].code == "ROTATION_STOPPED"
        await pilot.press("escape")
        await settle(pilot)
        assert len(iam_keys(moto_aws, conn.user)) == 2
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}


async def test_prompted_rotation_takes_the_secret_from_a_hidden_field(app, ctx, fake_provider):
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur", config=CONJUR)
    new_key = "new-conjur-key-canary-0002"
    fake_provider.required_config = {"apiKey": new_key}
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot)
        await pilot.press("x")
        await pilot.pause()
        field = app.screen.query_one("#f-secret", Input)
        assert field.password
        field.value = new_key
        await pilot.press("ctrl+s")
        for _ in range(3):
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert new_key not in app.export_screenshot()
            await pilot.press("y")
            await pilot.pause(0.1)
        await settle(pilot)
    assert store_conn.auth(ctx.store, store_conn.by_name(ctx.store, "conjur"))["apiKey"] == new_key


async def test_mcp_rotation_shows_the_token_once(app, ctx, activepieces, ap_profile):
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot)
        table(app).move_to_key(f"mcp:ap-test/{DEFAULT_PROJECT}")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ShowOnceModal))
        token = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
        assert token not in app.export_screenshot()  # masked until revealed
        await pilot.press("escape")
        await settle(pilot)


async def test_api_key_rotation_lets_the_platform_issue_the_key(app, ctx, activepieces, ap_profile):
    from aptui.store import profiles as store_profiles

    old_key, asked = activepieces.api_key, []
    async with app.run_test(size=(100, 30)) as pilot:
        await open_pane(pilot)
        table(app).move_to_key("profile:ap-test")
        await pilot.press("x")
        for _ in range(5):
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert not isinstance(app.screen, FormScreen)  # nothing to paste: the platform makes the key
            asked.append(app.screen.title_text)
            await pilot.press("y")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmModal) or
                           app.screen.title_text not in asked)
        await settle(pilot)
        new_key = store_profiles.api_key(ctx.store, ap_profile).reveal()
        assert new_key not in app.export_screenshot() and not app.errors
    assert [t.rsplit(": ", 1)[1] for t in asked] == ["inspect", "create", "test", "store", "retire"]
    assert new_key != old_key and old_key not in activepieces.api_keys and new_key in activepieces.api_keys


async def test_read_only_hides_and_refuses_changes(app, ctx):
    store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_1"})
    ctx.settings.read_only = True
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot)
        pane = app.query_one("#rotation")
        assert pane.check_action("rotate", ()) is False and pane.check_action("mark", ()) is False
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, FormScreen)
        pane.action_rotate()  # called anyway (e.g. a stale binding): refused
        assert app.errors[-1].code == "READ_ONLY"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot(snap_compare, ctx, monkeypatch, size):
    freeze(monkeypatch)
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur-ci", config=CONJUR)
    store_conn.create(ctx.store, provider_id="onepassword", name="op-prod", config={"serviceAccountToken": "ops_1"})
    store_conn.create(ctx.store, provider_id="hashicorp", name="vault-pay",
                      config={"url": "http://127.0.0.1:9", "roleId": "r", "secretId": "s"})
    with ctx.store.transaction() as db:
        db.execute("UPDATE rotation_records SET at = '2026-08-01T00:00:00.000Z' WHERE kind = 'onepassword'")
        db.execute("UPDATE rotation_records SET at = '2026-10-30T00:00:00.000Z' WHERE kind = 'hashicorp'")
    from aptui.tui.app import AptuiApp

    async def run(pilot):
        (await pilot.app.ensure_pane("rotation")).offline = True  # recorded dates only: no network in a snapshot
        await open_pane(pilot)

    assert snap_compare(AptuiApp(ctx, show_first_run=False), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_stopped_rotation_shows_in_its_row_and_offers_resume_and_abort(ctx, aws_conn, moto_aws, size):
    """Issue 18 item 10: not `● ok`; `A` in the footer while the stopped item is selected."""
    from aptui.tui.app import AptuiApp
    from tests.tui.hostile import screen_text

    aws_conn("prod-aws")
    aws_conn("other-aws")
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=size) as pilot:
        await open_pane(pilot)
        table(app).move_to_key("sm:prod-aws")
        await pilot.press("x")
        for answer in ("y", "y", "n"):  # inspect, create, then decline the test
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press(answer)
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        await pilot.press("escape")
        await settle(pilot)
        assert row(app, "sm:prod-aws")[0].plain == "◐ stopped" and row(app, "sm:prod-aws")[3] == "at test"
        assert row(app, "sm:other-aws")[0].plain == "● ok"
        table(app).move_to_key("sm:prod-aws")
        await pilot.pause()
        footer = screen_text(app).split("\n")[-1]
        assert "A Abort" in footer
        assert "stopped: x resumes · A aborts" in str(app.pane("rotation").status.render())
        table(app).move_to_key("sm:other-aws")
        await pilot.pause()
        assert "A Abort" not in screen_text(app).split("\n")[-1]
        table(app).move_to_key("sm:prod-aws")
        await pilot.press("enter")
        await pilot.pause()
        assert "stopped at  test" in screen_text(app) or "stopped at" in screen_text(app)


async def test_the_cursor_follows_the_item_when_the_list_resorts(app, ctx, aws_conn):
    """Issue 18 item 9: after a refresh that re-sorts the rows, m opens the selected item's mark form."""
    from aptui.services import rotation

    for name in ("a-aws", "b-aws", "c-aws"):
        aws_conn(name)
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur", config=CONJUR)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot)
        before = table(app).shown_keys()
        target = before[1]
        table(app).move_to_key(target)
        # another item becomes overdue: it sorts first, every row below it moves
        from datetime import timedelta

        from aptui import clock

        other = before[-1]
        rotation.mark(ctx, other, at=clock.utc_now() - timedelta(days=400))
        await pilot.press("r")
        await settle(pilot)
        after = table(app).shown_keys()
        assert after != before and after.index(target) != before.index(target)
        assert table(app).current_key == target
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen) and target in app.screen.title_text


async def test_abort_after_store_can_put_the_old_key_back(app, ctx, aws_conn, moto_aws):
    """Item 10: stopped after store (the publish declined): abort offers to put the old key back in
    aptui and delete the new one (the platform never got it), or to keep the new one."""
    from aptui.tui.screens.choice import ChoiceModal

    conn = aws_conn("prod-aws")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot)
        await pilot.press("x")
        for answer in ("y", "y", "y", "y", "n"):  # inspect, create, test, store; decline the publish
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press(answer)
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        await pilot.press("escape")
        await settle(pilot)
        assert len(iam_keys(moto_aws, conn.user)) == 2 and stored_config(ctx, "prod-aws")["accessKeyId"] != conn.key_id
        assert row(app, "sm:prod-aws")[3] == "at publish"
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal))
        assert [k for k, _ in app.screen.options] == ["restore", "keep"]
        await pilot.press("enter")  # restore
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await settle(pilot)
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    assert stored_config(ctx, "prod-aws")["secretAccessKey"] == conn.secret
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}
