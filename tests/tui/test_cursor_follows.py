"""Issue 18 item 9: after a refresh re-sorts a list, the cursor is on the same item, not the same
row number: enter (or any key acting on the selection) acts on what the operator chose."""

from __future__ import annotations

from textual.widgets import Input

from aptui.tui.screens.details import DetailsModal
from aptui.tui.screens.form import FormScreen
from aptui.tui.widgets.vtable import VirtualTable
from tests.tui.conftest import settle

WEAK_ENV = "AP_ENCRYPTION_KEY=short\nAP_JWT_SECRET=short\nAP_API_KEY=sk-in-env\n"


async def run_audit(pilot, app, directory) -> VirtualTable:
    await pilot.press("h")
    await pilot.pause()
    assert isinstance(app.screen, FormScreen)
    app.screen.query_one("#f-directory", Input).value = str(directory)
    await pilot.press("ctrl+s")
    await settle(pilot)
    return app.query_one("#hardening-table", VirtualTable)


async def test_a_rerun_hardening_audit_keeps_the_cursor_on_the_chosen_finding(make_app, tmp_path):
    (tmp_path / ".env").write_text(WEAK_ENV)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        findings = await run_audit(pilot, app, tmp_path)
        before = [(r.cells[1], r.cells[3]) for r in findings._rows]
        # the operator chooses the weak JWT secret, fixes the weak API key above it, runs the audit again
        pick = next(r for r in findings._rows if r.cells[1] == "env.jwt_secret.strength")
        chosen = (pick.cells[1], pick.cells[3])
        findings.move_to_key(pick.key)
        await pilot.pause()
        (tmp_path / ".env").write_text("AP_ENCRYPTION_KEY=" + "ab" * 16 + "\nAP_JWT_SECRET=short\n")
        findings = await run_audit(pilot, app, tmp_path)
        after = [(r.cells[1], r.cells[3]) for r in findings._rows]
        assert after.index(chosen) < before.index(chosen), (before, after)  # it moved up
        row = findings.current_row
        assert (row.cells[1], row.cells[3]) == chosen, (chosen, row.cells)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsModal) and app.screen.title_text == f"Finding {chosen[0]}"
