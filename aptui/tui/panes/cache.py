"""Pane 3: per-connection cache — entries, hits, misses, ages, TTLs; clear locally or on the platform."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from aptui.tui.format import seconds, status_cell
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable


class CachePane(Pane):
    PANE_ID = "cache"
    TITLE = "Cache"
    NOUN = "cache"
    NUMBER = "3"
    HELP = ("aptui's own cache of resolved values, per connection (values 5 min, status 30 s by default). "
            "The Activepieces server keeps its own for 1 hour: x / X clear it on the selected platform profile.")
    BINDINGS = [
        Binding("c", "clear", "Clear", id="cache.clear"),
        Binding("C", "clear_all", "Clear all", id="cache.clear_all"),
        Binding("x", "clear_remote", "Clear on platform", id="cache.clear_remote"),
        Binding("X", "clear_remote_all", "Clear all on platform", show=False, id="cache.clear_remote_all"),
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: dict[str, dict[str, Any]] = {}
        self._incident_shown: str | None = None

    def compose(self):
        yield VirtualTable(
            [Column("connection", max_width=22), Column("provider", max_width=15), Column("entries", max_width=12),
             Column("hits", 6), Column("misses", 6), Column("oldest", 7), Column("value ttl", 9),
             Column("last test")],
            empty_text="no connections — add one in pane 1", id="cache-table")
        yield JobStatus("", id="cache-status")

    def on_mount(self) -> None:
        self.action_refresh()

    def on_show(self) -> None:
        self.action_refresh()
        super().on_show()

    def focus_main(self) -> None:
        self.query_one(VirtualTable).focus()

    def action_refresh(self) -> None:
        from aptui.services import cache

        def read() -> tuple[dict[str, Any], dict[str, Any] | None]:
            from aptui.services import incident

            return cache.status(self.ctx), incident.open_target(self.ctx)

        self.run_job("reading cache figures", read, on_done=self._show, group="cache-load", exclusive=True)

    def _show(self, loaded: tuple[dict[str, Any], dict[str, Any] | None]) -> None:
        data, target = loaded
        self.rows = {r["id"]: r for r in data["connections"]}
        rows = []
        for r in data["connections"]:
            # ``entries`` counts live values only; expired ones wait for the next purge
            entries = f"{r['entries']}" + (f" +{r['expired']} old" if r["expired"] else "")
            status = status_cell(self.app, True if r["status"]["cached"] else None,
                                 labels=(f"● ok, {seconds(r['status']['expiresIn'])} left", "", "○ none"))
            rows.append(Row(r["id"], (r["name"], r["providerId"], entries, str(r["hits"]), str(r["misses"]),
                                      seconds(r["oldestAge"]), seconds(r["valueTtl"]), status)))
        table = self.query_one(VirtualTable)
        table.set_rows(rows)
        # an open incident: the pane opens on its connection (once per incident, then the cursor is the operator's)
        if target and target.get("connectionId") and self._incident_shown != target["incident"]:
            self._incident_shown = target["incident"]
            table.move_to_key(target["connectionId"])
        server = data["server"]
        self.query_one(JobStatus).set_text(
            f"aptui: values {seconds(data['defaults']['valueTtl'])}, status {seconds(data['defaults']['statusTtl'])}"
            f" · server: {seconds(server['valueTtl'])} (status only after a success)")

    def _selected(self) -> dict[str, Any] | None:
        key = self.query_one(VirtualTable).current_key
        row = self.rows.get(key) if key is not None else None
        if row is None:
            self.notify("no connection selected", severity="warning", markup=False)
        return row

    # -- local ----------------------------------------------------------------------------
    @mutating
    def action_clear(self) -> None:
        row = self._selected()
        if row is None:
            return
        from aptui.services import cache

        self.confirm(f"Clear aptui's cache for {row['name']}?", f"{row['name']} · {row['id']}",
                     f"{row['entries'] + row['expired']} cached value(s) and the cached status are dropped "
                     "locally; the next test fetches from the provider again. The Activepieces server's cache "
                     "is not touched (x).",
                     lambda: self.run_job(f"clearing {row['name']}", cache.clear, self.ctx, row["id"],
                                          on_done=lambda r: self._cleared(r, row["id"]), cancellable=False),
                     action_label="Clear")

    @mutating
    def action_clear_all(self) -> None:
        from aptui.services import cache

        total = sum(r["entries"] for r in self.rows.values())
        self.confirm("Clear aptui's whole cache?", f"all {len(self.rows)} connection(s)",
                     f"{total} cached value(s) and every cached status are dropped locally.",
                     lambda: self.run_job("clearing the cache", cache.clear, self.ctx, on_done=self._cleared,
                                          cancellable=False),
                     action_label="Clear all")

    def _cleared(self, result: dict[str, Any], connection_id: str | None = None) -> None:
        what = result["name"] or "all connections"
        self.notify(f"cleared {result['cleared']} cached value(s) for {what} (local)", markup=False)
        if connection_id:
            self.note_incident("flush", "local-cache", "ok", f"{result['cleared']} cached value(s) dropped for {what}",
                               connection_id=connection_id)
        self.action_refresh()

    # -- platform ---------------------------------------------------------------------------
    @mutating
    def action_clear_remote(self) -> None:
        row = self._selected()
        if row is None:
            return
        self._remote(row["id"], row["name"])

    @mutating
    def action_clear_remote_all(self) -> None:
        self._remote(None, None)

    def _remote(self, connection_id: str | None, name: str | None) -> None:
        """First check that a profile with a key exists (no request): no confirmation for what cannot run."""
        from aptui.services import profiles

        def ready() -> str:
            prof = profiles.resolve_profile(self.ctx, self.app.profile_name)  # type: ignore[attr-defined]
            profiles.resolve_api_key(self.ctx, prof)
            return prof.name

        self.run_job("checking the platform profile", ready, quiet=True,
                     on_done=lambda _name: self._confirm_remote(connection_id, name))

    def _confirm_remote(self, connection_id: str | None, name: str | None) -> None:
        from aptui.services import platform

        profile = self.app.profile_name  # type: ignore[attr-defined]
        target = f"connection {name} ({connection_id})" if connection_id else "every secret-manager connection"
        label = profile or "the default profile"
        self.confirm(f"Clear the Activepieces server's cache on {label}?", target,
                     "DELETE /v1/secret-managers/cache: the server drops its cached values (1 h TTL) and "
                     "fetches from the secret manager on next use. Needs a platform admin key.",
                     lambda: self.run_job(f"clearing the cache on {label}", platform.clear_remote_cache, self.ctx,
                                          profile, connection_id, on_done=self._remote_done,
                                          cancellable=False),
                     action_label="Clear on platform")

    def _remote_done(self, result: dict[str, Any]) -> None:
        scope = f"connection {result['connectionId']}" if result["connectionId"] else "the whole platform"
        self.notify(f"cleared the server cache for {scope} on {result['profile']}", markup=False)
        if result["connectionId"]:
            self.note_incident("flush", "platform-cache", "ok", f"the platform's cache for {scope} was cleared",
                               connection_id=result["connectionId"])
