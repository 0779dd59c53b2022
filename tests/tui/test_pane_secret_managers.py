"""Pane 1 against moto: add (secret fields masked, never echoed back), test, edit, delete (confirmed)."""

from __future__ import annotations

from textual.widgets import Input

from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormScreen
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle

SECRET = "moto-admin-secret-key-not-real-0000000000"


def fill(screen, **values: str) -> None:
    for name, value in values.items():
        screen.query_one(f"#f-{name}", Input).value = value


async def add_aws(pilot, app, moto_aws, name="prod-aws", secret=SECRET):
    await pilot.press("1", "a")
    await pilot.pause()
    assert isinstance(app.screen, ChoiceModal)
    await pilot.press("enter")  # AWS is the first provider
    await pilot.pause()
    form = app.screen
    assert isinstance(form, FormScreen)
    cfg = moto_aws.config()
    fill(form, name=name, accessKeyId=cfg["accessKeyId"], secretAccessKey=secret, region=cfg["region"],
         endpoint=cfg["endpoint"])
    assert form.query_one("#f-secretAccessKey", Input).password  # typed masked
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_add_test_edit_delete_against_moto(make_app, ctx, moto_aws):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await add_aws(pilot, app, moto_aws)
        table = app.query_one("#sm-table", VirtualTable)
        assert table.total == 1
        row = table.current_row
        assert row.cells[1] == "prod-aws" and row.cells[0].plain == "● ok"
        assert SECRET not in app.export_screenshot()
        # the edit form never echoes the stored secret back
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#f-secretAccessKey", Input).value == ""
        assert form.query_one("#f-region", Input).value == "us-east-1"
        assert SECRET not in app.export_screenshot()
        fill(form, name="prod-aws-2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table.current_row.cells[1] == "prod-aws-2"
        # live test
        await pilot.press("t")
        await settle(pilot)
        assert ctx.store.query("SELECT last_test_ok FROM sm_connections")[0]["last_test_ok"] == 1
        # delete: PLATFORM scope → the operator must type the name
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name == "prod-aws-2"
        assert "every project on the platform" in modal.body and "Connection is not accessible" in modal.body
        modal.query_one(Input).value = "prod-aws-2"
        await pilot.press("enter")
        await settle(pilot)
        assert table.total == 0
    actions = [r["action"] for r in ctx.store.query("SELECT action FROM audit_log ORDER BY seq")]
    assert {"sm.add", "sm.update", "sm.test", "sm.remove"} <= set(actions)
    assert not any(SECRET in (r["detail"] or "") for r in ctx.store.query("SELECT detail FROM audit_log"))


async def test_failed_live_check_saves_nothing_and_shows_the_code(make_app, ctx, moto_aws):
    moto_aws.enforce_auth()  # moto now rejects keys it did not issue
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await add_aws(pilot, app, moto_aws, secret="wrong-secret-value-123")
        assert app.query_one("#sm-table", VirtualTable).total == 0
        err = app.errors[-1]
        assert err.code == "SECRET_MANAGER_CONNECTION_FAILED" and "nothing was saved" in (err.hint or "")
        assert "wrong-secret-value-123" not in err.message


async def test_test_failure_opens_an_error_modal_and_cancel_keeps_the_connection(make_app, ctx, moto_aws):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="aws", name="staging", config=moto_aws.config(
        secret_access_key="not-the-right-one"), scope="PROJECT", project_ids=["prj1"])
    moto_aws.enforce_auth()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal) and app.screen.code == "SECRET_MANAGER_CONNECTION_FAILED"
        await pilot.press("escape")
        await settle(pilot)
        assert app.query_one("#sm-table", VirtualTable).current_row.cells[0].plain == "✗ failed"
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name is None  # PROJECT scope, not prod
        assert "projects prj1" in modal.body
        await pilot.press("n")
        await settle(pilot)
        assert app.query_one("#sm-table", VirtualTable).total == 1


async def test_a_failed_save_reopens_the_form_with_everything_typed(make_app, ctx, moto_aws):
    """Issue 18 item 14 (and 16: the access key id is typed in clear, the secret masked)."""
    moto_aws.enforce_auth()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await add_aws(pilot, app, moto_aws, secret="wrong-secret-value-123")
        form = app.screen
        assert isinstance(form, FormScreen), "the form is back after the failed save"
        assert "SECRET_MANAGER_CONNECTION_FAILED" in str(form.query_one("#form-error").render())
        values = {n: form.query_one(f"#f-{n}", Input).value for n in ("name", "accessKeyId", "region")}
        assert values == {"name": "prod-aws", "accessKeyId": moto_aws.config()["accessKeyId"], "region": "us-east-1"}
        assert not form.query_one("#f-accessKeyId", Input).password
        assert form.query_one("#f-secretAccessKey", Input).password
        assert form.query_one("#f-secretAccessKey", Input).value == "wrong-secret-value-123"
        assert "wrong-secret-value-123" not in app.export_screenshot()
        fill(form, secretAccessKey=SECRET)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.query_one("#sm-table", VirtualTable).total == 0  # still refused (moto enforces auth)
        assert isinstance(app.screen, FormScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)


async def test_a_vault_form_survives_a_timeout(make_app, ctx):
    """The 10 s timeout that cleared a whole Vault form: a server that never answers."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    ctx.settings.timeout = 0.5
    ctx.settings.retries = 0
    app = make_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("1", "a")
            await pilot.pause()
            options = [k for k, _ in app.screen.options]
            await pilot.press(*["down"] * options.index("hashicorp"), "enter")
            await pilot.pause()
            typed = {"name": "vault-pay", "url": f"http://127.0.0.1:{silent.getsockname()[1]}",
                     "roleId": "role-1234", "secretId": "secret-id-5678"}
            fill(app.screen, **typed)
            await pilot.press("ctrl+s")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, FormScreen)
            assert {n: form.query_one(f"#f-{n}", Input).value for n in typed} == typed
    finally:
        silent.close()


async def test_a_row_changed_outside_aptui_is_marked_tampered(make_app, ctx):
    """A connection whose seal does not verify is never listed as fine (QA: views showed it as ok)."""
    import sqlite3

    from aptui.store import connections as store_conn

    for name in ("conj", "other"):
        store_conn.create(ctx.store, provider_id="cyberark-conjur", name=name, tested_ok=True,
                          config={"organizationAccountName": "acme", "loginId": "host/ci",
                                  "url": "https://conjur.local", "apiKey": "conjur-key-0001"})
    db = sqlite3.connect(str(ctx.paths.store_file), isolation_level=None)
    db.execute("UPDATE sm_connections SET last_test_ok = 0 WHERE name = 'conj'")  # any sealed column
    db.close()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#sm-table", VirtualTable)
        cells = {r.cells[1]: str(r.cells[0]) for r in table._rows}
        assert cells == {"conj": "✗ tampered", "other": "● ok"}
