"""Pane 5: credential rotation — every credential with its due date (observed from the provider or
recorded), state, source and confidence; mark one rotated (m), rotate it step by step (x), each
step confirmed in a modal, abort a rotation that stopped (A)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.binding import Binding

from aptui.masking import Secret
from aptui.tui import format as fmt
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

STATE_LABEL = {"overdue": ("✗ overdue", "error"), "due soon": ("▲ soon", "warning"), "ok": ("● ok", "success"),
               "unknown": ("○ unknown", "text-muted")}
# Confirmations wait for the operator: a rotation job may sit on a modal for a long time.
INTERACTIVE_TIMEOUT = 6 * 3600.0


def state_cell(app: Any, state: str, stopped: bool = False):
    """The row's state; a rotation left half-way shows as ``◐ stopped`` whatever the due date says."""
    from rich.text import Text

    label, var = ("◐ stopped", "warning") if stopped else STATE_LABEL.get(state, (state, "text-muted"))
    return Text(label, style=fmt.theme_color(app, var) or "")


async def load_items(ctx: Any, *, offline: bool, progress: Any) -> tuple[Any, dict[str, dict[str, str]], Any]:
    """The rotation list, where each rotation in progress stands ({item id: {step, state}}), and
    the open incident's credential (the pane opens on it)."""
    from aptui.services import rotation

    report = await rotation.list_items(ctx, offline=offline, progress=progress)
    stopped: dict[str, dict[str, str]] = {}
    for item in report.items:
        if item.pending:
            rot = rotation.pending(ctx, item.id)
            if rot is not None:
                stopped[item.id] = {"step": rot.next_step or "?", "state": rotation.state_text(rot),
                                    "error": rot.run.error or ""}
    from aptui.services import incident

    return report, stopped, incident.open_target(ctx)


def relative(dt: Any, *, due: bool = False) -> str:
    from aptui.services.rotation.items import relative as rel

    return rel(dt, due=due, now=fmt.utc_now())


def short_source(source: str | None) -> str:
    from aptui.services.rotation.items import short_source as short

    return short(source)


def when(dt: Any, *, due: bool = False) -> str:
    """``2027-02-18 in 84d`` / ``2026-10-30 27d late`` / ``2026-08-01 5d ago``; ``—`` for None."""
    if dt is None:
        return "—"
    return f"{dt.date().isoformat()} {relative(dt, due=due)}"


def modal_confirm(pane: Pane, title: str, target: str, *, action_label: str = "Go on"):
    """An async ``confirm(step, text)`` for services running on the service loop: it shows a
    ConfirmModal on the UI thread and waits for the answer without blocking the loop."""

    async def confirm(step: str, text: str) -> bool:
        from aptui.tui.screens.confirm import ConfirmModal

        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def done(ok: bool | None) -> None:
            loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(bool(ok)))

        modal = ConfirmModal(f"{title}: {step}", target, text[:1].upper() + text[1:] + ".", action_label=action_label)
        pane.app.call_from_thread(pane.app.push_screen, modal, done)
        return await answer

    return confirm


def show_secret_once(pane: Pane, title: str, secret: Secret) -> None:
    """From the service loop: show a freshly issued secret in a ShowOnceModal."""
    from aptui.tui.screens.show_once import ShowOnceModal

    pane.app.call_from_thread(pane.app.push_screen, ShowOnceModal(
        title, secret, label="token", reveal_seconds=pane.ctx.settings.reveal_seconds))


