"""Pane 2: references — live offline validation as you type, live test (masked), reveal/copy,
and a resolve report per JSON path for a whole JSON file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.widgets import Input

from aptui.errors import usage
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.inputs import CommandInput
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.secret import RevealableSecret
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

IDLE = "o opens a JSON file and resolves every reference in it"
MARKS = {"valid": "✓ valid", "resolves": "● resolves", "error": "✗ error", "passthrough": "○ passthrough",
         "not-resolved-by-activepieces": "○ not resolved"}
PLACEHOLDER = "{{connectionId|ap_sep_v1|path}}  — type or paste; enter tests it live"


def verdict_lines(r: Any) -> tuple[str, str, list[str]]:
    """(css class, headline, detail lines) for a RefResult. Never contains a secret value."""
    lines: list[str] = []
    if r.verdict == "error" and r.error is not None:
        head, cls = f"✗ {r.error.code}: {r.error.message}", "verdict-error"
        if r.error.hint:
            lines.append(f"hint: {r.error.hint}")
    elif r.verdict == "valid":
        where = f"{r.connection_name} ({r.provider_id})" if r.connection_name else (r.provider_id or "?")
        head, cls = f"✓ valid — Activepieces resolves it through {where}; t tests it live", "verdict-ok"
    elif r.verdict == "resolves":
        src = "from aptui's cache" if r.cached else "fetched live"
        head, cls = f"● resolves — {src}; the value is below, masked", "verdict-ok"
    elif r.verdict == "passthrough":
        head, cls = "○ passthrough — Activepieces returns this value unchanged", "verdict-warn"
        if r.detail:
            lines.append(r.detail)
    else:
        head, cls = "○ not resolved by Activepieces — it stays as written", "verdict-warn"
        if r.detail:
            lines.append(r.detail)
    if r.parsed:
        parts = [f"{k}={v}" for k, v in r.parsed.items() if v not in (None, "")]
        if parts:
            lines.append("parsed: " + "  ".join(parts))
    if r.suggested:
        lines.append(f"Activepieces needs: {r.suggested}")
    lines += [f"⚠ {w.label}: {w.message}" for w in r.warnings]
    return cls, head, lines


def resolve_file(ctx: Any, path: str, project_ids: list[str] | None):
    """Read a JSON file and start resolving it (a coroutine, run on the service loop)."""
    from aptui import docparse
    from aptui.services import references

    file = Path(path).expanduser()
    try:
        if file.stat().st_size > docparse.MAX_BYTES:
            raise usage(f"{file.name} is larger than {docparse.MAX_BYTES // (1024 * 1024)} MiB; not read",
                        code=docparse.CODE)
        text = file.read_text("utf-8")
    except FileNotFoundError:
        raise usage(f"no such file: {path}", code="FILE_NOT_FOUND") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise usage(f"cannot read {path} ({getattr(exc, 'strerror', None) or 'not UTF-8 text'})",
                    code="FILE_UNREADABLE") from None
    try:
        doc = docparse.loads_json(text, file.name)
    except json.JSONDecodeError as exc:
        raise usage(f"{file.name}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    return references.resolve_document(ctx, doc, project_ids=project_ids)


class ConnectionSuggester(Suggester):
    """Completes the connection id after ``{{``: by id prefix or by name (→ its id), then adds
    ``|ap_sep_v1|``; ``→`` (or end) accepts. The pane keeps ``connections`` up to date."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.connections: list[tuple[str, str]] = []  # (id, name)

    async def get_suggestion(self, value: str) -> str | None:
        start = value.rfind("{{")
        if start < 0 or "|" in value[start:] or "}}" in value[start:]:
            return None
        typed = value[start + 2:]
        if not typed:
            return None
        for cid, name in self.connections:
            if cid.startswith(typed) or name.lower().startswith(typed.lower()):
                return value[:start + 2] + cid + "|ap_sep_v1|"
        return None


class ReferencesPane(Pane, can_focus=True):
    PANE_ID = "refs"
    TITLE = "References"
    NOUN = "reference"
    NUMBER = "2"
    HELP = ("Type a reference as it appears in an app connection's value. It is checked offline as you type, "
            "with Activepieces' own error codes; enter (or t) resolves it live. Values stay masked until v "
            "reveals (it re-masks by itself) or y copies them (OSC 52, works over SSH).")
    BINDINGS = [
        Binding("t", "test", "Test live", id="refs.test"),
        Binding("enter", "test", "Test live", show=False, id="refs.test_enter"),
        Binding("v", "reveal", "Reveal", id="refs.reveal"),
        Binding("y", "copy", "Copy", id="refs.copy"),
        Binding("o", "open_file", "Open JSON", id="refs.open"),
        Binding("p", "project", "Project", id="refs.project"),
        Binding("i", "edit", "Edit ref", id="refs.edit"),
        Binding("m", "migrate", "Migrate secrets", show=False, id="refs.migrate"),
        Binding("slash", "filter", "Filter", show=False, id="pane.filter"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project_ids: list[str] | None = None
        self.results: dict[tuple[str, int], Any] = {}
        self.suggester = ConnectionSuggester()

    def compose(self):
        yield SafeStatic("Reference (project: any — p sets one)", classes="section-title", id="refs-title",
                     markup=False)
        yield CommandInput(placeholder=PLACEHOLDER, id="ref-input", suggester=self.suggester)
        yield SafeStatic("", id="ref-verdict", markup=False)
        yield SafeStatic("", id="ref-detail", classes="hint", markup=False)
        yield RevealableSecret(None, label="value", reveal_seconds=self.app.ctx.settings.reveal_seconds,  # type: ignore[attr-defined]
                               id="ref-value")
        with Vertical(id="ref-doc-box"):
            yield SafeStatic("", id="ref-doc-title", classes="section-title", markup=False)
            yield FilterBox("ref-doc", placeholder="filter JSON paths", id="ref-doc-filter")
            yield VirtualTable([Column("JSON path", max_width=32), Column("verdict", 16),
                                Column("connection", max_width=18), Column("detail")],
                               empty_text="o opens a JSON file", id="ref-doc")
        yield JobStatus(IDLE, id="refs-status")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._say_keys()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_after_refresh(self._say_keys)  # after the focus has moved on

    def on_focus(self, event: events.Focus) -> None:
        self._say_keys()

    def _say_keys(self) -> None:
        """While the input has the focus, letters type into it: the pane's hints say esc comes first."""
        typing = self.app.focused is self.query_one("#ref-input", Input)
        self.query_one("#ref-value", RevealableSecret).set_keys_after("esc, then " if typing else "")
        self.query_one(JobStatus).set_resting(f"esc, then {IDLE}" if typing else IDLE)

    def on_show(self) -> None:
        def names() -> list[tuple[str, str]]:
            from aptui.store import connections as store_conn

            return [(c.id, c.name) for c in store_conn.list_all(self.ctx.store)]

        self.run_job("reading connection ids", names, quiet=True, group="refs-names", exclusive=True,
                     on_done=lambda rows: setattr(self.suggester, "connections", rows))
        super().on_show()

    def insert_reference(self, connection_id: str) -> None:
        """Start a reference to a connection (pane 1's i): ``{{id|ap_sep_v1|`` and the path to type."""
        box = self.query_one("#ref-input", Input)
        box.value = "{{" + connection_id + "|ap_sep_v1|}}"
        box.focus()

        def place() -> None:  # after the focus (which puts the cursor at the end)
            box.cursor_position = len(box.value) - 2

        self.call_after_refresh(place)

    def on_mount(self) -> None:
        self.query_one("#ref-value").display = False
        self.query_one("#ref-doc-box").display = False

    def focus_main(self) -> None:
        self.query_one("#ref-input", Input).focus()

    def action_edit(self) -> None:
        self.focus_main()

    @mutating
    def action_migrate(self) -> None:
        """Move hard-coded secrets into a secret manager (aptui/tui/screens/migrate.py)."""
        from aptui.tui.screens.migrate import MigrateScreen

        self.app.push_screen(MigrateScreen())

    def back(self) -> None:
        """esc: close the JSON filter, else leave the input (number keys and q work again)."""
        box = self.query_one(FilterBox)
        if box.is_open:
            box.close()
            self.query_one("#ref-doc", VirtualTable).focus()
            return
        self.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # / filters a JSON file's report: only while one is shown
            return bool(self.query_one("#ref-doc-box").display)
        return super().check_action(action, parameters)

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    # -- live validation ------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "ref-input":
            return
        event.stop()
        self._set_value(None)
        text = event.value
        if not text.strip():
            self._verdict("", "", [])
            return
        from aptui.services import references

        self.run_job("checking", references.parse_reference, self.ctx, text, project_ids=self.project_ids,
                     on_done=self._show_result, group="refs-parse", quiet=True, exclusive=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ref-input":
            event.stop()
            self.action_test()

    def _verdict(self, cls: str, head: str, lines: list[str]) -> None:
        verdict = self.query_one("#ref-verdict", SafeStatic)
        verdict.set_classes(cls)
        verdict.update(head)
        self.query_one("#ref-detail", SafeStatic).update("\n".join(lines))

    def _show_result(self, result: Any) -> None:
        self._verdict(*verdict_lines(result))
        self._set_value(result.value, label="value")

    def _set_value(self, value: Any, *, label: str = "value") -> None:
        widget = self.query_one("#ref-value", RevealableSecret)
        widget.label = label
        widget.set_secret(value)
        widget.display = value is not None

    # -- live test, reveal, copy ------------------------------------------------------------
    def action_test(self) -> None:
        text = self.query_one("#ref-input", Input).value
        if not text.strip():
            self.notify("type a reference first", severity="warning", markup=False)
            return
        from aptui.services import references

        # "Test live" means live: aptui's cache is bypassed (and refreshed by the answer)
        self.run_job("resolving live", references.test_reference, self.ctx, text, project_ids=self.project_ids,
                     use_cache=False, on_done=self._tested, group="refs-test",
                     exclusive=True)

    def _tested(self, result: Any) -> None:
        """The result under the input; the focus stays where the operator left it (typing goes on
        into the input: a pane key typed there would switch panes or quit)."""
        self._show_result(result)

    @mutating  # not a change, but read-only is meant for an audience: no reveal (hidden and refused)
    def action_reveal(self) -> None:
        widget = self.query_one("#ref-value", RevealableSecret)
        if widget.secret is None:
            self.notify("nothing to reveal: test a reference first (t)", severity="warning", markup=False)
            return
        widget.action_reveal()

    def action_copy(self) -> None:
        widget = self.query_one("#ref-value", RevealableSecret)
        if widget.secret is None:
            self.notify("nothing to copy: test a reference first (t)", severity="warning", markup=False)
            return
        widget.action_copy()

    # -- project context --------------------------------------------------------------------
    def action_project(self) -> None:
        from aptui.tui.screens.form import FormField, FormScreen

        form = FormScreen("Project context", [FormField(
            "projects", "Project id(s), comma-separated — empty means any project", "prj…", optional=True,
            value=",".join(self.project_ids or []))],
            about="Activepieces resolves a reference for the projects of the connection that holds it; "
                  "PROJECT-scoped secret managers must list all of them.")
        self.app.push_screen(form, self._set_project)

    def _set_project(self, values: dict[str, str] | None) -> None:
        if values is None:
            return
        ids = [p.strip() for p in values.get("projects", "").split(",") if p.strip()]
        self.project_ids = ids or None
        label = ", ".join(ids) if ids else "any — p sets one"
        self.query_one("#refs-title", SafeStatic).update(f"Reference (project: {label})")
        text = self.query_one("#ref-input", Input).value
        if text.strip():
            from aptui.services import references

            self.run_job("checking", references.parse_reference, self.ctx, text, project_ids=self.project_ids,
                         on_done=self._show_result, group="refs-parse", quiet=True, exclusive=True)

    # -- JSON file --------------------------------------------------------------------------
    def action_open_file(self) -> None:
        from aptui.tui.screens.form import FormField

        self.open_form("Resolve a JSON file", [FormField("path", "JSON file", "./connection-value.json")],
                       self._open_file,
                       about="Every string is walked as Activepieces' resolveObject does: references in "
                             "arrays or inside longer strings are reported as not resolved.")

    def _open_file(self, values: dict[str, str], failed: Callable[[Exception], bool]) -> None:
        path = values["path"]
        self.run_job(f"resolving {Path(path).name}", resolve_file, self.ctx, path, self.project_ids, on_error=failed,
                     on_done=lambda report: self._show_report(Path(path).name, report))

    def _show_report(self, name: str, report: Any) -> None:
        from aptui.tui.format import status_cell

        self.results = {}
        rows = []
        for r in report.items:
            key, n = r.location or "$", 1  # by place in the document: a re-resolve keeps the cursor on it
            while (key, n) in self.results:
                n += 1
            self.results[(key, n)] = r
            if r.error is not None:
                detail = f"{r.error.code}: {r.error.message}"
            elif r.value is not None:
                detail = r.value.masked() + (" (cached)" if r.cached else "")
            else:
                detail = r.detail or ""
            ok = True if r.verdict == "resolves" else (False if r.verdict == "error" else None)
            mark = status_cell(self.app, ok, labels=(MARKS["resolves"], MARKS["error"],
                                                     MARKS.get(r.verdict, r.verdict)))
            conn = r.connection_name or (r.reference.connection_id if r.reference else "")
            rows.append(Row((key, n), (r.location or "$", mark, conn, detail)))
        counts = report.counts()
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        self.query_one("#ref-doc-title", SafeStatic).update(f"{name}: {summary or 'no strings'}")
        self.refresh_bindings()  # / (filter) now has a report to filter
        self.query_one("#ref-doc-box").display = True
        table = self.query_one("#ref-doc", VirtualTable)
        table.set_rows(rows)
        table.focus()

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.table.id != "ref-doc" or event.row is None:
            return
        r = self.results.get(event.row.key)  # type: ignore[arg-type]
        if r is not None:
            self._set_value(r.value, label=r.location or "$")
