"""Pane 1: secret-manager connections — list, add/edit (secret fields masked), test, delete."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from aptui.masking import Secret
from aptui.providers.fields import PROVIDERS
from aptui.tui.format import ago, seconds, status_cell
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.screens.form import FormField, FormScreen
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

UNCHANGED = "unchanged — type to replace"


# Stored encrypted like the secrets, but not secret in the form's sense: typed in clear (checkable).
TYPED_IN_CLEAR = {"accessKeyId"}


def connection_fields(provider_id: str, view: dict[str, Any] | None = None) -> list[FormField]:
    """The form for one provider: name, scope, projects, then Activepieces' own fields."""
    spec = PROVIDERS[provider_id]
    view = view or {}
    fields = [
        FormField("name", "Name", "e.g. prod-aws", value=view.get("name", "")),
        FormField("scope", "Scope", choices=("PLATFORM", "PROJECT"), value=view.get("scope", "PLATFORM")),
        FormField("projects", "Project ids (comma-separated, for PROJECT scope)", "prj…", optional=True,
                  value=",".join(view.get("projectIds", []))),
    ]
    shown = view.get("config", {})
    for f in spec.fields:
        if f.secret:  # never pre-filled (the stored value is not shown); typed masked unless TYPED_IN_CLEAR
            fields.append(FormField(f.name, f.display_name, UNCHANGED if view else f.placeholder,
                                    secret=f.name not in TYPED_IN_CLEAR, optional=bool(view) or f.optional))
        else:
            # "e.g.": a grey "us-east-1" in an empty field reads as a value already filled in
            fields.append(FormField(f.name, f.display_name, f"e.g. {f.placeholder}", optional=f.optional,
                                    value=str(shown.get(f.name, ""))))
    fields.append(FormField("test_first", "Test the connection before saving", choices=("yes", "no")))
    return fields


