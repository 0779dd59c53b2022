"""The console flows of the leak scan, driven with Pilot at 80x24.

Each step records the screen (``export_screenshot``, the SVG Textual would save) as an artefact.
Only the screen captured while a value is explicitly revealed (``v``) may hold it, and the
clipboard after ``y``; the screenshot key (``f12``) must save a masked screen even then.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.leaks.flows_cli import ref
from tests.leaks.world import LEAK_USER, PROJECT, World, env_file, install_mcp_rotation_tokens
from tests.tui.conftest import settle


class Screens:
    """Records the screen of a running app as artefacts."""

    def __init__(self, w: World, app: Any) -> None:
        self.w, self.app, self.n = w, app, 0

    def shot(self, what: str, *, allow: set[str] = frozenset(), expect: set[str] = frozenset()) -> str:
        self.n += 1
        svg = self.app.export_screenshot()
        self.w.scanner.add(f"tui#{self.n:02d} {what} [screen]", svg, allowed=allow, expected=expect)
        return svg


async def until(pilot: Any, check: Any, what: str, timeout: float = 20.0) -> None:
    """Wait for ``check()`` (a job may start a moment after the key that asked for it), then settle."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            app = pilot.app
            raise AssertionError(f"{what}: not reached in {timeout:g}s; screen {app.screen!r}, errors "
                                 f"{[e.one_line() for e in app.errors]}")
        await pilot.pause(0.05)
    await settle(pilot)


def fill(screen: Any, **values: str) -> None:
    for name, value in values.items():
        screen.query_one(f"#f-{name}", Input).value = value


