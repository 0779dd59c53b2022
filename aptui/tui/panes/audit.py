"""Pane 7: the local audit log, newest first, filterable as you type; and (h) the hardening audit
of a self-hosted Activepieces (env file, compose file, live URL, platform API) as findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ContentSwitcher

from aptui.tui.format import status_cell
from aptui.tui.panes.base import Pane
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

LIMIT = 10000


def hardening_options(directory: str, url: str, profile: str):
    """HardeningOptions from the form (directory discovery first; bad input is a usage error)."""
    from aptui.errors import usage
    from aptui.services.hardening import discover

    folder = Path(directory or ".").expanduser()
    if not folder.is_dir():
        raise usage(f"not a directory: {directory}", code="FILE_NOT_FOUND")
    opts = discover(folder)
    opts.url = url or None
    opts.profile = profile or None
    return opts


async def run_hardening(ctx: Any, directory: str, url: str, profile: str):
    from aptui.services.hardening import audit_hardening

    return await audit_hardening(ctx, hardening_options(directory, url, profile))


class AuditPane(Pane):
    PANE_ID = "audit"
    TITLE = "Audit"
    NOUN = "audit"
    NUMBER = "7"
    HELP = ("Every change aptui made, newest first (the last 10,000); values are never recorded. "
            "h runs the hardening audit of a deployment (.env, compose file, URL, API); l goes back to the log.")
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("h", "hardening", "Hardening", id="audit.hardening"),
        Binding("l", "log", "Log", id="audit.log"),
        Binding("enter", "details", "Details", show=False, id="audit.details"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.view = "log"
        self.findings: dict[tuple[str, str, int], Any] = {}

    def compose(self):
        with ContentSwitcher(initial="audit-log", id="audit-switch"):
            with Vertical(id="audit-log"):
                yield FilterBox("audit-table", placeholder="filter: action, target, actor, outcome",
                                id="audit-filter")
                yield VirtualTable(
                    [Column("at", 19), Column("actor", max_width=24), Column("action", max_width=22),
                     Column("target", max_width=30), Column("outcome", max_width=10), Column("detail")],
                    empty_text="no audit entries yet", id="audit-table")
            with Vertical(id="audit-hardening"):
                yield SafeStatic("", id="hardening-title", classes="section-title", markup=False)
                yield VirtualTable(
                    [Column("severity", 10), Column("id", max_width=28), Column("title", max_width=44),
                     Column("location")],
                    empty_text="h runs the hardening audit", id="hardening-table")
        yield JobStatus("", id="audit-status")

    def on_mount(self) -> None:
        self.action_refresh()

    def on_show(self) -> None:
        if self.view == "log":  # entries written since it was loaded (the other panes, the CLI)
            self.action_refresh()
        super().on_show()

    def focus_main(self) -> None:
        self.query_one("#audit-table" if self.view == "log" else "#hardening-table", VirtualTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("filter", "refresh", "hardening") and self.view != "log":
            return action == "hardening"
        if action == "log":
            return self.view != "log"
        return super().check_action(action, parameters)

    def action_refresh(self) -> None:
        from aptui.store import audit

        self.run_job("loading the audit log", audit.recent, self.ctx.store, limit=LIMIT, on_done=self._show,
                     group="audit-load", exclusive=True)

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def back(self) -> None:
        if self.view != "log":
            self.action_log()
            return
        self.query_one(FilterBox).close()
        self.focus_main()

    def _switch(self, view: str) -> None:
        self.view = view
        self.query_one(ContentSwitcher).current = f"audit-{view}"
        self.refresh_bindings()
        self.focus_main()

    def action_log(self) -> None:
        self._switch("log")
        self._count()

    def _show(self, rows: list[dict]) -> None:
        table = self.query_one("#audit-table", VirtualTable)
        table.set_rows(
            Row(r["seq"], (r["at"][:19].replace("T", " "), r["actor"], r["action"], r["target"], r["outcome"],
                           r["detail"] or ""))
            for r in rows)
        self._count()

    def _count(self) -> None:
        if self.view != "log":
            return
        table = self.query_one("#audit-table", VirtualTable)
        shown = f"{table.shown} of {table.total}" if table.filter_text else f"{table.total}"
        self.query_one(JobStatus).set_text(f"{shown} entries, newest first")

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.table.id == "audit-table":
            self._count()

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        from aptui.tui.screens.details import DetailsModal

        if self.view == "log":
            row = self.query_one("#audit-table", VirtualTable).current_row
            if row is None:
                return
            labels = ("at", "actor", "action", "target", "outcome", "detail")
            self.app.push_screen(DetailsModal(f"Audit entry #{row.key}", list(zip(labels, row.cells, strict=False))))
            return
        key = self.query_one("#hardening-table", VirtualTable).current_key
        f = self.findings.get(key) if key is not None else None
        if f is not None:
            fields = [("id", f.id), ("severity", f.severity), ("status", f.status), ("title", f.title),
                      ("evidence", f.evidence), ("fix", f.fix or "—"), ("location", f.location or "—")]
            self.app.push_screen(DetailsModal(f"Finding {f.id}", fields))

    # -- hardening --------------------------------------------------------------------------
    def action_hardening(self) -> None:
        from aptui.tui.screens.form import FormField, FormScreen

        form = FormScreen("Hardening audit", [
            FormField("directory", "Directory holding .env and docker-compose.yml", ".", value=str(Path.cwd())),
            FormField("url", "Public site URL (live HTTPS/HSTS checks)", "https://ap.example.com", optional=True),
            FormField("profile", "Profile for the platform API checks", "prod", optional=True,
                      value=self.app.profile_name or ""),  # type: ignore[attr-defined]
        ], about="Findings only name variables and files; secret values are never shown.")
        self.app.push_screen(form, self._run_hardening)

    def _run_hardening(self, values: dict[str, str] | None) -> None:
        if values is None:
            return
        self._switch("hardening")
        self.query_one("#hardening-title", SafeStatic).update(f"hardening audit of {values['directory']}")
        self.run_job("running the hardening audit", run_hardening, self.ctx, values["directory"], values["url"],
                     values["profile"], on_done=self._show_findings, group="audit-hardening", exclusive=True,
                     timeout=max(self.job_timeout(), 60))

    def _show_findings(self, report: Any) -> None:
        self.findings = {}
        rows = []
        for f in sorted(report.findings, key=lambda f: f.sort_key()):
            # keyed by what the finding is, not its place: after a re-run re-sorts, the cursor stays on it
            n = 1
            while (f.id, f.location or "", n) in self.findings:
                n += 1
            key = (f.id, f.location or "", n)
            self.findings[key] = f
            if f.is_open:
                cell = status_cell(self.app, False if f.severity == "high" else None,
                                   labels=("", f"✗ {f.severity}", f"▲ {f.severity}"))
            else:
                cell = status_cell(self.app, True, labels=("● ok", "", ""))
            rows.append(Row(key, (cell, f.id, f.title, f.location or "")))
        self.query_one("#hardening-table", VirtualTable).set_rows(rows)
        s = report.summary()
        sev = ", ".join(f"{v} {k}" for k, v in s["by_severity"].items() if v)
        self.query_one(JobStatus).set_text(f"{s['open']} open ({sev or 'none'}), {s['ok']} ok, "
                                           f"{s['skipped']} skipped · enter shows evidence and fix")
