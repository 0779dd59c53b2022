"""The migration flow (from the references pane, ``m``, or the palette): pick sources, review the
masked plan, apply step by step or all at once with progress, see the verification, roll back.

Everything runs off the UI loop through the app's service runner. Values are shown masked (first
two characters and the length) and never revealed here; the plan on disk holds fingerprints only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from aptui.tui.widgets.footer import FittingFooter
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

HELP = ("o picks the sources (JSON/YAML) and the target · n applies the next step · a applies every step · "
        "d shows the masked diff · r rolls back · esc closes")


class MigrateScreen(Screen):
    """One migration plan at a time; apply is resumable from here or from ``aptui migrate apply``."""

    DEFAULT_CSS = """
    MigrateScreen > Vertical { height: 1fr; }
    MigrateScreen .section-title { text-style: bold; }
    MigrateScreen #mig-plan { height: 1fr; }
    MigrateScreen #mig-steps { height: 8; }
    MigrateScreen #mig-diff { height: auto; max-height: 10; display: none; }
    """
    BINDINGS = [
        Binding("o", "pick", "Sources", id="migrate.pick"),
        Binding("n", "next_step", "Next step", id="migrate.next"),
        Binding("a", "apply_all", "Apply all", id="migrate.apply"),
        Binding("d", "diff", "Diff", id="migrate.diff"),
        Binding("r", "rollback", "Roll back", id="migrate.rollback"),
        Binding("escape", "close", "Back", id="migrate.close"),
    ]

    def __init__(self, sources: list[str] | None = None) -> None:
        super().__init__()
        self.initial_sources = sources or []
        self.plan: Any = None
        self.outcome: Any = None
        self.busy = False

    @property
    def ctx(self) -> Any:
        return self.app.ctx  # type: ignore[attr-defined]

    def compose(self):
        with Vertical():
            yield Static("Migrate hard-coded secrets — o picks the sources", id="mig-title",
                         classes="section-title", markup=False)
            yield VirtualTable([Column("id", 4), Column("where", max_width=30), Column("value", max_width=18),
                                Column("why", max_width=24), Column("target", max_width=34), Column("check", 10)],
                               empty_text="no plan yet: o picks JSON/YAML sources", id="mig-plan")
            yield Static("steps", classes="section-title", markup=False)
            yield VirtualTable([Column("n", 3), Column("step", max_width=48), Column("status", 8), Column("detail")],
                               empty_text="steps appear once a plan is made", id="mig-steps")
            yield Static("", id="mig-diff", markup=False)
            yield Static(HELP, id="mig-status", classes="hint", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one("#mig-plan", VirtualTable).focus()
        if self.initial_sources:
            self.action_pick()

    # -- jobs -------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.query_one("#mig-status", Static).update(text)

    def _run(self, label: str, fn: Any, *args: Any, then: Any, timeout: float | None = None, **kwargs: Any) -> None:
        from aptui.tui.jobs import describe

        if self.busy:
            self.notify("a migration step is running", severity="warning", markup=False)
            return
        self.busy = True
        self._status(f"{label} …")
        limit = timeout or float(self.ctx.settings.timeout) * (int(self.ctx.settings.retries) + 1) * 8 + 5

        async def job() -> None:
            try:
                result = await self.app.runner.call(fn, *args, timeout=limit, label=label, **kwargs)  # type: ignore[attr-defined]
            except Exception as exc:
                err = describe(exc)
                self._status(f"{label}: failed ({err.code}) — {HELP}")
                self.app.report_error(err, title=label)  # type: ignore[attr-defined]
            else:
                then(result)
            finally:
                self.busy = False

        self.run_worker(job(), name="pinned", group="migrate", exit_on_error=False, description=label)

    # -- pick sources, plan ------------------------------------------------------------------------
    def action_pick(self) -> None:
        from aptui.store import connections as store_conn
        from aptui.tui.screens.form import FormField, FormScreen

        names = tuple(c.name for c in store_conn.list_all(self.ctx.store))
        if not names:
            self.notify("add a secret-manager connection first (pane 1)", severity="warning", markup=False)
            return
        fields = [FormField("sources", "Sources: JSON/YAML files, space-separated", "./values.json ./inputs.yaml",
                            value=" ".join(self.initial_sources)),
                  FormField("to", "Target connection", choices=names, value=names[0]),
                  FormField("secret", "Target secret ({stem} = file name)", "prod/{stem}", optional=True),
                  FormField("project", "Project the references serve", "prj…", optional=True)]
        self.app.push_screen(FormScreen("Plan a migration", fields, about="aptui finds hard-coded secrets (key "
                                        "names, token shapes, entropy) and plans a reference for each; nothing "
                                        "is written until you apply."), self._plan)

    def _plan(self, values: dict[str, str] | None) -> None:
        if not values or not values.get("sources", "").strip():
            return
        from aptui.services.migrate import plan as planner

        sources = [Path(p) for p in values["sources"].replace(",", " ").split()]

        def make() -> Any:
            plan = planner.build_plan(self.ctx, sources, to=values["to"], secret=values.get("secret") or None,
                                      project=values.get("project") or None)
            folder = self.ctx.paths.data_dir / "migrate-plans"
            folder.mkdir(mode=0o700, exist_ok=True)
            planner.write_plan(plan, folder / f"{plan.id}.json")
            return plan

        self._run("planning", make, then=self._show_plan)

    def _show_plan(self, plan: Any) -> None:
        from aptui.services.migrate.apply import steps_for

        self.plan, self.outcome = plan, None
        rows = []
        for item in plan.items:
            value = plan.values.get(item["id"])
            where = f"{Path(plan.sources[item['source']]['file']).name} {item['location']}"
            rows.append(Row(item["id"], (item["id"], where, value.masked() if value else item["looks"],
                                         item["reason"], item["target"]["providerForm"], "planned")))
        self.query_one("#mig-plan", VirtualTable).set_rows(rows)
        self._show_steps(steps_for(plan))
        conn = plan.doc["connection"]["name"]
        self.query_one("#mig-title", Static).update(
            f"Plan {plan.id}: {len(plan.items)} secret(s) → {conn}, {len(plan.secrets())} target(s), "
            f"{len(plan.doc.get('skipped', []))} skipped")
        where = plan.file.name if plan.file is not None else "?"
        self._status(f"plan saved as migrate-plans/{where} in aptui's data directory (no values) — n next step · "
                     "a apply all")

    def _show_steps(self, steps: list[dict[str, Any]]) -> None:
        self.query_one("#mig-steps", VirtualTable).set_rows(
            [Row(s["n"], (str(s["n"]), s["label"], s["status"], s.get("detail") or "")) for s in steps])

    # -- apply ------------------------------------------------------------------------------------
    def _require_plan(self) -> bool:
        if self.plan is None:
            self.notify("no plan yet: o picks the sources", severity="warning", markup=False)
            return False
        if self.ctx.settings.read_only:
            from aptui.errors import usage

            self.app.report_error(usage("migrate is disabled in read-only mode", code="READ_ONLY"))  # type: ignore[attr-defined]
            return False
        return True

    def action_next_step(self) -> None:
        self._confirm_apply(one=True)

    def action_apply_all(self) -> None:
        self._confirm_apply(one=False)

    def _confirm_apply(self, *, one: bool) -> None:
        if not self._require_plan():
            return
        from aptui.tui.screens.confirm import ConfirmModal

        steps = self.outcome.steps if self.outcome is not None else None
        pending = [s for s in (steps or []) if s["status"] != "done"]
        label = pending[0]["label"] if pending else "the first step"
        what = f"Apply the next step: {label}" if one else "Apply every remaining step"
        self.app.push_screen(ConfirmModal("Apply the migration", what, "Secrets are written to the secret manager "
                                          "and sources rewritten (backups kept); r rolls back.",
                                          action_label="Apply"),
                             lambda ok: ok and self._apply(one=one))

    def _apply(self, *, one: bool) -> None:
        from aptui.services.migrate.apply import Migration

        allowed = {"left": 1 if one else 10**6}

        def confirm(step: dict[str, Any]) -> bool:
            allowed["left"] -= 1
            return allowed["left"] >= 0

        def progress(n: int, total: int, step: dict[str, Any]) -> None:
            text = f"[{n}/{total}] {step['label']} … {step['status'] if step['status'] != 'pending' else 'running'}"
            self.app.call_from_thread(self._status, text)

        migration = Migration(self.ctx, self.plan, confirm=confirm, progress=progress)
        self._run("applying", migration.run, then=self._applied, timeout=600)

    def _applied(self, outcome: Any) -> None:
        self.outcome = outcome
        self._show_steps(outcome.steps)
        checks = {r["id"]: ("✓ matches" if r["match"] else "✗ differs") for r in outcome.verification}
        table = self.query_one("#mig-plan", VirtualTable)
        rows = []
        for item in self.plan.items:
            value = self.plan.values.get(item["id"])
            where = f"{Path(self.plan.sources[item['source']]['file']).name} {item['location']}"
            rows.append(Row(item["id"], (item["id"], where, value.masked() if value else item["looks"],
                                         item["reason"], item["target"]["providerForm"],
                                         checks.get(item["id"], "planned"))))
        table.set_rows(rows)
        done = sum(s["status"] == "done" for s in outcome.steps)
        if outcome.error is not None and outcome.error.code != "CANCELLED":
            self._status(f"stopped: {outcome.error.one_line()} — fix it, then n/a resumes")
            self.app.report_error(outcome.error, title="migration step failed")  # type: ignore[attr-defined]
        else:
            state = "done" if outcome.ok else "paused"
            self._status(f"{state}: {done}/{len(outcome.steps)} steps, {outcome.api_calls} secret-manager call(s) "
                         "— d diff · r roll back")
            self.notify(f"migration {state}: {done}/{len(outcome.steps)} steps", markup=False)

    def action_diff(self) -> None:
        box = self.query_one("#mig-diff", Static)
        if self.outcome is None or not self.outcome.diffs:
            self.notify("no rewritten source yet", severity="warning", markup=False)
            return
        box.display = not box.display
        box.update("\n".join(self.outcome.diffs.values()))

    # -- rollback ---------------------------------------------------------------------------------
    def action_rollback(self) -> None:
        if not self._require_plan():
            return
        from aptui.tui.screens.confirm import ConfirmModal

        self.app.push_screen(ConfirmModal("Roll back the migration", f"plan {self.plan.id}",
                                          "Sources are restored byte for byte from their backups and app "
                                          "connections get their former values; the secrets stay in the manager "
                                          "(aptui migrate rollback --purge removes them).", action_label="Roll back"),
                             lambda ok: ok and self._rollback())

    def _rollback(self) -> None:
        from aptui.services.migrate.apply import rollback

        self._run("rolling back", rollback, self.ctx, self.plan, then=self._rolled_back, timeout=600)

    def _rolled_back(self, result: dict[str, Any]) -> None:
        self._status(f"rolled back: {len(result['actions'])} action(s) — {HELP}")
        self.notify(f"migration rolled back: {len(result['actions'])} action(s)", markup=False)
        self.query_one("#mig-steps", VirtualTable).set_rows(
            [Row(n, (str(n), a["target"], "undone", a["result"])) for n, a in enumerate(result["actions"], 1)])

    def action_close(self) -> None:
        if self.busy:
            self.notify("a migration step is running; it finishes first", severity="warning", markup=False)
            return
        self.app.pop_screen()
