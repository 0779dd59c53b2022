"""The migration flow in the console at 80x24 against moto: from pane 2 (m) and the palette, pick
sources, review the masked plan, apply one step then the rest, verification, diff, roll back."""

from __future__ import annotations

import json

from textual.widgets import Input, Static

from aptui.tui.screens.form import FormScreen
from aptui.tui.screens.migrate import MigrateScreen
from aptui.tui.widgets.vtable import VirtualTable
from tests.migrate.helpers import add_connection, make_sources
from tests.tui.conftest import settle


def _cells(app, table_id):
    table = app.screen.query_one(table_id, VirtualTable)
    return [tuple(str(c) for c in row.cells) for row in table._rows]


async def test_migration_flow_from_the_references_pane(make_app, ctx, moto_aws, tmp_path):
    conn = add_connection(ctx, "aws", moto_aws.config(), name="prod-aws")
    src = make_sources(tmp_path / "deploy")
    originals = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "escape", "m")
        await settle(pilot)
        assert isinstance(app.screen, MigrateScreen)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#f-sources", Input).value = f"{src.json_file} {src.yaml_file}"
        app.screen.query_one("#f-secret", Input).value = "prod/{stem}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MigrateScreen)
        rows = _cells(app, "#mig-plan")
        assert len(rows) == 6 and all(r[-1] == "planned" for r in rows)
        shot = app.export_screenshot()
        for value in src.values.values():
            assert value not in shot and value[:10] not in shot
        assert "xoxb-••••••" in shot  # masked, with only its type shown
        await pilot.press("n", "y")  # one step, confirmed
        await settle(pilot)
        steps = _cells(app, "#mig-steps")
        assert steps[0][2] == "done" and steps[1][2] == "pending"
        await pilot.press("a", "y")
        await settle(pilot)
        assert all(s[2] == "done" for s in _cells(app, "#mig-steps"))
        assert all(r[-1] == "✓ matches" for r in _cells(app, "#mig-plan"))
        assert "{{" + conn.id in src.json_file.read_text()
        assert json.loads(moto_aws.client().get_secret_value(SecretId="prod/connection-values")["SecretString"])
        await pilot.press("d")
        await settle(pilot)
        diff = str(app.screen.query_one("#mig-diff", Static).render())
        assert "ap_sep_v1" in diff and all(v not in diff for v in src.values.values())
        assert all(v not in app.export_screenshot() for v in src.values.values())
        await pilot.press("r", "y")
        await settle(pilot)
        assert all(p.read_bytes() == b for p, b in originals.items())
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, MigrateScreen)


async def test_palette_reaches_the_migration_screen_and_read_only_hides_it(make_app, ctx):
    from aptui.tui.commands import palette_commands

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        names = {name: cb for name, cb, _ in palette_commands(app)}
        assert "reference: migrate secrets" in names
        await names["reference: migrate secrets"]()
        await settle(pilot)
        assert isinstance(app.screen, MigrateScreen)
    ctx.settings.read_only = True
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "reference: migrate secrets" not in {n for n, _, _ in palette_commands(app)}