class SecretManagersPane(Pane):
    PANE_ID = "sm"
    TITLE = "Secret managers"
    TAB = "Managers"
    NOUN = "secret manager"
    NUMBER = "1"
    HELP = ("Connections to AWS Secrets Manager, Vault, Conjur and 1Password, kept in the local encrypted "
            "store. Secret fields are never shown again after saving.")
    BINDINGS = [
        Binding("a", "add", "Add", id="sm.add"),
        Binding("e", "edit", "Edit", id="sm.edit"),
        Binding("t", "test", "Test", id="sm.test"),
        Binding("d", "delete", "Delete", id="sm.delete"),
        Binding("i", "insert_ref", "Reference", id="sm.reference"),
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("enter", "details", "Details", show=False, id="sm.details"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.views: dict[str, dict[str, Any]] = {}
        self._focus_key: str | None = None

    def compose(self):
        yield FilterBox("sm-table", placeholder="filter connections", id="sm-filter")
        yield VirtualTable(
            [Column("status", 10), Column("name", max_width=24), Column("id", 21, wide=110),
             Column("provider", max_width=15),
             Column("scope", 8), Column("projects", max_width=20), Column("last test", 10), Column("cached")],
            empty_text="no connections yet" + (" (read-only)" if self.ctx.settings.read_only else
                                               " — press a to add one"), id="sm-table")
        yield JobStatus("", id="sm-status")

    def on_mount(self) -> None:
        self.action_refresh()

    def focus_main(self) -> None:
        self.query_one(VirtualTable).focus()

    def back(self) -> None:
        self.query_one(FilterBox).close()
        self.focus_main()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    # -- list ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        from aptui.services import connections

        self.run_job("loading connections", connections.list_connections, self.ctx, on_done=self._show,
                     group="sm-load", exclusive=True)

    def _show(self, views: list[dict[str, Any]]) -> None:
        self.views = {v["id"]: v for v in views}
        rows = []
        for v in views:
            projects = ",".join(v["projectIds"]) if v["scope"] == "PROJECT" else "all"
            if v.get("integrity") == "tampered":  # changed outside aptui: never shown as fine
                state = status_cell(self.app, False, labels=("", "✗ tampered", ""))
            else:
                state = status_cell(self.app, v["connection"]["connected"])
            rows.append(Row(v["id"], (
                state, v["name"], v["id"], v["providerId"], v["scope"],
                projects, ago(v["lastTest"]["at"]),
                f"{v['cache']['entries']} · ttl {seconds(v['cache']['valueTtl'])}")))  # entries · value TTL
        table = self.query_one(VirtualTable)
        table.set_rows(rows)
        if self._focus_key is not None:
            table.move_to_key(self._focus_key)
            self._focus_key = None
        self.query_one(JobStatus).set_text(f"{len(views)} connection(s)")

    def selected(self) -> dict[str, Any] | None:
        key = self.query_one(VirtualTable).current_key
        return self.views.get(key) if key is not None else None

    def _need_selection(self) -> dict[str, Any] | None:
        view = self.selected()
        if view is None:
            self.notify("no connection selected", severity="warning", markup=False)
        return view

    def action_insert_ref(self) -> None:
        """Pane 2 with ``{{<this connection's id>|ap_sep_v1|}}`` typed, the cursor where the path goes."""
        view = self._need_selection()
        if view is None:
            return
        self.app.action_show_pane("refs")  # type: ignore[attr-defined]
        self.app.pane("refs").insert_reference(view["id"])  # type: ignore[attr-defined]

    # -- add / edit ---------------------------------------------------------------------
    @mutating
    def action_add(self) -> None:
        from aptui.tui.screens.choice import ChoiceModal

        options = [(pid, f"{spec.display_name} ({pid})") for pid, spec in PROVIDERS.items()]
        self.app.push_screen(ChoiceModal("New connection: which secret manager?", options), self._add_form)

    def _add_form(self, provider_id: str | None) -> None:
        if not provider_id:
            return
        spec = PROVIDERS[provider_id]
        form = FormScreen(f"New {spec.display_name} connection", connection_fields(provider_id),
                          about="Secret fields are stored encrypted and never shown again.")
        self.app.push_screen(form, lambda values: self._save_new(provider_id, values))

    def _split(self, provider_id: str, values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
        spec = PROVIDERS[provider_id]
        config: dict[str, Any] = {}
        for f in spec.fields:
            value = values.get(f.name, "")
            if f.secret:
                if value:
                    self.app.remember_secret(value)  # type: ignore[attr-defined]
                    config[f.name] = Secret(value)
            elif value or f.name in values:
                config[f.name] = value
        projects = [p.strip() for p in values.get("projects", "").split(",") if p.strip()]
        return config, projects

    def _save_new(self, provider_id: str, values: dict[str, str] | None) -> None:
        if values is None:
            return
        from aptui.services import connections

        config, projects = self._split(provider_id, values)
        name, scope = values.get("name", ""), values.get("scope", "PLATFORM")
        test_first = values.get("test_first", "yes") == "yes"
        typed = dict(values)  # kept only until the save ends: a failed save reopens the form with it
        values.clear()
        spec = PROVIDERS[provider_id]

        def failed(err: Exception) -> bool:
            self._reopen(f"New {spec.display_name} connection", connection_fields(provider_id), typed, err,
                         lambda again: self._save_new(provider_id, again))
            return False

        self.run_job(f"testing and saving {name}" if test_first else f"saving {name}", connections.add,
                     self.ctx, provider_id=provider_id, name=name, config=config, scope=scope,
                     project_ids=projects if scope == "PROJECT" else None, test_first=test_first,
                     on_done=lambda view: (typed.clear(), self._saved(view)), on_error=failed, cancellable=False)

    def _reopen(self, title: str, fields: list, typed: dict[str, str], err: Exception, then) -> None:
        """A save that failed (timeout, refused test): the same form again, everything typed kept."""
        from aptui.tui.jobs import describe
        from aptui.tui.screens.form import refilled

        e = describe(err)
        form = FormScreen(title, refilled(fields, typed), error=f"{e.code}: {e.message}",
                          about="The save failed; nothing typed was lost: fix and save again.")
        typed_copy = dict(typed)
        typed.clear()
        self.app.push_screen(form, lambda values: then(values) if values is not None else typed_copy.clear())

    def _saved(self, view: dict[str, Any]) -> None:
        ref = "{{" + view["id"] + "|ap_sep_v1|<path>}}"  # the id is what a reference needs (pane 2)
        self.notify(f"saved {view['name']} ({view['providerId']}, {view['scope']}); references to it: {ref}",
                    markup=False)
        self._focus_key = view["id"]
        self.action_refresh()

    @mutating
    def action_edit(self) -> None:
        view = self._need_selection()
        if view is None:
            return
        form = FormScreen(f"Edit {view['name']} ({view['providerId']})", connection_fields(view["providerId"], view),
                          about="Leave a secret field empty to keep the stored value.")
        self.app.push_screen(form, lambda values: self._save_edit(view, values))

    def _save_edit(self, view: dict[str, Any], values: dict[str, str] | None) -> None:
        if values is None:
            return
        from aptui.services import connections

        spec = PROVIDERS[view["providerId"]]
        config, projects = self._split(view["providerId"], values)
        changed = {k: v for k, v in config.items()
                   if spec.field(k) and (spec.field(k).secret or view["config"].get(k, "") != v)}
        scope = values.get("scope") or view["scope"]
        test_first = values.get("test_first", "yes") == "yes"
        name = values.get("name") or view["name"]
        typed = dict(values)
        values.clear()

        def failed(err: Exception) -> bool:
            self._reopen(f"Edit {view['name']} ({view['providerId']})",
                         connection_fields(view["providerId"], view), typed, err,
                         lambda again: self._save_edit(view, again))
            return False

        self.run_job(f"saving {name}", connections.update, self.ctx, view["id"],
                     name=name if name != view["name"] else None, scope=scope,
                     project_ids=projects if scope == "PROJECT" else [],
                     set_fields=changed or None, test_first=test_first,
                     on_done=lambda v: (typed.clear(), self._saved(v)), on_error=failed, cancellable=False)

    # -- test / delete / details ---------------------------------------------------------
    def action_test(self) -> None:
        view = self._need_selection()
        if view is None:
            return
        from aptui.services import connections

        self.run_job(f"testing {view['name']}", connections.test, self.ctx, view["id"], on_done=self._tested)

    def _tested(self, result: dict[str, Any]) -> None:
        if result["ok"]:
            self.notify(f"{result['name']}: connection ok", title="test passed", markup=False)
        else:
            self.app.report_error(result["error"], title=f"{result['name']}: test failed",  # type: ignore[attr-defined]
                                  modal=True)
        self.action_refresh()

    @mutating
    def action_delete(self) -> None:
        view = self._need_selection()
        if view is None:
            return
        self.run_job("finding what uses it", _usage, self.ctx, view["id"],
                     on_done=lambda paths: self._confirm_delete(view, paths))

    def _confirm_delete(self, view: dict[str, Any], paths: list[str]) -> None:
        from aptui.references.grammar import build

        if view["scope"] == "PLATFORM":
            scope = "every project on the platform (PLATFORM scope)"
        else:
            scope = "projects " + ", ".join(view["projectIds"])
        lines = [f"Flows in {scope} whose connections reference {build(view['id'], '…')} will fail "
                 "with SECRET_MANAGER_GET_SECRET_FAILED \"Connection is not accessible\"."]
        if paths:
            shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
            lines.append(f"References aptui has resolved through it: {shown}.")
        lines.append("Its credentials and cached values are removed from the local store.")
        dangerous = view["scope"] == "PLATFORM" or "prod" in view["name"].lower()
        self.confirm(f"Delete secret-manager connection {view['name']}?",
                     f"{view['name']} · {view['providerId']} · {view['id']}", "\n".join(lines),
                     lambda: self._delete(view), typed_name=view["name"] if dangerous else None)

    def _delete(self, view: dict[str, Any]) -> None:
        from aptui.services import connections

        self.run_job(f"deleting {view['name']}", connections.remove, self.ctx, view["id"],
                     on_done=lambda r: (self.notify(f"deleted {r['name']} ({r['cacheEntriesDropped']} cached "
                                                    "values dropped)", markup=False), self.action_refresh()),
                     cancellable=False)

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        view = self._need_selection()
        if view is None:
            return
        from aptui.tui.screens.details import DetailsModal

        fields: list[tuple[str, object]] = [
            ("id", view["id"]), ("name", view["name"]), ("provider", view["providerId"]), ("scope", view["scope"]),
            ("projects", ", ".join(view["projectIds"]) or "—"),
            ("configured", view["connection"]["configured"]), ("connected", view["connection"]["connected"]),
            ("last test", f"{view['lastTest']['at'] or 'never'} {_outcome(view['lastTest']['ok'])}"),
            ("last error", view["lastTest"]["error"] or "—"),
        ]
        fields += [(f"config.{k}", v) for k, v in view["config"].items()]
        fields += [("cache entries", view["cache"]["entries"]), ("value TTL", seconds(view["cache"]["valueTtl"])),
                   ("status TTL", seconds(view["cache"]["statusTtl"])),
                   ("credential set", view.get("credentialSetAt") or "—")]
        self.app.push_screen(DetailsModal(f"Connection {view['name']}", fields))


def _outcome(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "failed")


def _usage(ctx: Any, connection_id: str) -> list[str]:
    """Paths aptui has resolved through this connection (its cache entries)."""
    rows = ctx.store.query("SELECT path FROM cache_entries WHERE connection_id = ? ORDER BY path", (connection_id,))
    return [r["path"] for r in rows]