class RotationPane(Pane):
    PANE_ID = "rotation"
    TITLE = "Rotation"
    NOUN = "rotation"
    NUMBER = "5"
    HELP = ("Every credential aptui knows and when it is due: the date comes from the provider where it can tell "
            "(observed: IAM key age, Vault secret-id lookup, AWS secret metadata, MCP server, platform API keys) "
            "or from what aptui recorded. m marks one rotated, x rotates it step by step (AWS, Vault and the "
            "platform's API keys issue the new credential; Conjur and 1Password take it from a hidden field; MCP "
            "through the platform), A aborts a stopped rotation, o toggles provider lookups.")
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("m", "mark", "Mark rotated", id="rotation.mark"),
        Binding("x", "rotate", "Rotate", id="rotation.rotate"),
        Binding("A", "abort", "Abort", id="rotation.abort"),
        Binding("o", "offline", "Offline", show=False, id="rotation.offline"),
        Binding("enter", "details", "Details", show=False, id="rotation.details"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items: dict[str, Any] = {}
        self.stopped: dict[str, dict[str, str]] = {}
        self._incident_shown: str | None = None
        self.offline = False
        self.loaded = False

    def compose(self):
        yield SafeStatic("", id="rot-summary", classes="section-title", markup=False)
        yield FilterBox("rot-table", placeholder="filter (item, kind, state, source)", id="rot-filter")
        yield VirtualTable(
            [Column("state", 10), Column("item", max_width=30), Column("due", 10), Column("in", 9),
             Column("rotated", 8), Column("source", max_width=20), Column("conf.", 6)],
            empty_text="no credential known yet — add a connection (1) or a profile (4)", id="rot-table")
        yield JobStatus("", id="rot-status")

    def on_show(self) -> None:
        if not self.loaded and not self.busy:
            self.action_refresh()
        super().on_show()

    def focus_main(self) -> None:
        self.query_one("#rot-table", VirtualTable).focus()

    def back(self) -> None:
        self.query_one(FilterBox).close()
        self.focus_main()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def action_offline(self) -> None:
        self.offline = not self.offline
        self.notify("provider lookups off: recorded dates only" if self.offline else "provider lookups on",
                    markup=False)
        self.action_refresh()

    def action_refresh(self) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self.query_one(JobStatus).start, f"looking up {done}/{total}")

        self.run_job("reading rotation dates", load_items, self.ctx, offline=self.offline,
                     progress=progress, on_done=self._show, group="rotation-load", exclusive=True,
                     timeout=max(self.job_timeout(), 3 * float(self.ctx.settings.timeout) * 2 + 10))

    def _show(self, loaded: tuple[Any, dict[str, dict[str, str]], Any]) -> None:
        report, self.stopped, target = loaded
        self.loaded = True
        self.items = {i.id: i for i in report.items}
        rows = [Row(i.id, (state_cell(self.app, i.state, i.id in self.stopped), i.id,
                           i.due.date().isoformat() if i.due else "—",
                           f"at {self.stopped[i.id]['step']}" if i.id in self.stopped else relative(i.due, due=True),
                           relative(i.last_rotated), short_source(i.source), i.confidence)) for i in report.items]
        table = self.query_one("#rot-table", VirtualTable)
        table.set_rows(rows)
        if target and target.get("item") and self._incident_shown != target["incident"]:
            self._incident_shown = target["incident"]  # once per incident; then the cursor is the operator's
            table.move_to_key(target["item"])
        counts = report.counts()
        text = " · ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing to track"
        self.query_one("#rot-summary", SafeStatic).update(
            f"{text}{'  (offline: recorded dates)' if self.offline else ''}")
        hint = self.key_hints(("mark", "mark"), ("rotate", "rotate"), ("details", "notes"))
        if self.stopped:
            hint = f"{len(self.stopped)} rotation(s) stopped: " + self.key_hints(("rotate", "resumes"),
                                                                               ("abort", "aborts")) + " · " + hint
        if report.all_unreachable:
            hint = "every lookup was unreachable: recorded dates · " + hint
        self.query_one(JobStatus).set_text(hint)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is False or action != "abort":
            return allowed
        key = self.query_one("#rot-table", VirtualTable).current_key
        return key in self.stopped  # A is in the footer while a stopped rotation is selected

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        self.refresh_bindings()

    def _selected(self) -> Any:
        key = self.query_one("#rot-table", VirtualTable).current_key
        item = self.items.get(key) if key is not None else None
        if item is None:
            self.notify("no credential selected", severity="warning", markup=False)
        return item

    # -- details ------------------------------------------------------------------------------------
    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        from aptui.tui.screens.details import DetailsModal

        item = self._selected()
        if item is None:
            return
        fields: list[tuple[str, object]] = [
            ("item", item.id), ("what", item.label), ("kind", item.kind), ("state", item.state),
            ("due", when(item.due, due=True)), ("last rotated", when(item.last_rotated)),
            ("source", item.source or "—"), ("confidence", item.confidence),
            ("policy", f"{item.policy / 86400:g} days"), ("rotate with", item.how),
            ("in progress", "yes (x resumes, A aborts)" if item.pending else "no")]
        if item.id in self.stopped:
            where = self.stopped[item.id]
            fields += [("stopped at", where["step"]), ("now", where["state"])]
            if where["error"]:
                fields.append(("last error", where["error"]))
        fields += [(f"note {n}", note) for n, note in enumerate(item.notes, start=1)]
        self.app.push_screen(DetailsModal(f"rotation: {item.id}", fields))

    # -- mark ---------------------------------------------------------------------------------------
    @mutating
    def action_mark(self) -> None:
        item = self._selected()
        if item is None:
            return
        from aptui.tui.screens.form import FormField

        self.open_form(f"Mark {item.id} rotated", [
            FormField("date", "When (ISO date or time; empty: now)", "2026-11-20", optional=True),
            FormField("note", "Note (where or how; never a secret)", "rotated in the AWS console", optional=True),
        ], lambda values, failed: self._mark(item.id, values, failed),
            about="Records the rotation date aptui uses when the provider cannot tell (confidence: low).")

    def _mark(self, item_id: str, values: dict[str, str], failed: Callable[[Exception], bool]) -> None:
        from aptui.clock import parse_iso
        from aptui.errors import usage
        from aptui.services import rotation

        def mark() -> Any:
            at = None
            if values.get("date"):
                try:
                    at = parse_iso(values["date"])
                except ValueError:
                    raise usage(f"not a date: {values['date']!r}", hint="e.g. 2026-11-20 or 2026-11-20T10:00Z") \
                        from None
            return rotation.mark(self.ctx, item_id, at=at, note=values.get("note") or None)

        self.run_job(f"marking {item_id}", mark, cancellable=False, on_error=failed,
                     on_done=lambda found: (self.notify(f"{found.id}: recorded, due {when(found.due, due=True)}",
                                                        markup=False), self.action_refresh(),
                                            self.note_incident("contain", "mark", "ok",
                                                               f"recorded rotated at {when(found.last_rotated)}",
                                                               item_id=found.id)))

    # -- rotate -------------------------------------------------------------------------------------
    @mutating
    def action_rotate(self) -> None:
        item = self._selected()
        if item is None:
            return
        from aptui.services import rotation

        if item.how == "mark":
            self.notify(f"{item.id} is rotated in AWS Secrets Manager; m records the date", severity="warning",
                        markup=False)
            return
        field = rotation.needs_secret(item)
        if field and not item.pending:
            from aptui.tui.screens.form import FormField, FormScreen

            form = FormScreen(f"Rotate {item.id}", [FormField("secret", f"New {field}", "", secret=True)],
                              about="Issue the new credential in the provider first. aptui tests it, then stores "
                                    "it (and updates the platform's connection); the old one stays until then.")
            self.app.push_screen(form, lambda values: self._rotate(item, values))
            return
        self._rotate(item, {})

    def _rotate(self, item: Any, values: dict[str, str] | None) -> None:
        if values is None:
            return
        from aptui.services import rotation

        secret = values.get("secret") or ""
        if secret:
            self.app.remember_secret(secret)  # type: ignore[attr-defined]
        status = self.query_one(JobStatus)

        def on_step(result: Any) -> None:
            if result.secret is not None:
                show_secret_once(self, f"New MCP token for {item.id}", result.secret)
                result.secret = None
            self.app.call_from_thread(status.start, f"{item.id}: {result.step} {result.outcome}")

        confirm = modal_confirm(self, f"Rotate {item.id}", item.label)
        self.run_job(f"rotating {item.id}", rotation.rotate, self.ctx, item.id, confirm=confirm,
                     new_secret=Secret(secret) if secret else None, profile=self.app.profile_name,  # type: ignore[attr-defined]
                     on_step=on_step, on_done=lambda rot: self._rotated(item.id), on_error=self._stopped,
                     cancellable=False, timeout=INTERACTIVE_TIMEOUT)

    def _rotated(self, item_id: str) -> None:
        self.notify(f"{item_id}: rotation complete", markup=False)
        self.note_incident("contain", "rotate", "ok", "rotated with aptui (pane 5)", item_id=item_id)
        self.action_refresh()

    def _stopped(self, err: Exception) -> bool:
        """A stopped rotation is read in a modal (it says where it stopped and what is left)."""
        self.app.report_error(err, title="Rotation stopped", modal=True)  # type: ignore[attr-defined]
        self.action_refresh()
        return True

    @mutating
    def action_abort(self) -> None:
        item = self._selected()
        if item is None:
            return
        if not item.pending:
            self.notify(f"no rotation of {item.id} is in progress", severity="warning", markup=False)
            return
        from aptui.services import rotation

        self.run_job("reading the abort options", rotation.abort_options, self.ctx, item.id,
                     on_done=lambda options: self._abort_choice(item, options))

    def _abort_choice(self, item: Any, options: list[tuple[str, str]]) -> None:
        """One way out: confirm it. Several (stopped after store): choose, then confirm."""
        if len(options) == 1:
            self._confirm_abort(item, *options[0])
            return
        from aptui.tui.screens.choice import ChoiceModal

        where = self.stopped.get(item.id, {})
        title = f"Abort the rotation of {item.id}" + (f"\nnow: {where['state']}" if where.get("state") else "")
        labels = dict(options)
        self.app.push_screen(ChoiceModal(title, options),
                             lambda mode: self._confirm_abort(item, mode, labels[mode]) if mode else None)

    def _confirm_abort(self, item: Any, mode: str, what: str) -> None:
        from aptui.services import rotation

        self.confirm(f"Abort the rotation of {item.id}?", item.label, what[:1].upper() + what[1:] + ".",
                     lambda: self.run_job(f"aborting {item.id}", rotation.abort, self.ctx, item.id, mode=mode,
                                          cancellable=False, on_done=self._aborted),
                     action_label="Abort")

    def _aborted(self, result: dict[str, Any]) -> None:
        done = "; ".join(result["undone"] + result["problems"]) or "nothing to undo"
        self.notify(f"{result['item']}: aborted ({done}); {result['state']}", markup=False,
                    severity="information" if result["ok"] else "warning")
        self.note_incident("contain", "rotation abort", "ok" if result["ok"] else "partial", done,
                           item_id=result["item"])
        self.action_refresh()
