"""Pane 7: the local audit log, newest first, filterable."""

from __future__ import annotations

from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from aptui.tui.panes.base import Pane


class AuditPane(Pane):
    PANE_ID = "audit"
    TITLE = "Audit"
    NUMBER = "7"
    HELP = "Every change aptui made, newest first. Values are never recorded."
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="audit.refresh"),
        Binding("slash", "filter", "Filter", id="audit.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="audit.clear"),
    ]

    def compose(self):
        yield Input(placeholder="filter (action, target, actor, outcome)", id="audit-filter", classes="filter")
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status", classes="status")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("at", "actor", "action", "target", "outcome")
        self.query_one("#audit-filter").display = False
        self.action_refresh()

    def focus_main(self) -> None:
        self.query_one(DataTable).focus()

    def action_refresh(self) -> None:
        self._load(self.query_one("#audit-filter", Input).value)

    def action_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.value = ""
        box.display = False
        self.focus_main()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._load(event.value)

    @work(thread=True, exclusive=True, group="audit", exit_on_error=False)
    def _load(self, contains: str) -> None:
        from aptui.store import audit

        rows = audit.recent(self.ctx.store, limit=1000, contains=contains or None)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            table.add_row(r["at"][:19].replace("T", " "), r["actor"], r["action"], r["target"], r["outcome"])
        self.query_one("#audit-status", Static).update(f"{len(rows)} entries")
