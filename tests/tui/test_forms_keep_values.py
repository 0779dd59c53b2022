"""Issue 18 item 14 on every other form: a save that fails (a name already taken, a refused
password, a bad date or duration, a missing file) reopens the same form holding what was typed,
with the error in it. And the login form puts the cursor on the password when the e-mail is
already filled in, so the password is never typed over the e-mail in clear."""

from __future__ import annotations

from textual.widgets import Input

from aptui.tui.screens.form import FormScreen
from tests.doubles.activepieces import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.tui.conftest import settle

SIZE = (80, 24)


def field(form: FormScreen, name: str) -> Input:
    return form.query_one(f"#f-{name}", Input)


def error_text(form: FormScreen) -> str:
    return str(form.query_one("#form-error").render())


async def submit(pilot) -> FormScreen:
    await pilot.press("ctrl+s")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, FormScreen), "the form is back after the failed save"
    return form


async def test_a_new_profile_that_fails_keeps_what_was_typed(make_app, ctx, activepieces, ap_profile):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        typed = {"name": "ap-test", "url": "https://ap.example.com", "project": "prj-1"}  # ap-test exists
        for name, text in typed.items():
            field(app.screen, name).value = text
        field(app.screen, "api_key").value = "sk-typed-key-0001"
        form = await submit(pilot)
        assert "ap-test" in error_text(form) and app.errors[-1].code in error_text(form)
        assert {n: field(form, n).value for n in typed} == typed
        assert field(form, "api_key").value == "sk-typed-key-0001" and field(form, "api_key").password
        assert "sk-typed-key-0001" not in app.export_screenshot()
        field(form, "name").value = "ap-second"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
    from aptui.store import profiles

    assert profiles.require(ctx.store, "ap-second").default_project == "prj-1"


async def test_the_login_form_types_the_password_into_the_password_field(make_app, ctx, activepieces,
                                                                         ap_profile):
    """The e-mail comes prefilled from the last session: focus starts on the password, and a
    refused password brings the form back with the e-mail kept and the password to type again."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("L")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        assert field(form, "email").value == ADMIN_EMAIL, "prefilled from the stored session"
        assert app.focused is field(form, "password")
        await pilot.press(*"wrong-password-1")
        assert field(form, "email").value == ADMIN_EMAIL
        assert field(form, "password").value == "wrong-password-1"
        form = await submit(pilot)
        assert "INVALID_CREDENTIALS" in error_text(form)
        assert field(form, "email").value == ADMIN_EMAIL and field(form, "password").value == ""
        assert app.focused is field(form, "password")
        await pilot.press(*ADMIN_PASSWORD, "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
        assert "session expires in" in str(app.query_one("#plat-context").render())
        assert ADMIN_PASSWORD not in app.export_screenshot()


async def test_a_new_incident_with_a_bad_duration_keeps_the_form(make_app, ctx, moto_aws, tmp_path):
    from aptui.store import connections as store_conn

    key_id, secret = moto_aws.iam_user("svc-ap", ["secretsmanager:*", "iam:*"])
    store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config=moto_aws.config(key_id, secret),
                      tested_ok=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")  # the one credential
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormScreen)
        field(form, "title").value = "Slack token in a pastebin"
        field(form, "since").value = "yesterday-ish"
        field(form, "scan").value = str(tmp_path / "missing")
        form = await submit(pilot)
        assert "since: not a time or a duration" in error_text(form) and "--since" not in error_text(form)
        assert field(form, "title").value == "Slack token in a pastebin"
        assert field(form, "since").value == "yesterday-ish"
        field(form, "since").value = "6h"
        form = await submit(pilot)
        assert "scan:" in error_text(form) and "does not exist" in error_text(form)
        field(form, "scan").value = str(tmp_path)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
    from aptui.store import incidents

    assert [i.title for i in incidents.list_all(ctx.store)] == ["Slack token in a pastebin"]


async def test_a_json_file_that_is_not_there_keeps_the_path(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "escape", "o")
        await pilot.pause()
        missing = str(tmp_path / "conection-value.json")  # a typo
        field(app.screen, "path").value = missing
        form = await submit(pilot)
        assert field(form, "path").value == missing and "not" in error_text(form).lower()
        good = tmp_path / "connection-value.json"
        good.write_text('{"token": "plain"}')
        field(form, "path").value = str(good)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
        assert "connection-value.json" in str(app.query_one("#ref-doc-title").render())
