"""Pane 7: the local audit log, newest first, filterable as you type."""

from __future__ import annotations

from textual.binding import Binding

from aptui.tui.panes.base import Pane
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

LIMIT = 10000


class AuditPane(Pane):
    PANE_ID = "audit"
    TITLE = "Audit"
    NOUN = "audit"
    NUMBER = "7"
    HELP = "Every change aptui made, newest first (the last 10,000). Values are never recorded."
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("enter", "details", "Details", show=False, id="audit.details"),
    ]

    def compose(self):
        yield FilterBox("audit-table", placeholder="filter: action, target, actor, outcome", id="audit-filter")
        yield VirtualTable(
            [Column("at", 19), Column("actor", max_width=24), Column("action", max_width=22),
             Column("target", max_width=30), Column("outcome", max_width=10), Column("detail")],
            empty_text="no audit entries yet", id="audit-table")
        yield JobStatus("", id="audit-status")

    def on_mount(self) -> None:
        self.action_refresh()

    def focus_main(self) -> None:
        self.query_one(VirtualTable).focus()

    def action_refresh(self) -> None:
        from aptui.store import audit

        self.run_job("loading the audit log", audit.recent, self.ctx.store, limit=LIMIT, on_done=self._show)

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def back(self) -> None:
        self.query_one(FilterBox).close()
        self.focus_main()

    def _show(self, rows: list[dict]) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(
            Row(r["seq"], (r["at"][:19].replace("T", " "), r["actor"], r["action"], r["target"], r["outcome"],
                           r["detail"] or ""))
            for r in rows)
        self._count()

    def _count(self) -> None:
        table = self.query_one(VirtualTable)
        shown = f"{table.shown} of {table.total}" if table.filter_text else f"{table.total}"
        self.query_one(JobStatus).set_text(f"{shown} entries, newest first")

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        self._count()

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        row = self.query_one(VirtualTable).current_row
        if row is None:
            return
        from aptui.tui.screens.details import DetailsModal

        labels = ("at", "actor", "action", "target", "outcome", "detail")
        self.app.push_screen(DetailsModal(f"Audit entry #{row.key}", list(zip(labels, row.cells, strict=False))))
