"""Pane 4: the Activepieces platform — profile and project switchers, app connections (filter as
you type over 10,000+ rows, loaded page by page), MCP servers with token rotation (shown once),
failed flow runs with retry (dry run first). L signs the profile in as a platform user (MCP and
the platform's secret managers need that session); the context line says when it expires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ContentSwitcher

from aptui.masking import Secret
from aptui.tui.format import ago, short_id, status_cell
from aptui.tui.panes.base import Pane, mutating
from aptui.tui.widgets.filter import FilterBox
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.status import JobStatus
from aptui.tui.widgets.vtable import Column, Row, VirtualTable

FAILED_STATES = ["FAILED", "TIMEOUT", "INTERNAL_ERROR"]
MAX_ROWS = 100_000
BATCH = 1000
VIEWS = {"conns": "app connections", "mcp": "MCP servers", "runs": "failed runs"}
EMPTY = {"conns": "no app connections in this project", "mcp": "no MCP server", "runs": "no failed runs"}
VIEW_ACTIONS = {"upsert": "conns", "delete": "conns", "rotate": "mcp", "retry": "runs", "filter": None}
NEEDS_LOGIN = ("USER_SESSION_REQUIRED", "SESSION_EXPIRED")
# From 110 columns (120x40 and up) the lists use the room: full ids beside the short ones' place, then the type.
WIDE, WIDER = 110, 140


async def load_connections(ctx: Any, profile: str | None, project: str | None, push) -> tuple[int, str, str]:
    """Stream every app connection of the project to ``push(batch)``; returns (count, profile, project)."""
    from aptui.services import platform

    session = await platform.session(ctx, profile)
    project = session.project(project)
    batch: list[dict[str, Any]] = []
    count = 0
    async for conn in platform.iter_app_connections(ctx, profile, project=project, max_items=MAX_ROWS):
        batch.append(conn)
        count += 1
        if len(batch) >= BATCH:
            push(batch)
            batch = []
    push(batch)
    return count, session.profile.name, project or ""


async def load_mcp(ctx: Any, profile: str | None, project: str | None) -> list[dict[str, Any]]:
    """MCP servers of the project (else the profile's default project; with neither, every project)."""
    from aptui.services import platform

    session = await platform.session(ctx, profile)
    pid = session.project(project, required=False)
    return await platform.mcp_servers(ctx, profile, projects=[pid] if pid else None)


async def load_runs(ctx: Any, profile: str | None, project: str | None) -> list[dict[str, Any]]:
    from aptui.services import platform

    return [r async for r in platform.iter_flow_runs(ctx, profile, project=project, status=FAILED_STATES,
                                                      max_items=10_000)]


def session_line(ctx: Any, profile: str | None) -> str:
    """``session expires in 2 d`` / ``no session (L: log in)`` for the profile in use ('' without one)."""
    from aptui.errors import AptuiError
    from aptui.services import profiles

    try:
        prof = profiles.resolve_profile(ctx, profile)
    except AptuiError:
        return ""
    state = profiles.session_state(prof)
    if state["session"] == "valid":
        return f"session expires in {state['session_expires_in']}"
    return "session expired (L: log in)" if state["session"] == "expired" else "no session (L: log in)"


def profiles_for_picker(ctx: Any) -> list[dict[str, Any]]:
    from aptui.services import profiles

    return profiles.list_profiles(ctx)


class PlatformPane(Pane):
    # the switcher fills what the status line leaves (height auto let the table run under it)
    DEFAULT_CSS = """
    PlatformPane > ContentSwitcher, PlatformPane > ContentSwitcher > Vertical { height: 1fr; }
    """
    PANE_ID = "platform"
    TITLE = "Platform"
    NOUN = "platform"
    NUMBER = "4"
    HELP = ("The Activepieces platform of the selected profile: app connections (o), MCP servers (m) and "
            "failed flow runs (f). P switches profile, p project, L signs in as a platform user (MCP and the "
            "platform's secret managers need it). Tokens are shown once, at rotation.")
    BINDINGS = [
        Binding("o", "view('conns')", "Connections", id="platform.connections"),
        Binding("m", "view('mcp')", "MCP", id="platform.mcp"),
        Binding("f", "view('runs')", "Failed runs", id="platform.runs"),
        Binding("P", "switch_profile", "Profile", id="platform.profile"),
        Binding("p", "switch_project", "Project", id="platform.project"),
        Binding("r", "refresh", "Refresh", id="pane.refresh"),
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("u", "upsert", "Upsert", id="platform.upsert"),
        Binding("d", "delete", "Delete", id="platform.delete"),
        Binding("x", "rotate", "Rotate token", id="platform.rotate"),
        Binding("R", "retry", "Retry", id="platform.retry"),
        Binding("n", "new_profile", "New profile", show=False, id="platform.new_profile"),
        Binding("L", "login", "Log in", id="platform.login"),
        Binding("enter", "details", "Details", show=False, id="platform.details"),
    ]
    PALETTE = [("retry failed runs on the latest flow version", "retry('ON_LATEST_VERSION')",
                "retry strategy ON_LATEST_VERSION (dry run first)")]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.view = "conns"
        self.project: str | None = None
        self.profile_label = ""
        self.project_label = ""
        self.conns: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.loaded: set[str] = set()

    def compose(self):
        yield SafeStatic("", id="plat-context", classes="section-title", markup=False)
        with ContentSwitcher(initial="plat-conns", id="plat-switch"):
            with Vertical(id="plat-conns"):
                yield FilterBox("plat-conns-table", placeholder="filter connections (name, piece, status, id)",
                                id="plat-conns-filter")
                yield VirtualTable(
                    [Column("status", 9), Column("display name", max_width=28), Column("piece", max_width=26),
                     Column("scope", 8), Column("external id", max_width=30), Column("id", 21, wide=WIDE),
                     Column("type", max_width=16, wide=WIDER), Column("updated")],
                    empty_text=EMPTY["conns"], id="plat-conns-table")
            with Vertical(id="plat-mcp"):
                yield VirtualTable(
                    [Column("project", max_width=22), Column("server", 12, narrow=WIDE),
                     Column("server id", 21, wide=WIDE), Column("status", 9),
                     Column("disabled tools", max_width=30), Column("updated")],
                    empty_text=EMPTY["mcp"], id="plat-mcp-table")
            with Vertical(id="plat-runs"):
                yield FilterBox("plat-runs-table", placeholder="filter runs (flow, step, error)",
                                id="plat-runs-filter")
                yield VirtualTable(
                    [Column("run", 12, narrow=WIDE), Column("run id", 21, wide=WIDE), Column("flow", 12, narrow=WIDE),
                     Column("flow id", 21, wide=WIDE), Column("status", 14), Column("failed step", max_width=20),
                     Column("started", 9), Column("error")],
                    empty_text=EMPTY["runs"], id="plat-runs-table")
        yield JobStatus("", id="plat-status")

    # -- context --------------------------------------------------------------------------
    @property
    def profile(self) -> str | None:
        return self.app.profile_name  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self._show_context()

    def on_show(self) -> None:
        if self.view not in self.loaded and not self.busy:
            self.action_refresh()
        super().on_show()

    def _show_context(self) -> None:
        prof = self.profile_label or self.profile or "default profile"
        proj = self.project_label or self.project or "default project"
        session = session_line(self.ctx, self.profile)
        self.query_one("#plat-context", SafeStatic).update(f"{prof} · {proj} · {VIEWS[self.view]}"
                                                           + (f" · {session}" if session else ""))

    def table(self) -> VirtualTable:
        return self.query_one(f"#plat-{self.view}-table", VirtualTable)

    def focus_main(self) -> None:
        self.table().focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is False:
            return False
        if action in VIEW_ACTIONS:
            wanted = VIEW_ACTIONS[action]
            if wanted is None:
                return self.view in ("conns", "runs")
            return self.view == wanted
        return True

    def before_palette_action(self, action: str) -> None:
        wanted = VIEW_ACTIONS.get(action.split("(", 1)[0])
        if wanted and wanted != self.view:
            self.action_view(wanted)

    def action_view(self, view: str) -> None:
        self.view = view
        self.query_one(ContentSwitcher).current = f"plat-{view}"
        self._show_context()
        self.refresh_bindings()
        if view not in self.loaded:
            self.action_refresh()
        self.focus_main()

    def back(self) -> None:
        for box in self.query(FilterBox):
            box.close()
        self.focus_main()

    def action_filter(self) -> None:
        if self.view in ("conns", "runs"):
            self.query_one(f"#plat-{self.view}-filter", FilterBox).open()

    def action_refresh(self) -> None:
        self.table().empty_text = EMPTY[self.view]
        {"conns": self._load_conns, "mcp": self._load_mcp, "runs": self._load_runs}[self.view]()

    # -- profiles and projects ----------------------------------------------------------------
    def action_switch_profile(self) -> None:
        self.run_job("listing profiles", profiles_for_picker, self.ctx, on_done=self._pick_profile)

    def _pick_profile(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            self.notify("no profile yet: n adds one (or `aptui profile add`)", severity="warning", markup=False)
            return
        from aptui.tui.screens.choice import ChoiceModal

        def session(r: dict[str, Any]) -> str:
            return f"session {r['session_expires_in']}" if r["session"] == "valid" else f"session {r['session']}"

        options = [(r["name"], f"{r['name']}  {r['base_url']}  key {r['key_source']}, {session(r)}"
                    + ("  (default)" if r["active"] else "")) for r in rows]
        current = self.profile or next((r["name"] for r in rows if r["active"]), None)
        self.app.push_screen(ChoiceModal("Switch profile", options, current=current), self._set_profile)

    def _set_profile(self, name: str | None) -> None:
        if not name:
            return
        self.app.profile_name = name  # type: ignore[attr-defined]
        self.profile_label = name
        self.project = None
        self.project_label = ""
        self.loaded.clear()
        self._show_context()
        self.app.sub_title_refresh()  # type: ignore[attr-defined]
        self.action_refresh()

    def action_switch_project(self) -> None:
        from aptui.services import platform

        self.run_job("listing projects", platform.list_projects, self.ctx, self.profile, on_done=self._pick_project)

    def _pick_project(self, projects: list[dict[str, Any]]) -> None:
        from aptui.tui.screens.choice import ChoiceModal

        if not projects:
            self.notify("this key sees no project", severity="warning", markup=False)
            return
        options = [(p["id"], f"{p.get('displayName') or '?'}  ({p['id']})") for p in projects]
        names = {p["id"]: p.get("displayName") or p["id"] for p in projects}
        self.app.push_screen(ChoiceModal("Switch project", options, current=self.project),
                             lambda pid: self._set_project(pid, names.get(pid or "", pid)))

    def _set_project(self, project_id: str | None, name: str | None) -> None:
        if not project_id:
            return
        self.project = project_id
        self.project_label = f"{name} ({project_id})" if name and name != project_id else project_id
        self.loaded.clear()
        self._show_context()
        self.action_refresh()

    @mutating
    def action_new_profile(self) -> None:
        from aptui.tui.screens.form import FormField

        self.open_form("New Activepieces profile", [
            FormField("name", "Name", "prod"),
            FormField("url", "Site URL", "https://ap.example.com"),
            FormField("api_key", "Platform API key", "sk-…", secret=True, optional=True,
                      note="empty: use $AP_API_KEY"),
            FormField("project", "Default project id", "prj…", optional=True),
        ], self._add_profile, about="The key is stored encrypted in the local store and never shown again.")

    def _add_profile(self, values: dict[str, str], failed: Callable[[Exception], bool]) -> None:
        from aptui.services import profiles

        key = values.pop("api_key", "")
        if key:
            self.app.remember_secret(key)  # type: ignore[attr-defined]
        secret = Secret(key) if key else None
        self.run_job(f"saving profile {values['name']}", profiles.add_profile, self.ctx, values["name"],
                     values["url"], api_key=secret, default_project=values.get("project") or None,
                     make_default=self.profile is None, cancellable=False, on_error=failed,
                     on_done=lambda p: (self.notify(f"profile {p.name} saved", markup=False),
                                        self._set_profile(p.name)))

    # -- signing in ------------------------------------------------------------------------
    @mutating
    def action_login(self) -> None:
        from aptui.errors import AptuiError
        from aptui.services import profiles
        from aptui.tui.screens.form import FormField

        try:
            prof = profiles.resolve_profile(self.ctx, self.profile)
        except AptuiError as err:
            self.app.report_error(err, title="log in")  # type: ignore[attr-defined]
            return
        self.open_form(f"Sign in to {prof.name} as a platform user", [
            FormField("email", "E-mail", "you@example.com", value=prof.session_user or ""),
            FormField("password", "Password", "", secret=True),
            FormField("mfa", "MFA code (if the platform asks for one)", "", secret=True, optional=True),
        ], lambda values, failed: self._login(prof.name, values, failed), keep_secrets=False,
            about="The password is sent once and never stored; the session is stored encrypted with the "
                  "profile until it expires (7 days by default). SSO platforms: aptui profile login NAME "
                  "--token-stdin.")

    def _login(self, name: str, values: dict[str, str], failed: Callable[[Exception], bool]) -> None:
        from aptui.services import sessions

        password, code = values.pop("password", ""), values.pop("mfa", "")
        for secret in (password, code):
            if secret:
                self.app.remember_secret(secret)  # type: ignore[attr-defined]
        mfa = (lambda: Secret(code)) if code else None
        self.run_job(f"signing in to {name}", sessions.login, self.ctx, name, email=values.get("email", ""),
                     password=Secret(password), mfa_prompt=mfa, cancellable=False, on_done=self._logged_in,
                     on_error=failed)

    def _logged_in(self, result: dict[str, Any]) -> None:
        from aptui.services import platform

        self.notify(f"signed in to {result['profile']}; session expires in {result['session_expires_in']}",
                    markup=False)
        self.loaded.clear()
        self.run_job("reopening the platform client", platform.aclose, self.ctx, quiet=True,
                     on_done=lambda _: (self._show_context(), self.action_refresh()))

    def _offer_login(self, err: Exception) -> bool | None:
        """A pane needs a session it does not have: say so and open the login form."""
        if getattr(err, "code", None) in NEEDS_LOGIN:
            self._show_context()
            self.app.report_error(err, title="this needs a signed-in platform user")  # type: ignore[attr-defined]
            self.action_login()
            return True
        return None

    # -- app connections --------------------------------------------------------------------
    def _load_conns(self) -> None:
        table = self.query_one("#plat-conns-table", VirtualTable)
        table.set_rows([])
        self.conns = {}

        def push(batch: list[dict[str, Any]]) -> None:
            self.app.call_from_thread(self._add_conns, list(batch))

        self.run_job("loading app connections", load_connections, self.ctx, self.profile, self.project, push,
                     on_done=self._conns_loaded, on_error=self._load_failed, group="platform-conns", exclusive=True,
                     timeout=max(self.job_timeout(), 120))

    def _load_failed(self, err: Exception) -> bool:
        """No profile (or no key): the list says what to do instead of "no app connections"."""
        code = getattr(err, "code", "")
        texts = {"PROFILE_MISSING": "no Activepieces profile — n adds one",
                 "API_KEY_MISSING": "this profile has no API key — n adds a profile with one",
                 "PROJECT_REQUIRED": "no project chosen — p picks one"}
        if code not in texts:
            return False
        text = texts[code]
        table = self.table()
        table.empty_text = text
        table.refresh()
        self.query_one(JobStatus).set_text(text)
        return False  # and the error's own line, as everywhere

    def _add_conns(self, batch: list[dict[str, Any]]) -> None:
        rows = []
        for c in batch:
            self.conns[c["id"]] = c
            status = c.get("status") or "?"
            ok = True if status == "ACTIVE" else (False if status == "ERROR" else None)
            cell = status_cell(self.app, ok, labels=(f"● {status}", f"✗ {status}", f"○ {status}"))
            rows.append(Row(c["id"], (cell, c.get("displayName", ""), c.get("pieceName", ""), c.get("scope", ""),
                                      c.get("externalId", ""), c["id"], c.get("type", ""), ago(c.get("updated")))))
        table = self.query_one("#plat-conns-table", VirtualTable)
        table.append_rows(rows)
        self.query_one(JobStatus).set_text(f"{table.total} app connection(s)")

    def _conns_loaded(self, result: tuple[int, str, str]) -> None:
        count, profile, project = result
        self.loaded.add("conns")
        self.profile_label = self.profile_label or profile
        self.project_label = self.project_label or project
        self._show_context()
        table = self.query_one("#plat-conns-table", VirtualTable)
        more = f" (the first {MAX_ROWS})" if count >= MAX_ROWS else ""
        self.query_one(JobStatus).set_text(f"{table.total} app connection(s){more}")

    def _selected_conn(self) -> dict[str, Any] | None:
        key = self.query_one("#plat-conns-table", VirtualTable).current_key
        conn = self.conns.get(key) if key else None
        if conn is None:
            self.notify("no app connection selected", severity="warning", markup=False)
        return conn

    @mutating
    def action_upsert(self) -> None:
        from aptui.tui.screens.form import FormField, FormScreen

        key = self.query_one("#plat-conns-table", VirtualTable).current_key
        current = self.conns.get(key) if key else None
        current = current or {}
        form = FormScreen("Upsert app connection (SECRET_TEXT)", [
            FormField("external_id", "External id (the upsert key)", "gauzy-tenant-…",
                      value=current.get("externalId", "")),
            FormField("display_name", "Display name", "Slack (prod)", value=current.get("displayName", "")),
            FormField("piece_name", "Piece name", "@activepieces/piece-slack", value=current.get("pieceName", "")),
            FormField("value", "Value (a secret, or a {{connectionId|ap_sep_v1|path}} reference)", "", secret=True),
        ], about="Keyed by (project, external id): the same external id replaces that connection's value.")
        self.app.push_screen(form, self._upsert)

    def _upsert(self, values: dict[str, str] | None) -> None:
        if values is None:
            return
        from aptui.services import platform

        raw = values.pop("value")
        self.app.remember_secret(raw)  # type: ignore[attr-defined]
        self.run_job(f"upserting {values['display_name']}", platform.upsert_app_connection, self.ctx, self.profile,
                     project=self.project, external_id=values["external_id"], display_name=values["display_name"],
                     piece_name=values["piece_name"], value=Secret(raw), cancellable=False,
                     on_done=lambda c: (self.notify(f"upserted {c.get('displayName')} ({c.get('id')})",
                                                    markup=False), self._load_conns()))

    @mutating
    def action_delete(self) -> None:
        conn = self._selected_conn()
        if conn is None:
            return
        from aptui.services import platform

        name = conn.get("displayName") or conn["id"]
        body = ("Hard delete. Flows that use this connection are not changed and will fail at run time "
                "until they are pointed at another connection.")
        self.confirm(f"Delete app connection {name}?",
                     f"{name} · {conn.get('pieceName', '')} · {conn['id']} · project {conn.get('projectId', '')}",
                     body, lambda: self.run_job(f"deleting {name}", platform.delete_app_connection, self.ctx,
                                                self.profile, connection_id=conn["id"], project=self.project,
                                                cancellable=False,
                                                on_done=lambda _: self._deleted(conn)),
                     typed_name=name)

    def _deleted(self, conn: dict[str, Any]) -> None:
        self.notify(f"deleted {conn.get('displayName') or conn['id']}", markup=False)
        self._load_conns()

    # -- MCP ------------------------------------------------------------------------------
    def _load_mcp(self) -> None:
        self.run_job("loading MCP servers", load_mcp, self.ctx, self.profile, self.project,
                     on_done=self._show_mcp, on_error=self._mcp_failed, group="platform-mcp", exclusive=True)

    def _mcp_failed(self, err: Exception) -> bool | None:
        """A missing session opens the login form; a missing profile says what to do."""
        return self._offer_login(err) or self._load_failed(err)

    def _show_mcp(self, servers: list[dict[str, Any]]) -> None:
        self.loaded.add("mcp")
        self.servers = {}
        rows = []
        for n, s in enumerate(servers):
            key = f"{s.get('projectId')}:{s.get('id', n)}"
            self.servers[key] = s
            if "error" in s:
                failed = status_cell(self.app, False, labels=("", "✗ error", ""))
                rows.append(Row(key, (s["projectId"], "—", "—", failed, s["error"].get("code", ""), "")))
                continue
            st = s.get("status") or "—"
            cell = status_cell(self.app, True if st == "ENABLED" else (None if st == "—" else False),
                               labels=(f"● {st}", f"○ {st}", f"○ {st}"))
            disabled = ", ".join(s.get("disabledTools") or []) or "none"
            rows.append(Row(key, (s.get("projectId", ""), short_id(s.get("id"), 10), s.get("id", ""), cell, disabled,
                                  ago(s.get("updated")))))
        self.query_one("#plat-mcp-table", VirtualTable).set_rows(rows)
        self.query_one(JobStatus).set_text(f"{len(rows)} MCP server(s)")

    @mutating
    def action_rotate(self) -> None:
        key = self.query_one("#plat-mcp-table", VirtualTable).current_key
        server = self.servers.get(key) if key else None
        if server is None or "error" in server:
            self.notify("no MCP server selected", severity="warning", markup=False)
            return
        from aptui.services import platform

        pid = server.get("projectId")
        self.run_job("asking how MCP clients authenticate", platform.mcp_rotate_notice, self.ctx, self.profile,
                     project=pid, on_error=self._offer_login,
                     on_done=lambda notice: self._confirm_rotate(server, pid, notice))

    def _confirm_rotate(self, server: dict[str, Any], pid: str, notice: str | None) -> None:
        from aptui.services import platform

        body = ("The current token stops working at once: every MCP client using it must get the new one. "
                "The new token is shown once, right after rotation.") + (f" Note: {notice}" if notice else "")
        self.confirm(f"Rotate the MCP token of project {pid}?", f"MCP server {server.get('id')} · project {pid}",
                     body,
                     lambda: self.run_job("rotating the MCP token", platform.rotate_mcp_token, self.ctx, self.profile,
                                          project=pid, server_id=server.get("id"), on_done=self._rotated,
                                          cancellable=False),
                     action_label="Rotate")

    def _rotated(self, rotated: Any) -> None:
        from aptui.tui.screens.show_once import ShowOnceModal

        token, rotated.token = rotated.token, None
        self.app.push_screen(ShowOnceModal(f"New MCP token for project {rotated.project_id}", token,
                                           label="token", reveal_seconds=self.ctx.settings.reveal_seconds),
                             lambda _: self._load_mcp())

    # -- runs -----------------------------------------------------------------------------
    def _load_runs(self) -> None:
        self.run_job("loading failed runs", load_runs, self.ctx, self.profile, self.project, on_done=self._show_runs,
                     on_error=self._load_failed, group="platform-runs", exclusive=True)

    def _show_runs(self, runs: list[dict[str, Any]]) -> None:
        self.loaded.add("runs")
        self.runs = {r["id"]: r for r in runs}
        rows = []
        for r in runs:
            step = r.get("failedStep") or {}
            flow = r.get("flowId") or ""
            rows.append(Row(r["id"], (short_id(r["id"], 11), r["id"], short_id(flow, 11), flow,
                                      status_cell(self.app, False, labels=("", f"✗ {r.get('status')}", "")),
                                      step.get("name", ""), ago(r.get("startTime") or r.get("created")),
                                      step.get("errorMessage", "") or "")))
        self.query_one("#plat-runs-table", VirtualTable).set_rows(rows)
        self.query_one(JobStatus).set_text(f"{len(rows)} failed run(s)")

    @mutating
    def action_retry(self, strategy: str = "FROM_FAILED_STEP") -> None:
        table = self.query_one("#plat-runs-table", VirtualTable)
        ids = [str(k) for k in table.shown_keys()]  # the runs the filter shows
        if not ids:
            self.notify("no failed run listed", severity="warning", markup=False)
            return
        from aptui.services import platform

        self.run_job("dry run", platform.retry_runs, self.ctx, self.profile, project=self.project,
                     run_ids=ids, strategy=strategy, dry_run=True,
                     on_done=lambda report: self._confirm_retry(report, ids, strategy))

    def _confirm_retry(self, report: Any, ids: list[str], strategy: str) -> None:
        summary = ", ".join(f"{v} {k}" for k, v in report.summary().items()) or "nothing to retry"
        would = report.count("would-retry")
        if not would:
            self.notify(f"dry run: {summary}", markup=False)
            return
        from aptui.services import platform

        targets = [o.run_id for o in report.outcomes if o.outcome == "would-retry"]
        self.confirm(f"Retry {would} run(s) ({strategy})?", f"project {report.project_id}",
                     f"Dry run: {summary}. Each run is retried once, at most 2 per second; a retry that gets no "
                     "answer is reported as unknown and never resent.",
                     lambda: self.run_job(f"retrying {would} run(s)", platform.retry_runs, self.ctx, self.profile,
                                          project=self.project, run_ids=targets, strategy=strategy,
                                          on_progress=self._retry_progress, on_done=self._retried,
                                          cancellable=False,
                                          timeout=max(self.job_timeout(), would * 2 + 30)),
                     action_label="Retry")

    def _retry_progress(self, done: int, total: int, outcome: Any) -> None:
        self.app.call_from_thread(self.query_one(JobStatus).start, f"retrying {done}/{total}")

    def _retried(self, report: Any) -> None:
        summary = ", ".join(f"{v} {k}" for k, v in report.summary().items())
        self.note_incident("recover", "retry", "ok" if report.ok else "partial", f"retry: {summary}",
                           project_id=report.project_id)
        if report.ok:
            self.notify(f"retry done: {summary}", markup=False)
        else:
            bad = next((o for o in report.outcomes if o.outcome in ("failed", "unknown", "not-attempted")), None)
            detail = f" — first problem: run {bad.run_id} {bad.outcome} ({bad.code})" if bad else ""
            self.notify(f"retry finished with problems: {summary}{detail}", severity="warning", markup=False)
        self._load_runs()

    # -- details --------------------------------------------------------------------------
    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        self.action_details()

    def action_details(self) -> None:
        from aptui.tui.screens.details import DetailsModal

        key = self.table().current_key
        source = {"conns": self.conns, "mcp": self.servers, "runs": self.runs}[self.view]
        item = source.get(key) if key else None
        if item is None:
            return
        fields = [(k, v if not isinstance(v, dict | list) else _compact(v)) for k, v in item.items()
                  if k not in ("token", "value")]
        self.app.push_screen(DetailsModal(f"{VIEWS[self.view]}: {key}", fields))


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)[:400]