async def run(w: World, app: Any, pilot: Any) -> None:
    from aptui.tui.screens.choice import ChoiceModal
    from aptui.tui.screens.confirm import ConfirmModal
    from aptui.tui.screens.error import ErrorModal
    from aptui.tui.screens.form import FormScreen
    from aptui.tui.screens.show_once import ShowOnceModal
    from aptui.tui.widgets.vtable import VirtualTable

    c = w.canaries
    s = Screens(w, app)
    await settle(pilot)
    s.shot("start")

    # -- pane 1: add an AWS connection through the form (secret fields are password inputs)
    await pilot.press("1", "a")
    await pilot.pause()
    assert isinstance(app.screen, ChoiceModal)
    await pilot.press("enter")  # AWS is the first provider
    await pilot.pause()
    form = app.screen
    assert isinstance(form, FormScreen)
    fill(form, name="tui-aws", accessKeyId=c.make("tui_aws_key_id", "aws-key-id"),
         secretAccessKey=c.make("tui_aws_secret", "aws-secret"), region="us-east-1", endpoint=w.moto.endpoint)
    await pilot.pause()
    # the access key id is typed in clear (an identifier, not a secret in the form's sense: issue 18);
    # the secret access key stays a password input
    s.shot("add form filled", allow={"tui_aws_key_id"})
    await pilot.press("ctrl+s")
    table = app.query_one("#sm-table", VirtualTable)
    await until(pilot, lambda: any(r.cells[1] == "tui-aws" for r in table._rows), "the form adds the connection")
    s.shot("connection added")
    # a failed live test: the error modal names the code, never the credential
    table.move_to_key(w.ids["vault_bad"])
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, ErrorModal), "the failed test's error modal")
    s.shot("test failed (error modal)")
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("enter")  # details of the selected connection
    await settle(pilot)
    s.shot("connection details")
    await pilot.press("escape")
    await settle(pilot)

    # -- pane 2: test a reference (masked), reveal (explicit), re-mask, f12, copy (explicit)
    await pilot.press("2")
    await settle(pilot)
    app.query_one("#ref-input", Input).value = ref(w.ids["aws"], "prod/api-keys:slack_token")
    await settle(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: app.query_one("#ref-value").display, "the reference resolved")
    s.shot("reference resolved, masked")
    await pilot.press("escape", "v")  # the focus stays in the input after a test: esc leaves it
    await pilot.pause()
    s.shot("reference revealed", allow={"slack_token"}, expect={"slack_token"})
    await pilot.press("v")  # re-mask
    await pilot.pause()
    s.shot("reference re-masked")
    await pilot.press("v")
    await pilot.pause()
    await pilot.press("f12")  # the app's own screenshot masks everything first
    await settle(pilot)
    s.shot("after f12")
    await pilot.press("y")
    await pilot.pause()
    w.scanner.add("tui clipboard after y", app.clipboard or "", allowed={"slack_token"}, expected={"slack_token"})
    s.shot("after copy")

    # -- pane 3: the cache holds the value (masked stats only)
    await pilot.press("escape", "3")
    await settle(pilot)
    s.shot("cache pane")

    # -- pane 4: upsert an app connection (value typed in a password input), rotate the MCP token
    await pilot.press("4")
    await settle(pilot)
    await pilot.press("u")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, FormScreen) and form.query_one("#f-value", Input).password
    fill(form, external_id="tui-slack", display_name="TUI Slack", piece_name="@activepieces/piece-slack",
         value=c.make("tui_app_value"))
    await pilot.pause()
    s.shot("upsert form filled")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: any(call.body.get("externalId") == "tui-slack"
                                   for call in w.ap.calls("POST", "/v1/app-connections")), "the upsert")
    s.shot("upserted")
    install_mcp_rotation_tokens(w, [c["mcp_token_new_tui"]])
    await pilot.press("m")  # MCP needs a signed-in user: the pane offers the login form
    await until(pilot, lambda: isinstance(app.screen, FormScreen), "the login form offered")
    assert app.screen.query_one("#f-password", Input).password
    fill(app.screen, email=LEAK_USER, password=w.env["CAN_AP_WRONG_PASSWORD"])
    s.shot("login form filled (wrong password)")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: any(e.code == "INVALID_CREDENTIALS" for e in app.errors), "the refused login")
    await settle(pilot)
    s.shot("login refused")
    await pilot.press("L")
    await until(pilot, lambda: isinstance(app.screen, FormScreen), "the login form")
    fill(app.screen, email=LEAK_USER, password=w.env["CAN_AP_PASSWORD"])
    await pilot.press("ctrl+s")
    mcp = app.query_one("#plat-mcp-table", VirtualTable)
    await until(pilot, lambda: "session expires in 6 d" in str(app.query_one("#plat-context").render()),
                "the session shown")
    await until(pilot, lambda: mcp.total >= 1 and mcp.current_key is not None, "the MCP servers listed")
    s.shot("mcp servers")
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the rotation confirmation")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(app.screen, ShowOnceModal), "the show-once token window")
    s.shot("rotated token, masked")
    await pilot.press("v")
    await pilot.pause()
    s.shot("rotated token revealed", allow={"mcp_token_new_tui"}, expect={"mcp_token_new_tui"})
    await pilot.press("escape")
    await settle(pilot)
    s.shot("token window closed")

    # -- pane 7: the audit log, and a hardening audit of a directory whose .env holds canaries
    deploy = w.tmp / "deploy"
    deploy.mkdir()
    (deploy / ".env").write_text(env_file(c, prefix="tui_"))
    (deploy / ".env").chmod(0o600)
    await pilot.press("7")
    audit = app.query_one("#audit-table", VirtualTable)
    await until(pilot, lambda: audit.total >= 1, "the audit log listed")
    s.shot("audit log")
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.is_modal, "an audit entry")
    s.shot("audit entry")
    await pilot.press("escape", "h")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, FormScreen)
    fill(form, directory=str(deploy), url="", profile="")
    await pilot.press("ctrl+s")
    findings = app.query_one("#hardening-table", VirtualTable)
    await until(pilot, lambda: findings.total >= 5, "the hardening findings")
    s.shot("hardening findings")
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.is_modal, "a finding's details")
    s.shot("finding details")
    await pilot.press("escape")
    await settle(pilot)

    # -- pane 2, m: a whole migration in the console (plan masked, apply, verification, diff, roll back)
    import json

    from aptui.tui.screens.migrate import MigrateScreen

    mig = w.tmp / "tui-migrate"
    mig.mkdir()
    (mig / "values.json").write_text(json.dumps({"slack": {"token": c.make("tui_migrate_token", "xoxb")},
                                                 "db": {"password": c.make("tui_migrate_password")}}, indent=2))
    (mig / "inputs.yaml").write_text(f"openai:\n  apiKey: {c.make('tui_migrate_openai', 'sk')}\n")
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("escape", "m")
    await until(pilot, lambda: isinstance(app.screen, MigrateScreen), "the migration screen")
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, FormScreen), "the migration form")
    fill(app.screen, sources=f"{mig / 'values.json'} {mig / 'inputs.yaml'}", secret="tui/{stem}")
    app.screen.query_one("#f-to").value = "tui-aws"
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, MigrateScreen)
                and app.screen.query_one("#mig-plan", VirtualTable).total == 3, "the plan")
    plan_table = app.screen.query_one("#mig-plan", VirtualTable)
    s.shot("migration plan (masked)")
    await pilot.press("a", "y")
    await until(pilot, lambda: all(r.cells[-1] == "✓ matches" for r in plan_table._rows), "the migration applied")
    s.shot("migration applied, verified")
    await pilot.press("d")
    await settle(pilot)
    s.shot("migration diff (masked)")
    await pilot.press("r", "y")
    await until(pilot, lambda: "rolled back" in str(app.screen.query_one("#mig-status").render()), "the rollback")
    s.shot("migration rolled back")
    await pilot.press("escape")
    await settle(pilot)


def seed(w: World, ctx: Any) -> None:
    """In-process state the console starts with: a profile, a connection for references, a wrong one."""
    from aptui.masking import Secret
    from aptui.store import connections as store_conn
    from aptui.store import profiles

    profiles.create(ctx.store, "prod", w.ap.url, api_key=Secret(w.env["CAN_AP_KEY"]), default_project=PROJECT,
                    make_default=True)
    aws = store_conn.create(ctx.store, provider_id="aws", name="prod-aws", tested_ok=True, config={
        "accessKeyId": w.env["CAN_AWS_KEY_ID"], "secretAccessKey": w.env["CAN_AWS_SECRET"], "region": "us-east-1",
        "endpoint": w.moto.endpoint})
    bad = store_conn.create(ctx.store, provider_id="hashicorp", name="vault-bad", config={
        "url": w.vault.url, "roleId": w.env["CAN_VAULT_ROLE_ID"], "secretId": w.env["CAN_VAULT_WRONG_SECRET_ID"]})
    w.ids["aws"], w.ids["vault_bad"] = aws.id, bad.id
