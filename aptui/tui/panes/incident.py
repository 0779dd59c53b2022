"""Pane 6: incident response for a compromised credential — the runbook (scope, contain, flush,
recover, verify) as resumable steps with a live timeline. n opens an incident, c continues it
(decisions and confirmations in modals), s skips the next step with a reason, e exports the
timeline for the post-mortem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding

from aptui.masking import Secret
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.panes.rotation import INTERACTIVE_TIMEOUT, modal_confirm, show_secret_once
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

MARK = {"done": "✓", "skipped": "–", "failed": "✗", "waiting": "…", "running": "▶", "pending": "·"}
FINISHED = ("done", "skipped")
SKIP_REASONS = {"scope": "scope known from the leak report", "contain": "contained by the owning team",
                "flush": "no cache holds this credential", "recover": "no run needs a retry",
                "verify": "verified by the owning team"}


def console_hint(err: Exception) -> Exception:
    """A stopped runbook's error with the console's way forward as its hint (not CLI flags)."""
    from aptui.errors import AptuiError

    if not isinstance(err, AptuiError):
        return err
    step = err.params.get("step")
    hint = "c continues from this step (the contain choice can be made again) · s skips it with a reason"
    if (step == "contain" and err.params.get("cause") == "ROTATION_STOPPED") or err.code == "ROTATION_STOPPED":
        hint += " · pane 5 shows the stopped rotation (A aborts it)"
    return AptuiError(err.code, err.message, exit_code=err.exit_code, hint=hint, params=err.params)


def steps_text(step_status: dict[str, str], *, full: bool = False) -> str:
    """``✓scope –contain …`` (at 80 columns the names are cut to four letters)."""
    return " ".join(f"{MARK.get(v, '?')}{k if full else k[:4]}" for k, v in step_status.items())


class IncidentPane(Pane):
    DEFAULT_CSS = """
    IncidentPane #inc-table { height: 7; }
    IncidentPane #inc-timeline { height: 1fr; }
    IncidentPane #inc-head { height: 1; }
    """
    PANE_ID = "incident"
    TITLE = "Incident"
    NOUN = "incident"
    NUMBER = "6"
    HELP = ("The token-compromise runbook: scope (what it reaches), contain (rotate, or record a rotation done "
            "elsewhere), flush (aptui's and the platform's caches), recover (retry the runs that failed, dry run "
            "first) and verify (re-test). Every step is saved as it happens: after a dropped session, c continues "
            "where it stopped. n new incident, s skip the next step, e export the timeline.")
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("n", "new", "New", id="incident.new"),
        Binding("c", "continue", "Continue", id="incident.continue"),
        Binding("s", "skip", "Skip step", id="incident.skip"),
        Binding("e", "export", "Export", id="incident.export"),
        Binding("enter", "details", "Details", show=False, id="incident.details"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.doc: dict[str, Any] | None = None
        self.events: dict[int, dict[str, Any]] = {}
        self.selected: str | None = None
        self.loaded = False
        self._timeline_busy = False
        self._stale = False
        self._latest = ""

    def compose(self):
        yield VirtualTable(
            [Column("incident", max_width=9), Column("state", 6), Column("credential", max_width=30),
             Column("steps", max_width=40), Column("opened", max_width=11)],
            empty_text="no incident" + (" (read-only)" if self.ctx.settings.read_only else
                                        " — n opens one for a compromised credential"), id="inc-table")
        yield SafeStatic("", id="inc-head", classes="section-title", markup=False)
        yield VirtualTable(
            [Column("time", 8), Column("step", 8), Column("action", max_width=18), Column("outcome", 8),
             Column("detail")],
            empty_text="select an incident", id="inc-timeline")
        yield JobStatus("", id="inc-status")

    def on_show(self) -> None:
        if not self.loaded and not self.busy:
            self.action_refresh()
        super().on_show()

    def focus_main(self) -> None:
        self.query_one("#inc-table", VirtualTable).focus()

    # -- loading ------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        from aptui.services import incident

        self.run_job("reading incidents", incident.list_incidents, self.ctx, on_done=self._show_list,
                     group="incident-load", exclusive=True)

    def _show_list(self, rows: list[dict[str, Any]]) -> None:
        self.loaded = True
        self.incidents = {r["id"]: r for r in rows}
        table = self.query_one("#inc-table", VirtualTable)
        full = self.size.width >= 110
        table.set_rows([Row(r["id"], (r["id"], r["state"], r["credential"], steps_text(r["stepStatus"], full=full),
                                      r["created"][5:16].replace("T", " "))) for r in rows])
        if self.selected in self.incidents:
            table.move_to_key(self.selected)
        elif rows:
            self.selected = rows[0]["id"]
        self._load_timeline()
        open_count = sum(1 for r in rows if r["state"] == "open")
        hints = self.key_hints(("new", "new"), ("continue", "continue"), ("skip", "skip"), ("export", "export"))
        self.query_one(JobStatus).set_text(f"{len(rows)} incident(s), {open_count} open · {hints}")

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.control.id == "inc-table" and event.row is not None and event.row.key != self.selected:
            self.selected = str(event.row.key)
            self._load_timeline()

    def _load_timeline(self) -> None:
        if not self.selected:
            self.doc = None
            self.query_one("#inc-timeline", VirtualTable).set_rows([])
            self.query_one("#inc-head", SafeStatic).update("")
            return
        if self._timeline_busy:  # one read at a time; the newest request is served when it ends
            self._stale = True
            return
        from aptui.services import incident

        self._timeline_busy = True

        def failed(err: Exception) -> bool:
            self._timeline_busy = False
            return False

        self.run_job("reading the timeline", incident.view, self.ctx, self.selected, on_done=self._show_timeline,
                     on_error=failed, group="incident-timeline", quiet=True, cancellable=False)

    def _show_timeline(self, doc: dict[str, Any]) -> None:
        self._timeline_busy = False
        if doc["id"] != self.selected:
            self._stale = True  # the selection moved while reading: read again
            return
        self.doc = doc
        self.events = {e["seq"]: e for e in doc["timeline"]}
        nxt = doc.get("nextStep")
        since = str(doc["options"].get("since"))[5:16].replace("T", " ")
        self.query_one("#inc-head", SafeStatic).update(
            f"{doc['id']} {doc['state']}" + (f" · next: {nxt}" if nxt else "") + f" · runs since {since}"
            + f" · {doc['title']}")
        timeline = self.query_one("#inc-timeline", VirtualTable)
        timeline.set_rows([Row(e["seq"], (e["at"][11:19], e["step"], e["action"], e["outcome"], e["detail"] or ""))
                           for e in doc["timeline"]])
        timeline.call_after_refresh(timeline.action_last)

    def on_mount(self) -> None:
        self.set_interval(0.3, self._catch_up)

    def _live(self, step: str, action: str, outcome: str, detail: str) -> None:
        """A timeline event from the running job (service thread). It only marks the timeline stale:
        the UI catches up a few times a second, and the job never waits for the screen."""
        self._latest = f"{step}: {action} {outcome}"
        self._stale = True

    def _catch_up(self) -> None:
        if not self._stale or self._timeline_busy:
            return
        self._stale = False
        status = self.query_one(JobStatus)
        if status.busy:
            status.start(self._latest)
        self._load_timeline()

    def _current(self) -> dict[str, Any] | None:
        row = self.incidents.get(self.selected or "")
        if row is None:
            self.notify("no incident selected (n opens one)", severity="warning", markup=False)
        return row

    # -- new ----------------------------------------------------------------------------------------
    @mutating
    def action_new(self) -> None:
        from aptui.services import rotation

        self.run_job("listing credentials", rotation.list_items, self.ctx, offline=True, on_done=self._pick_credential)

    def _pick_credential(self, report: Any) -> None:
        if not report.items:
            self.notify("no credential known yet: add a connection (1) or a profile (4)", severity="warning",
                        markup=False)
            return
        from aptui.tui.screens.choice import ChoiceModal

        options = [(i.id, f"{i.id}  ({i.kind})") for i in report.items]
        self.app.push_screen(ChoiceModal("Which credential is compromised?", options), self._new_form)

    def _new_form(self, item_id: str | None) -> None:
        if not item_id:
            return
        from aptui.tui.screens.form import FormField

        self.open_form(f"New incident: {item_id}", [
            FormField("title", "Title (one line)", f"Compromised credential {item_id}", optional=True),
            FormField("since", "Retry runs that failed since (6h, 2d or an ISO time)", "24h", value="24h"),
            FormField("scan", "Files or directories to scan for references (comma-separated)", "~/flows",
                      optional=True),
        ], lambda values, failed: self._start(item_id, values, failed),
            about="Nothing is changed yet: the scope step only reads. c walks the next steps.")

    def _start(self, item_id: str, values: dict[str, str], failed: Callable[[Exception], bool]) -> None:
        from aptui.services import incident

        scan = [p.strip() for p in (values.get("scan") or "").split(",") if p.strip()]
        self.run_job("opening the incident", incident.start, self.ctx, item_id, title=values.get("title") or None,
                     since=values.get("since") or "24h", scan=scan, profile=self.app.profile_name,  # type: ignore[attr-defined]
                     cancellable=False, on_done=self._opened, on_error=failed)

    def _opened(self, inc: Any) -> None:
        self.selected = inc.id
        self.notify(f"incident {inc.id} opened for {inc.credential_item}; c walks the runbook", markup=False)
        self.action_refresh()

    # -- continue -----------------------------------------------------------------------------------
    @mutating
    def action_continue(self) -> None:
        """Scope first (read-only, shown on screen), then the contain question, then the rest."""
        row = self._current()
        if row is None:
            return
        if row["state"] == "closed":
            self.notify("this incident is closed; e exports its timeline", markup=False)
            return
        status = row["stepStatus"]
        if status.get("scope") not in FINISHED:
            self._run(row, {}, until="scope")
            return
        if status.get("contain") not in FINISHED:
            self._ask_contain(row)
            return
        self._run(row, {})

    def _ask_contain(self, row: dict[str, Any]) -> None:
        from aptui.services import incident

        self.run_job("reading the contain options", incident.contain_choices, self.ctx, row["id"],
                     on_done=lambda info: self._contain_modal(row, info))

    def _contain_modal(self, row: dict[str, Any], info: dict[str, Any]) -> None:
        if info["markedAt"]:  # recorded rotated in pane 5 (or by `rotation mark`) since the incident opened
            self._run(row, {})
            return
        from aptui.tui.screens.choice import ChoiceModal

        scope = (self.doc or {}).get("steps", {}).get("scope", {}).get("summary") if self.doc and \
            self.doc["id"] == row["id"] else None
        title = f"Contain {row['credential']}" + (f"\nscope: {scope}" if scope else "")
        if info["stopped"]:
            title += f"\nlast try stopped: {info['stopped']}"
        if not info["rotatable"]:
            title += "\naptui cannot rotate this credential: rotate it where it lives, then record it here"
        current = info["previous"] if info["previous"] in {k for k, _ in info["choices"]} else None
        self.app.push_screen(ChoiceModal(title, info["choices"], current=current),
                             lambda choice: self._contain(row, choice))

    def _contain(self, row: dict[str, Any], choice: str | None) -> None:
        if not choice:
            return
        if choice == "skip":
            self._ask_skip(row, "contain")
            return
        if choice == "elsewhere":
            self._ask_elsewhere(row)
            return
        from aptui.services import rotation

        self.run_job("checking the credential", rotation.find_item, self.ctx, row["credential"],
                     on_done=lambda item: self._rotate_choice(row, item))

    def _ask_elsewhere(self, row: dict[str, Any]) -> None:
        from aptui.tui.screens.form import FormField, FormScreen

        form = FormScreen(f"Rotated elsewhere: {row['credential']}", [
            FormField("rotated_at", "Rotated at (now, 2h ago as 2h, or an ISO time)", "now", value="now"),
            FormField("note", "Note (recorded in the timeline and pane 5)", "",
                      value=f"rotated elsewhere (incident {row['id'][:8]})", optional=True),
        ], about="Nothing is rotated by aptui: this records when and how it was done. ctrl+s accepts.")
        self.app.push_screen(form, lambda values: self._elsewhere(row, values))

    def _elsewhere(self, row: dict[str, Any], values: dict[str, str] | None) -> None:
        if values is None:
            return
        from aptui.services import incident

        try:
            when = incident.parse_rotated_at(values.get("rotated_at") or "now")
        except Exception as err:  # a bad time: say so and ask again, keeping what was typed
            self.app.report_error(err, title="rotated at")  # type: ignore[attr-defined]
            return
        self._run(row, {"contain": "elsewhere", "rotated_at": when, "note": values.get("note") or None})

    def _rotate_choice(self, row: dict[str, Any], item: Any) -> None:
        from aptui.services import rotation

        field = rotation.needs_secret(item)
        if field and not item.pending:
            from aptui.tui.screens.form import FormField, FormScreen

            form = FormScreen(f"New {field} for {item.id}", [FormField("secret", f"New {field}", "", secret=True)],
                              about="aptui tests it before storing it; the old one stays until then.")
            self.app.push_screen(form, lambda values: self._with_secret(row, values))
            return
        self._run(row, {"contain": "rotate"})

    def _with_secret(self, row: dict[str, Any], values: dict[str, str] | None) -> None:
        if values is not None:
            self._run(row, {"contain": "rotate", "secret": values.get("secret", "")})

    def _run(self, row: dict[str, Any], choices: dict[str, Any], *, until: str | None = None) -> None:
        from aptui.services import incident

        secret = choices.get("secret") or ""
        if secret:
            self.app.remember_secret(secret)  # type: ignore[attr-defined]
        decisions = incident.Decisions(
            contain=choices.get("contain"), new_secret=Secret(secret) if secret else None,
            rotated_at=choices.get("rotated_at"), note=choices.get("note"), until=until,
            confirm=modal_confirm(self, f"Incident {row['id'][:8]}", row["credential"]),
            on_event=self._live, on_secret=lambda item, s: show_secret_once(self, f"New MCP token for {item}", s))
        self.run_job(f"incident {row['id'][:8]}", incident.run, self.ctx, row["id"], decisions,
                     cancellable=False, timeout=INTERACTIVE_TIMEOUT,
                     on_done=lambda inc: self._ran(inc, row, until), on_error=self._stopped)

    def _ran(self, inc: Any, row: dict[str, Any], until: str | None = None) -> None:
        if until == "scope" and inc.state != "closed":  # scope is on screen: now ask how to contain
            self.action_refresh()
            self.call_after_refresh(self._after_scope, inc.id)
            return
        self.notify(f"incident {inc.id} closed · e exports the timeline" if inc.state == "closed"
                    else f"incident {inc.id}: paused · c continues", markup=False)
        self.action_refresh()

    def _after_scope(self, incident_id: str) -> None:
        from aptui.services import incident

        self.run_job("reading the incident", incident.view, self.ctx, incident_id,
                     on_done=self._contain_after_scope, quiet=True)

    def _contain_after_scope(self, doc: dict[str, Any]) -> None:
        self.doc = doc if doc["id"] == self.selected else self.doc
        row = {k: doc[k] for k in ("id", "title", "credential", "state", "nextStep", "stepStatus")}
        if doc["stepStatus"].get("contain") not in FINISHED:
            self._ask_contain(row)

    def _stopped(self, err: Exception) -> bool:
        self.app.report_error(console_hint(err), title="Incident stopped", modal=True)  # type: ignore[attr-defined]
        self.action_refresh()
        return True

    # -- skip ---------------------------------------------------------------------------------------
    @mutating
    def action_skip(self) -> None:
        row = self._current()
        if row is None:
            return
        step = row.get("nextStep")
        if not step:
            self.notify("no step left to skip", markup=False)
            return
        self._ask_skip(row, step)

    def _ask_skip(self, row: dict[str, Any], step: str) -> None:
        from aptui.tui.screens.form import FormField, FormScreen

        form = FormScreen(f"Skip {step} of incident {row['id'][:8]}",
                          [FormField("reason", "Reason (recorded in the timeline)", "handled by the on-call team",
                                     value=SKIP_REASONS.get(step, "not needed for this incident"))],
                          about="ctrl+s records the reason shown; edit it first if it says too little.")
        self.app.push_screen(form, lambda values: self._skip(row, step, values["reason"]) if values else None)

    def _skip(self, row: dict[str, Any], step: str, reason: str) -> None:
        from aptui.services import incident

        self.run_job(f"skipping {step}", incident.skip, self.ctx, row["id"], step, reason, cancellable=False,
                     on_done=lambda _: (self.notify(f"{step} skipped", markup=False), self.action_refresh()))

    # -- export -------------------------------------------------------------------------------------
    def action_export(self) -> None:
        row = self._current()
        if row is None:
            return
        from aptui.tui.screens.form import FormField, FormScreen

        default = str(self.ctx.paths.data_dir / f"incident-{row['id'][:8]}.md")
        form = FormScreen(f"Export incident {row['id'][:8]}", [
            FormField("format", "Format", choices=("md", "json"), value="md"),
            FormField("path", "File (written 0600)", default, value=default)],
            about="A timeline for the post-mortem: who, when, what, outcome. It holds no secret values.")
        self.app.push_screen(form, lambda values: self._export(row, values) if values else None)

    def _export(self, row: dict[str, Any], values: dict[str, str]) -> None:
        from aptui.services import incident

        def write() -> str:
            import os
            from pathlib import Path

            from aptui.errors import usage

            fmt = values.get("format") or "md"
            path = Path(values["path"]).expanduser()
            if fmt == "json" and path.suffix == ".md":
                path = path.with_suffix(".json")
            if not path.parent.is_dir():
                raise usage(f"directory {path.parent} does not exist")
            text = incident.export(self.ctx, row["id"], fmt)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return str(path)

        self.run_job("exporting the timeline", write, cancellable=False,
                     on_done=lambda path: self.notify(f"timeline written to {self.app.display_path(path)}",  # type: ignore[attr-defined]
                                                      markup=False))

    # -- details ------------------------------------------------------------------------------------
    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        from aptui.tui.screens.details import DetailsModal

        if self.doc is None:
            return
        steps = self.doc["steps"]
        fields: list[tuple[str, object]] = [("incident", self.doc["id"]), ("title", self.doc["title"]),
                                            ("credential", self.doc["credential"]), ("state", self.doc["state"])]
        for name, entry in steps.items():
            fields.append((name, f"{entry.get('status')}: {entry.get('summary') or entry.get('reason') or ''}"))
        scope = steps.get("scope", {}).get("result") or {}
        for p in scope.get("projects") or []:
            fields.append(("project", f"{p.get('name') or ''} {p['id']}"))
        for r in scope.get("references") or []:
            fields.append(("reference", f"{r['file']}:{r.get('line') or ''} {r['location']}"))
        for a in scope.get("appConnections") or []:
            fields.append(("app connection", f"{a.get('displayName')} ({a.get('id')})"))
        self.app.push_screen(DetailsModal(f"incident {self.doc['id']}", fields))
