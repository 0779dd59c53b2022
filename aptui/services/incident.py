"""The token-compromise runbook as resumable, persisted steps.

1. ``scope``: what the credential reaches (its connection, the projects in its scope, references
   in files the operator points at and in aptui's own history, app connections that use a
   secret-manager reference);
2. ``contain``: rotate it (assisted rotation) or record that it was rotated elsewhere;
3. ``flush``: clear aptui's cache for it and the platform's secret-manager cache;
4. ``recover``: list the flow runs that failed since a chosen time in the affected projects, dry
   run, then retry them one by one (rate-limited), recording each outcome;
5. ``verify``: re-test the connection and the references.

The incident (``incidents.data``) is saved after every step and every sub-step, and every action
lands in the timeline (``incident_events``: who, when, step, action, outcome, detail). ``run``
continues at the first unfinished step, so a dropped SSH session loses nothing. A retry POST is
never sent twice: a run whose retry was sent but whose answer was not recorded becomes
``unknown`` on resume. Only one process works on an incident at a time. Nothing here stores or
exports a secret value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aptui import clock
from aptui.clock import iso, parse_iso
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret, redact
from aptui.services.context import Context
from aptui.services.rotation import items as rot_items
from aptui.store import connections as store_conn
from aptui.store import incidents as store_inc

STEPS = ("scope", "contain", "flush", "recover", "verify")
STEP_TITLES = {"scope": "Scope — what the credential reaches",
               "contain": "Contain — rotate the credential (or record its rotation)",
               "flush": "Flush — clear aptui's and the platform's caches",
               "recover": "Recover — retry the flow runs that failed", "verify": "Verify — re-test everything"}
PENDING, RUNNING, DONE, SKIPPED, FAILED, WAITING = "pending", "running", "done", "skipped", "failed", "waiting"
FINISHED = (DONE, SKIPPED)
RUN_STATES = ("FAILED", "TIMEOUT", "INTERNAL_ERROR")
DEFAULT_SINCE = 24 * 3600.0
MAX_PROJECTS = 200
MAX_REFERENCES = 500
NEEDS_INPUT = "INCIDENT_NEEDS_INPUT"

Confirm = Callable[[str, str], Any]  # returns bool, or an awaitable bool (the console's modals)
OnEvent = Callable[[str, str, str, str], None]  # (step, action, outcome, detail)


@dataclass
class Decisions:
    """What the operator decided for this session (CLI flags, console answers)."""

    contain: str | None = None  # "rotate" | "elsewhere"
    rotated_at: datetime | None = None
    note: str | None = None
    new_secret: Secret | None = None
    confirm: Confirm | None = None
    skip: dict[str, str] = field(default_factory=dict)
    until: str | None = None
    test_delay: float | None = None
    on_event: OnEvent | None = None
    on_secret: Callable[[str, Secret], None] | None = None  # an MCP token, shown once


class IncidentStopped(AptuiError):
    """The runbook stopped (a step failed, needs input, or was declined); the incident is saved."""


def _stopped(inc: store_inc.Incident, step: str, err: AptuiError) -> IncidentStopped:
    return IncidentStopped(err.code, f"incident {inc.id}: step {step}: {err.message}", exit_code=err.exit_code,
                           hint=err.hint or f"fix the cause, then: aptui incident resume {inc.id}",
                           params={**err.params, "incident": inc.id, "step": step})


# -- creating and reading ------------------------------------------------------------------------------

def _since(value: str | datetime | None, now: datetime) -> datetime:
    if value is None:
        return now - timedelta(seconds=DEFAULT_SINCE)
    if isinstance(value, datetime):
        return value
    text = value.strip()
    try:
        from aptui.config import parse_duration

        return now - timedelta(seconds=parse_duration(text, default_unit="h"))
    except AptuiError:
        pass
    try:
        return parse_iso(text)
    except ValueError:
        raise usage(f"since: not a time or a duration: {value!r}",
                    hint="e.g. 6h, 2d, or 2026-11-26T08:00:00Z") from None


def parse_rotated_at(text: str) -> datetime:
    """When a credential was rotated elsewhere: ``now``, a duration ago (``2h``, ``30m``) or an ISO time."""
    now = clock.utc_now()
    value = (text or "").strip()
    if value.lower() in ("", "now"):
        return now
    try:
        when = _since(value, now)
    except AptuiError:
        raise usage(f"rotated at: not a time or a duration: {text!r}", hint="now, 2h, 30m, or 2026-11-26T08:00:00Z") \
            from None
    if when > now:
        raise usage("rotated at: that time is in the future")
    return when


def start(ctx: Context, credential: str, *, title: str | None = None, since: str | datetime | None = None,
          scan: list[str] | tuple[str, ...] = (), profile: str | None = None, strategy: str = "FROM_FAILED_STEP",
          rate: float = 2.0, statuses: list[str] | None = None, max_runs: int | None = None,
          remote_flush: bool = True) -> store_inc.Incident:
    """Open an incident for a credential (any rotation item id, or a connection name/id)."""
    ctx.require_writable("incident start")
    item = rot_items.find_item(ctx, credential)
    now = clock.utc_now()
    when = _since(since, now)
    if when > now:
        raise usage("since: that time is in the future")
    if strategy not in ("FROM_FAILED_STEP", "ON_LATEST_VERSION"):
        raise usage(f"unknown retry strategy {strategy!r}", hint="FROM_FAILED_STEP or ON_LATEST_VERSION")
    if rate <= 0 or rate > 50:
        raise usage("the retry rate must be between 0 and 50 retries per second")
    if max_runs is not None and max_runs < 1:
        raise usage("the most runs to retry must be at least 1")
    roots = []
    for p in scan:
        path = Path(p).expanduser()
        if not path.exists():
            raise usage(f"scan: {p} does not exist")
        roots.append(str(path.resolve()))
    if title is not None and ("\n" in title or len(title) > 200):
        raise usage("the title must be one line of at most 200 characters")
    credential_info = {"item": item.id, "kind": item.kind, "label": item.label, "connectionId": item.connection_id,
                       "profile": item.profile, "profileId": item.profile_id, "projectId": item.project_id,
                       "secretName": item.secret_name, "recordKey": item.record_key, "how": item.how,
                       "rotatedRecord": _latest_rotation(ctx, item.record_key)}
    if item.profile and not profile:
        profile = item.profile
    data = {"credential": credential_info,
            "options": {"since": iso(when), "scan": roots, "profile": profile, "strategy": strategy, "rate": rate,
                        "statuses": list(statuses or RUN_STATES), "maxRuns": max_runs, "remoteFlush": remote_flush},
            "steps": {s: {"status": PENDING} for s in STEPS}}
    inc = store_inc.create(ctx.store, item.id, title or f"Compromised credential {item.id}", data, STEPS[0])
    store_inc.add_event(ctx.store, inc.id, "incident", "start", "ok",
                        f"credential {item.id} ({item.label}); failed runs since {iso(when)}")
    ctx.audit("incident.start", inc.id, "ok", f"credential={item.id}")
    return inc


def _latest_rotation(ctx: Context, record_key: str) -> str | None:
    """The id of the newest ``rotated`` record of a credential (None: never rotated)."""
    from aptui.store import rotation as store_rot

    return next((r.id for r in store_rot.records(ctx.store, record_key) if r.event == store_rot.ROTATED), None)


def _marked_since_start(ctx: Context, cred: dict[str, Any]) -> str | None:
    """When the credential was recorded rotated after the incident opened (pane 5's mark, `rotation
    mark`, a rotation run outside the runbook): that record's date, else None."""
    from aptui.store import rotation as store_rot

    key = cred.get("recordKey")
    if not key or "rotatedRecord" not in cred:
        return None
    latest = next((r for r in store_rot.records(ctx.store, key) if r.event == store_rot.ROTATED), None)
    return latest.at if latest is not None and latest.id != cred.get("rotatedRecord") else None


CONTAIN_LABELS = {"rotate": "Rotate it now with aptui (assisted; every step confirmed)",
                  "elsewhere": "It was rotated elsewhere: record when (and a note)",
                  "skip": "Skip containment (give a reason)"}


def contain_choices(ctx: Context, incident_id: str) -> dict[str, Any]:
    """What the console offers for the contain step: ``choices`` [(key, label)] (rotate only for a
    credential aptui can rotate), the ``previous`` decision and why it stopped (``stopped``), and
    ``markedAt`` when the credential was recorded rotated since the incident opened (no question
    needed then)."""
    inc = get(ctx, incident_id)
    cred = inc.data.get("credential", {})
    how = cred.get("how")
    if how is None:  # an incident opened before `how` was recorded
        with contextlib.suppress(AptuiError):
            how = rot_items.find_item(ctx, cred.get("item") or "").how
    keys = ["rotate", "elsewhere", "skip"] if how not in (None, "mark") else ["elsewhere", "skip"]
    entry = inc.data.get("steps", {}).get("contain", {})
    return {"choices": [(k, CONTAIN_LABELS[k]) for k in keys], "rotatable": "rotate" in keys,
            "previous": entry.get("result", {}).get("mode") or inc.data.get("options", {}).get("contain"),
            "status": entry.get("status", PENDING),
            "stopped": entry.get("reason") if entry.get("status") in (FAILED, WAITING) else None,
            "markedAt": _marked_since_start(ctx, cred), "how": how}


def get(ctx: Context, incident_id: str) -> store_inc.Incident:
    return store_inc.require(ctx.store, incident_id)


def resolve(ctx: Context, incident_id: str | None) -> store_inc.Incident:
    """The named incident, or the most recently updated open one."""
    if incident_id:
        return get(ctx, incident_id)
    latest = store_inc.latest_open(ctx.store)
    if latest is None:
        raise usage("no open incident", code="ENTITY_NOT_FOUND",
                    hint="start one: aptui incident start --credential ITEM")
    return latest


def open_target(ctx: Context) -> dict[str, Any] | None:
    """The credential of the most recently active open incident (panes 3 and 5 open on it):
    ``{"incident", "item", "connectionId"}``, or None."""
    inc = store_inc.latest_open(ctx.store)
    if inc is None:
        return None
    cred = inc.data.get("credential", {})
    return {"incident": inc.id, "item": cred.get("item"), "connectionId": cred.get("connectionId")}


def note_elsewhere(ctx: Context, *, step: str, action: str, outcome: str, detail: str,
                   connection_id: str | None = None, item_id: str | None = None,
                   project_id: str | None = None) -> list[str]:
    """An action taken outside the runbook (another pane, another command) on an open incident's
    credential goes onto its timeline (and so into its export). Matches by connection id, rotation
    item id, or (flow-run retries) a project in its scope. Returns the incidents noted."""
    noted: list[str] = []
    for inc in store_inc.list_all(ctx.store, state=store_inc.OPEN):
        cred = inc.data.get("credential", {})
        projects = {p.get("id") for p in (inc.data.get("steps", {}).get("scope", {}).get("result", {})
                                          .get("projects") or [])}
        if (connection_id and connection_id == cred.get("connectionId")) or (item_id and item_id == cred.get("item")) \
                or (project_id and project_id in projects):
            store_inc.add_event(ctx.store, inc.id, step, f"{action} (outside the runbook)", outcome, detail)
            noted.append(inc.id)
    return noted


def next_step(inc: store_inc.Incident) -> str | None:
    steps = inc.data.get("steps", {})
    return next((s for s in STEPS if (steps.get(s) or {}).get("status") not in FINISHED), None)


def list_incidents(ctx: Context, *, state: str | None = None) -> list[dict[str, Any]]:
    return [summary(i) for i in store_inc.list_all(ctx.store, state=state)]


def summary(inc: store_inc.Incident) -> dict[str, Any]:
    """The listing shape: ``stepStatus`` is ``{step: status}``."""
    steps = inc.data.get("steps", {})
    return {"id": inc.id, "title": inc.title, "credential": inc.credential_item, "state": inc.state,
            "nextStep": next_step(inc), "created": inc.created, "updated": inc.updated,
            "stepStatus": {s: (steps.get(s) or {}).get("status", PENDING) for s in STEPS}}


def view(ctx: Context, incident_id: str) -> dict[str, Any]:
    """Everything about an incident: the summary, ``credentialDetail``, ``options``, ``steps`` (status,
    summary, result of each) and the ``timeline``. No secret values."""
    inc = get(ctx, incident_id)
    return {**summary(inc), "credentialDetail": inc.data.get("credential", {}),
            "options": inc.data.get("options", {}),
            "steps": {s: inc.data.get("steps", {}).get(s, {"status": PENDING}) for s in STEPS},
            "timeline": [e.to_dict() for e in store_inc.events(ctx.store, inc.id)]}


# -- ownership ---------------------------------------------------------------------------------------------

def _me() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _alive(owner: dict[str, Any]) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # another machine: assume it is working (the operator can see it in the timeline)
    try:
        os.kill(int(owner.get("pid") or 0), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


# -- the runner --------------------------------------------------------------------------------------------

class _Runner:
    def __init__(self, ctx: Context, inc: store_inc.Incident, decisions: Decisions) -> None:
        self.ctx = ctx
        self.inc = inc
        self.d = decisions

    # persistence helpers
    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        return self.inc.data.setdefault("steps", {})

    @property
    def options(self) -> dict[str, Any]:
        return self.inc.data.setdefault("options", {})

    @property
    def cred(self) -> dict[str, Any]:
        return self.inc.data.setdefault("credential", {})

    def result(self, step: str) -> dict[str, Any]:
        return self.steps.setdefault(step, {"status": PENDING}).setdefault("result", {})

    def save(self, step: str, action: str, outcome: str, detail: str | None = None) -> None:
        store_inc.save(self.ctx.store, self.inc, (step, action, outcome, detail))
        if self.d.on_event is not None:
            self.d.on_event(step, action, outcome, detail or "")

    def set_status(self, step: str, status: str, *, summary_text: str | None = None, reason: str | None = None,
                   outcome: str | None = None) -> None:
        entry = self.steps.setdefault(step, {"status": PENDING})
        entry["status"] = status
        if status == RUNNING:
            entry.setdefault("started", clock.utc_now_iso())
        if status in (DONE, SKIPPED, FAILED, WAITING):
            entry["finished"] = clock.utc_now_iso()
        if summary_text is not None:
            entry["summary"] = summary_text
        if reason is not None:
            entry["reason"] = reason
        if outcome is not None:
            entry["outcome"] = outcome
        self.inc.current_step = next_step(self.inc)

    # the loop
    async def run(self) -> store_inc.Incident:
        while True:
            step = next_step(self.inc)
            if step is None:
                self.inc.state = store_inc.CLOSED
                problems = [s for s in STEPS if self.steps[s].get("outcome") in ("partial", "failed")]
                self.save("incident", "close", "partial" if problems else "ok",
                          "every step done or skipped" + (f"; with problems in {', '.join(problems)}"
                                                          if problems else ""))
                self.ctx.audit("incident.close", self.inc.id, "ok")
                return self.inc
            if step in self.d.skip:
                reason = self.d.skip[step] or "skipped by the operator"
                self.set_status(step, SKIPPED, reason=reason, summary_text=f"skipped: {reason}", outcome="skipped")
                self.save(step, "skip", "skipped", reason)
            else:
                await self.run_step(step)
            if self.d.until == step:
                return self.inc

    async def run_step(self, step: str) -> None:
        self.set_status(step, RUNNING)
        self.save(step, "begin", "ok", STEP_TITLES[step])
        try:
            await getattr(self, f"step_{step}")()
        except AptuiError as err:
            waiting = err.code in (NEEDS_INPUT, "CANCELLED") or err.exit_code == Exit.USAGE or \
                err.params.get("cause") == "CANCELLED"
            status = WAITING if waiting else FAILED
            self.set_status(step, status, reason=f"{err.code}: {err.message}")
            self.save(step, "stop", "waiting" if status == WAITING else "failed", f"{err.code}: {err.message}")
            raise _stopped(self.inc, step, err) from None
        except Exception as exc:  # a bug: its type only (its text could hold a value)
            self.set_status(step, FAILED, reason=f"unexpected {type(exc).__name__}")
            self.save(step, "stop", "failed", f"unexpected {type(exc).__name__}")
            raise _stopped(self.inc, step, AptuiError("INTERNAL", f"unexpected {type(exc).__name__}")) from None

    # -- helpers ------------------------------------------------------------------------------------
    def connection(self):
        cid = self.cred.get("connectionId")
        return store_conn.get(self.ctx.store, cid) if cid else None

    @property
    def kind(self) -> str:
        return str(self.cred.get("kind"))

    @property
    def profile(self) -> str | None:
        return self.options.get("profile")

    async def platform_ok(self) -> tuple[bool, str | None]:
        """Whether a profile with a credential (API key or user session) is configured (no request is made)."""
        from aptui.services import profiles as profile_service

        try:
            prof = profile_service.resolve_profile(self.ctx, self.profile)
            if profile_service.usable_session(self.ctx, prof)[0] is None:
                profile_service.resolve_api_key(self.ctx, prof)
        except AptuiError as err:
            return False, f"{err.code}: {err.message}"
        if not self.options.get("profile"):
            self.options["profile"] = prof.name
        return True, None

    # -- 1. scope ------------------------------------------------------------------------------------
    async def step_scope(self) -> None:
        res = self.result("scope")
        conn = self.connection()
        if "credential" not in res:
            res["credential"] = {"item": self.cred["item"], "kind": self.kind, "label": self.cred.get("label")}
            if conn is not None:
                res["connection"] = {"id": conn.id, "name": conn.name, "providerId": conn.provider_id,
                                     "scope": conn.scope, "projectIds": list(conn.project_ids)}
            self.save("scope", "credential", "ok", self.cred.get("label") or self.cred["item"])
        if "projects" not in res:
            await self._scope_projects(res, conn)
        if "references" not in res:
            refused: list[str] = []
            refs, known = await self._scope_references(conn, refused)
            res["references"], res["knownPaths"] = refs, known
            note = (f"; {len(refused)} file(s) refused, over the document limits: {', '.join(refused[:3])}"
                    if refused else "")
            self.save("scope", "references", "partial" if refused else "ok",
                      f"{len(refs)} reference(s) in scanned files; {len(known)} path(s) from aptui's history" + note)
        if "appConnections" not in res:
            await self._scope_app_connections(res)
        text = (f"{len(res.get('projects') or [])} project(s); {len(res['references'])} reference(s) in files; "
                f"{len(res['knownPaths'])} known path(s); {len(res.get('appConnections') or [])} app connection(s) "
                "using secret-manager references")
        self.set_status("scope", DONE, summary_text=text, outcome="ok")
        self.save("scope", "done", "ok", text)

    async def _scope_projects(self, res: dict[str, Any], conn) -> None:
        from aptui.services import platform

        notes: list[str] = []
        ok, why = await self.platform_ok()
        names: dict[str, str] = {}
        listed: list[dict[str, Any]] | None = None
        if ok:
            try:
                listed = await platform.list_projects(self.ctx, self.profile)
                names = {p["id"]: p.get("displayName") or "" for p in listed}
            except AptuiError as err:
                notes.append(f"projects could not be listed ({err.code}: {err.message})")
        else:
            notes.append(f"no Activepieces profile ({why})")
        if self.kind == rot_items.MCP_TOKEN:
            ids = [self.cred.get("projectId")]
            notes.append("the MCP token exposes this project's flows as tools")
        elif self.kind == rot_items.API_KEY:
            ids = [p["id"] for p in listed or []]
            notes.append("a platform API key acts for every project of the platform")
        elif conn is not None and conn.scope == "PROJECT":
            ids = list(conn.project_ids)
        else:
            ids = [p["id"] for p in listed or []]
            notes.append("PLATFORM scope: every project of the platform can resolve through this connection")
        res["projects"] = [{"id": pid, "name": names.get(pid, "")} for pid in ids[:MAX_PROJECTS] if pid]
        res["projectsKnown"] = bool(ids) or listed is not None
        res["projectNotes"] = notes
        self.save("scope", "projects", "ok" if res["projectsKnown"] else "partial",
                  f"{len(res['projects'])} project(s)" + ("; " + "; ".join(notes) if notes else ""))

    async def _scope_references(self, conn, refused: list[str] | None = None
                                ) -> tuple[list[dict[str, Any]], list[str]]:
        from aptui.references import grammar

        if conn is None:
            return [], []
        secret = self.cred.get("secretName")

        def mine(path: str) -> bool:
            return secret is None or path.split(":", 1)[0] == secret

        found: list[dict[str, Any]] = []
        roots = [Path(p) for p in self.options.get("scan") or []]
        if roots:
            from aptui.services.references import scan_references

            report = await scan_references(self.ctx, roots, test=False)
            if refused is not None:  # an alias bomb or a too-deep file is named, never half-read
                from aptui.docparse import CODE

                refused += [n["file"] for n in report.scan.notes if n.get("code") == CODE]
            for occ, r in report.findings:
                ref = r.reference
                if ref is None or ref.connection_id not in (conn.id, conn.provider_id) or not mine(ref.path):
                    continue
                found.append({"file": occ.file, "line": occ.line, "location": occ.location,
                              "reference": grammar.build(ref.connection_id, ref.path),
                              "resolvedByActivepieces": r.verdict != "not-resolved-by-activepieces"})
                if len(found) >= MAX_REFERENCES:
                    break
        known: set[str] = set()
        for row in self.ctx.store.query("SELECT path FROM cache_entries WHERE connection_id = ?", (conn.id,)):
            known.add(str(row["path"]))
        for row in self.ctx.store.query("SELECT DISTINCT target FROM audit_log WHERE action LIKE 'ref.%' "
                                        "AND outcome IN ('ok', 'cached') AND target LIKE ?",
                                        ("%" + conn.id + "%",)):
            parsed = grammar.parse(row["target"])
            if isinstance(parsed, grammar.Reference) and parsed.connection_id == conn.id:
                known.add(parsed.path)
        return found, sorted(p for p in known if mine(p))[:MAX_REFERENCES]

    async def _scope_app_connections(self, res: dict[str, Any]) -> None:
        from aptui.services import platform

        out: list[dict[str, Any]] = []
        notes: list[str] = []
        ok, why = await self.platform_ok()
        if self.kind in (rot_items.API_KEY, rot_items.MCP_TOKEN):
            notes.append("not applicable: app connections do not hold this kind of credential")
        elif not ok:
            notes.append(f"not listed: no Activepieces profile ({why})")
        else:
            for project in res.get("projects") or []:
                try:
                    async for conn in platform.iter_app_connections(self.ctx, self.profile, project=project["id"]):
                        if conn.get("usingSecretManager"):
                            out.append({"id": conn.get("id"), "displayName": conn.get("displayName"),
                                        "pieceName": conn.get("pieceName"), "projectId": project["id"],
                                        "status": conn.get("status")})
                except AptuiError as err:
                    notes.append(f"project {project['id']}: {err.code}")
            notes.append("the API never returns connection values, so these are every app connection whose value "
                         "holds a secret-manager reference; check which connection each one names")
        res["appConnections"] = out
        res["appConnectionNotes"] = notes
        self.save("scope", "app-connections", "ok", f"{len(out)} app connection(s) using secret-manager references"
                  + (f"; {notes[0]}" if notes and not out else ""))

    # -- 2. contain ------------------------------------------------------------------------------------
    async def step_contain(self) -> None:
        from aptui.services import rotation

        res = self.result("contain")
        mode = self.d.contain or res.get("mode") or self.options.get("contain")
        marked = _marked_since_start(self.ctx, self.cred) if not self.d.contain else None
        if marked is not None:  # recorded rotated since the incident opened (pane 5's m, `rotation mark`)
            res.update({"mode": "recorded", "rotatedAt": marked})
            text = f"recorded as rotated at {marked} (outside the runbook)"
            self.set_status("contain", DONE, summary_text=text, outcome="ok")
            self.save("contain", "recorded", "ok", text)
            return
        if mode == "rotate" and self.cred.get("how") == "mark":
            raise usage(f"aptui cannot rotate {self.cred['item']} ({self.cred.get('label')}): it is rotated where it "
                        "lives", code="ROTATION_UNSUPPORTED",
                        hint=f"rotate it there, then: aptui incident resume {self.inc.id} --rotated-elsewhere "
                             "[--rotated-at TIME --note TEXT]")
        if mode not in ("rotate", "elsewhere"):
            raise AptuiError(NEEDS_INPUT, "contain needs a decision: rotate the credential now, or record that it "
                             "was rotated elsewhere", exit_code=Exit.USAGE,
                             hint=f"aptui incident resume {self.inc.id} --rotate (or --rotated-elsewhere)")
        if res.get("mode") != mode:
            res["mode"] = mode
            self.save("contain", "decision", "ok", "rotate with aptui" if mode == "rotate" else "rotated elsewhere")
        item = self.cred["item"]
        if mode == "elsewhere":
            marked = rotation.mark(self.ctx, item, at=self.d.rotated_at,
                                   note=self.d.note or f"rotated elsewhere (incident {self.inc.id})")
            res["rotatedAt"] = iso(marked.last_rotated) if marked.last_rotated else None
            text = f"recorded as rotated elsewhere at {res['rotatedAt']}"
            self.set_status("contain", DONE, summary_text=text, outcome="ok")
            self.save("contain", "mark", "ok", text)
            return

        def on_step(result) -> None:
            if result.secret is not None and self.d.on_secret is not None:
                self.d.on_secret(item, result.secret)
            res.setdefault("rotationSteps", []).append({"step": result.step, "outcome": result.outcome,
                                                        "detail": result.detail})
            self.save("contain", f"rotation.{result.step}", result.outcome, result.detail)

        current = rotation.pending(self.ctx, item)
        fresh = current is None or current.next_step == current.plan[0]
        new_secret = self.d.new_secret if fresh else None
        rot = await rotation.rotate(self.ctx, item, confirm=self.d.confirm, new_secret=new_secret,
                                    profile=self.profile, on_step=on_step, test_delay=self.d.test_delay)
        res["rotationRun"] = rot.run.id
        skipped = [s for s in rot.plan if rot.status(s) == "skipped"]
        text = f"rotated with aptui (run {rot.run.id})" + (f"; skipped: {', '.join(skipped)}" if skipped else "")
        self.set_status("contain", DONE, summary_text=text, outcome="ok")
        self.save("contain", "rotated", "ok", text)

    # -- 3. flush ---------------------------------------------------------------------------------------
    async def step_flush(self) -> None:
        from aptui.services import cache as cache_service
        from aptui.services import platform

        res = self.result("flush")
        conn = self.connection()
        if conn is None:
            text = "nothing cached for this kind of credential"
            self.set_status("flush", DONE, summary_text=text, outcome="skipped")
            self.save("flush", "done", "skipped", text)
            return
        if "local" not in res:
            cleared = cache_service.clear(self.ctx, conn.id)
            res["local"] = {"cleared": cleared["cleared"]}
            self.save("flush", "local-cache", "ok", f"{cleared['cleared']} cached value(s) dropped for {conn.name}")
        if "remote" not in res:
            if not self.options.get("remoteFlush", True):
                res["remote"] = {"skipped": "not requested (--no-remote-flush)"}
                self.save("flush", "platform-cache", "skipped", res["remote"]["skipped"])
            else:
                ok, why = await self.platform_ok()
                if not ok:
                    res["remote"] = {"skipped": f"no Activepieces profile ({why})"}
                    self.save("flush", "platform-cache", "skipped", res["remote"]["skipped"])
                else:
                    # DELETE /v1/secret-managers/cache?connectionId= : the one secret-manager route an API
                    # key may call (listing the platform's secret managers needs a signed-in user), and it
                    # names the connection by the id references carry, so no other connection is touched.
                    done = await platform.clear_remote_cache(self.ctx, self.profile, connection_id=conn.id)
                    res["remote"] = {"connectionId": conn.id, "scope": done["scope"]}
                    self.save("flush", "platform-cache", "ok",
                              f"the platform's cache for {conn.name} ({conn.id}) was cleared")
        outcome = "ok"
        text = f"local: {res['local']['cleared']} value(s) dropped; platform: " + \
            (f"cleared ({res['remote']['connectionId']})" if "connectionId" in res["remote"]
             else res["remote"]["skipped"])
        self.set_status("flush", DONE, summary_text=text, outcome=outcome)
        self.save("flush", "done", outcome, text)

    # -- 4. recover -------------------------------------------------------------------------------------
    async def step_recover(self) -> None:
        from aptui.services import platform

        res = self.result("recover")
        ok, why = await self.platform_ok()
        if not ok:
            text = f"no Activepieces profile ({why}): failed runs cannot be listed"
            self.set_status("recover", DONE, summary_text=text, outcome="skipped")
            self.save("recover", "done", "skipped", text)
            return
        since = self.options.get("since")
        if "candidates" not in res:
            projects = [p["id"] for p in (self.result("scope").get("projects") or [])]
            if not projects and self.result("scope").get("projectsKnown") is False:
                projects = [p["id"] for p in await platform.list_projects(self.ctx, self.profile)]
            candidates: list[dict[str, Any]] = []
            skipped = 0
            for pid in projects:
                report = await platform.retry_runs(
                    self.ctx, self.profile, project=pid, status=self.options.get("statuses") or list(RUN_STATES),
                    created_after=since, strategy=self.options.get("strategy", "FROM_FAILED_STEP"), dry_run=True,
                    max_runs=self.options.get("maxRuns"))
                for o in report.outcomes:
                    if o.outcome == platform.WOULD_RETRY:
                        candidates.append({"runId": o.run_id, "projectId": pid, "flowId": o.flow_id,
                                           "status": o.status, "outcome": "pending"})
                    else:
                        skipped += 1
            res.update({"since": since, "projects": projects, "candidates": candidates, "dryRunSkipped": skipped})
            self.save("recover", "dry-run", "ok", f"{len(candidates)} failed run(s) since {since} in "
                      f"{len(projects)} project(s) would be retried" + (f"; {skipped} skipped" if skipped else ""))
        candidates = res["candidates"]
        for c in candidates:  # sent before an interruption, answer never recorded: never resend
            if c["outcome"] == "sending":
                c["outcome"], c["message"] = "unknown", "interrupted after the retry was sent; not resent"
                self.save("recover", f"retry {c['runId']}", "unknown", c["message"])
        todo = [c for c in candidates if c["outcome"] == "pending"]
        if todo and not res.get("approved"):
            text = (f"retry {len(todo)} failed run(s) ({self.options.get('strategy')}), at most "
                    f"{self.options.get('rate')} per second; each retry reruns the flow once")
            from aptui.services.rotation.assisted import ask

            if self.d.confirm is None or not await ask(self.d.confirm, "recover", text):
                raise AptuiError("CANCELLED" if self.d.confirm else NEEDS_INPUT,
                                 "the retries were not confirmed; nothing was retried", exit_code=Exit.USAGE,
                                 hint=f"aptui incident resume {self.inc.id} (add --yes to confirm, or "
                                      "--skip recover=REASON)")
            res["approved"] = True
            self.save("recover", "confirm", "ok", text)
        interval = 1.0 / float(self.options.get("rate") or 2.0)
        next_at = time.monotonic()
        for c in todo:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = time.monotonic() + interval
            c["outcome"] = "sending"
            store_inc.save(self.ctx.store, self.inc)
            report = await platform.retry_runs(self.ctx, self.profile, project=c["projectId"], run_ids=[c["runId"]],
                                               strategy=self.options.get("strategy", "FROM_FAILED_STEP"),
                                               rate_per_second=0)
            o = report.outcomes[0] if report.outcomes else None
            c["outcome"] = o.outcome if o else "unknown"
            if o is not None and o.code:
                c["code"], c["message"] = o.code, o.message
            if o is not None and o.new_status:
                c["newStatus"] = o.new_status
            self.save("recover", f"retry {c['runId']}", c["outcome"],
                      f"project {c['projectId']}" + (f"; {o.code}: {o.message}" if o and o.code else ""))
        counts: dict[str, int] = {}
        for c in candidates:
            counts[c["outcome"]] = counts.get(c["outcome"], 0) + 1
        bad = sum(v for k, v in counts.items() if k in ("failed", "unknown", "not-attempted"))
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no failed run to retry"
        self.set_status("recover", DONE, summary_text=text, outcome="partial" if bad else "ok")
        self.save("recover", "done", "partial" if bad else "ok", text)

    # -- 5. verify ---------------------------------------------------------------------------------------
    async def step_verify(self) -> None:
        res: dict[str, Any] = {}
        self.steps["verify"]["result"] = res
        conn = self.connection()
        problems: list[str] = []
        if conn is not None:
            from aptui.services import connections as conn_service
            from aptui.services import references

            tested = await conn_service.test(self.ctx, conn.id)
            err = tested.get("error")
            res["connection"] = {"ok": tested["ok"], "error": err.to_dict() if err else None}
            self.save("verify", "connection-test", "ok" if tested["ok"] else "failed",
                      conn.name + (f": {err.code}: {err.message}" if err else " passed"))
            if not tested["ok"]:
                problems.append(f"connection {conn.name}")
            scope = self.result("scope")
            refs = {r["reference"] for r in scope.get("references") or [] if r.get("resolvedByActivepieces", True)}
            refs |= {"{{" + conn.id + "|ap_sep_v1|" + p + "}}" for p in scope.get("knownPaths") or []}
            checked = []
            if refs:
                results = await references.resolve_values(self.ctx, [(None, r) for r in sorted(refs)],
                                                          use_cache=False, action="incident.verify")
                for r in results:
                    entry = {"reference": str(r.input), "verdict": r.verdict}
                    if r.error is not None:
                        entry["error"] = f"{r.error.code}: {r.error.message}"
                        problems.append(str(r.input))
                    checked.append(entry)
            res["references"] = checked
            bad = sum(1 for c in checked if "error" in c)
            self.save("verify", "references", "ok" if not bad else "failed",
                      f"{len(checked) - bad} of {len(checked)} reference(s) resolve")
        elif self.kind == rot_items.API_KEY:
            from aptui.services import profiles as profile_service

            tested = await profile_service.test_profile(self.ctx, self.cred.get("profile"))
            ok = bool(tested.get("reachable") and tested.get("authenticated"))
            res["profile"] = {"ok": ok, "error": tested.get("error")}
            self.save("verify", "profile-test", "ok" if ok else "failed", f"profile {self.cred.get('profile')}")
            if not ok:
                problems.append(f"profile {self.cred.get('profile')}")
        elif self.kind == rot_items.MCP_TOKEN:
            from aptui.services import platform

            servers = await platform.mcp_show(self.ctx, self.profile, project=self.cred.get("projectId"))
            res["mcp"] = {"ok": bool(servers), "servers": len(servers)}
            self.save("verify", "mcp-server", "ok" if servers else "failed",
                      "the MCP server answers (the token itself is only usable by MCP clients)")
            if not servers:
                problems.append("MCP server")
        if problems:
            raise AptuiError("INCIDENT_VERIFY_FAILED", "verification failed: " + ", ".join(problems[:5])
                             + (f" and {len(problems) - 5} more" if len(problems) > 5 else ""),
                             hint=f"fix them, then: aptui incident resume {self.inc.id}")
        text = "everything re-tested fine"
        self.set_status("verify", DONE, summary_text=text, outcome="ok")
        self.save("verify", "done", "ok", text)


async def run(ctx: Context, incident_id: str | None = None, decisions: Decisions | None = None) -> store_inc.Incident:
    """Continue the incident at its first unfinished step (the latest open one when no id)."""
    ctx.require_writable("incident resume")
    decisions = decisions or Decisions()
    for step in [*decisions.skip, *([decisions.until] if decisions.until else [])]:
        if step not in STEPS:
            raise usage(f"unknown step {step!r}", hint="steps: " + ", ".join(STEPS))
    inc = resolve(ctx, incident_id)
    if inc.state == store_inc.CLOSED:
        raise usage(f"incident {inc.id} is closed", code="INCIDENT_CLOSED", hint=f"aptui incident show {inc.id}")
    me = _me()
    other = store_inc.try_claim(ctx.store, inc.id, me, _alive)
    if other is not None:
        raise AptuiError("INCIDENT_BUSY", f"incident {inc.id} is being worked on by pid {other.get('pid')} on "
                         f"{other.get('host')}", exit_code=Exit.USAGE,
                         hint="wait for it to finish, or stop that process first")
    inc = get(ctx, inc.id)
    try:
        runner = _Runner(ctx, inc, decisions)
        if decisions.contain and runner.steps.get("contain", {}).get("status") not in FINISHED \
                and runner.options.get("contain") != decisions.contain:
            runner.options["contain"] = decisions.contain  # remembered for a later resume
            store_inc.save(ctx.store, inc)
        for s in STEPS:  # a step left "running" by a killed process is simply run again
            if runner.steps.get(s, {}).get("status") == RUNNING:
                runner.save(s, "resume", "ok", "continuing after an interruption")
        return await runner.run()
    finally:
        with contextlib.suppress(AptuiError):
            store_inc.release(ctx.store, inc.id, me)
        if "aptui.services.platform" in sys.modules:
            with contextlib.suppress(Exception):
                await sys.modules["aptui.services.platform"].aclose(ctx)


def skip(ctx: Context, incident_id: str, step: str, reason: str) -> store_inc.Incident:
    """Mark a step skipped (with a reason) without running anything."""
    ctx.require_writable("incident skip")
    if step not in STEPS:
        raise usage(f"unknown step {step!r}", hint="steps: " + ", ".join(STEPS))
    if not reason or "\n" in reason:
        raise usage("a one-line reason is required to skip a step")
    inc = get(ctx, incident_id)
    if inc.state == store_inc.CLOSED:
        raise usage(f"incident {inc.id} is closed", code="INCIDENT_CLOSED")
    runner = _Runner(ctx, inc, Decisions())
    if runner.steps.get(step, {}).get("status") in FINISHED:
        raise usage(f"step {step} is already {runner.steps[step]['status']}")
    runner.set_status(step, SKIPPED, reason=reason, summary_text=f"skipped: {reason}", outcome="skipped")
    runner.save(step, "skip", "skipped", reason)
    return inc


# -- export ---------------------------------------------------------------------------------------------------

def _known_secrets(ctx: Context, inc: store_inc.Incident) -> list[str]:
    """Current credential values of the incident's connection (to scrub any accidental echo)."""
    cid = (inc.data.get("credential") or {}).get("connectionId")
    out: list[str] = []
    if cid:
        with contextlib.suppress(AptuiError):
            conn = store_conn.get(ctx.store, cid)
            if conn is not None:
                from aptui.providers.fields import PROVIDERS

                spec = PROVIDERS.get(conn.provider_id)
                config = store_conn.auth(ctx.store, conn)
                out += [config[f.name] for f in (spec.secret_fields if spec else ()) if config.get(f.name)]
    return out


def export(ctx: Context, incident_id: str, fmt: str = "md") -> str:
    """A post-mortem timeline as Markdown or JSON. No secret values (scrubbed once more as a guard)."""
    if fmt not in ("md", "json"):
        raise usage(f"unknown format {fmt!r}", hint="md or json")
    doc = view(ctx, incident_id)
    doc["exported"] = clock.utc_now_iso()
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else _markdown(doc)
    inc = get(ctx, incident_id)
    text = redact(text, _known_secrets(ctx, inc))
    ctx.audit("incident.export", inc.id, "ok", f"format={fmt}")
    return text


def _md(text: Any) -> str:
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def _markdown(doc: dict[str, Any]) -> str:
    cred = doc.get("credentialDetail") or {}
    opts = doc.get("options") or {}
    steps = doc.get("steps") or {}
    out = [f"# Incident {doc['id']}: {_md(doc.get('title'))}", "",
           f"- Credential: `{cred.get('item')}` — {_md(cred.get('label'))}",
           f"- State: **{doc['state']}**" + (f" (next step: {doc['nextStep']})" if doc.get("nextStep") else ""),
           f"- Opened: {doc['created']}; last update: {doc['updated']}; exported: {doc['exported']}",
           f"- Failed runs considered since: {opts.get('since')}; retry strategy {opts.get('strategy')}, "
           f"at most {opts.get('rate')}/s", "", "## Steps", "", "| step | status | outcome | summary |",
           "|---|---|---|---|"]
    for s in STEPS:
        e = steps.get(s) or {}
        out.append(f"| {s} | {e.get('status', PENDING)} | {e.get('outcome', '')} | "
                   f"{_md(e.get('summary') or e.get('reason') or '')} |")
    scope = (steps.get("scope") or {}).get("result") or {}
    if scope:
        out += ["", "## Scope", ""]
        if scope.get("connection"):
            c = scope["connection"]
            out.append(f"- Connection: {_md(c['name'])} (`{c['id']}`, {c['providerId']}, {c['scope']})")
        out.append("- Projects: " + (", ".join(f"{_md(p.get('name'))} (`{p['id']}`)" for p in scope.get("projects")
                                                or []) or "none listed"))
        for note in (scope.get("projectNotes") or []) + (scope.get("appConnectionNotes") or []):
            out.append(f"  - {_md(note)}")
        for r in scope.get("references") or []:
            out.append(f"- Reference `{_md(r['reference'])}` in {_md(r['file'])}"
                       + (f":{r['line']}" if r.get("line") else "") + f" ({_md(r['location'])})")
        for p in scope.get("knownPaths") or []:
            out.append(f"- Path seen by aptui: `{_md(p)}`")
        for a in scope.get("appConnections") or []:
            out.append(f"- App connection {_md(a.get('displayName'))} (`{a.get('id')}`, {_md(a.get('pieceName'))}, "
                       f"project `{a.get('projectId')}`)")
    recover = (steps.get("recover") or {}).get("result") or {}
    if recover.get("candidates"):
        out += ["", "## Flow runs retried", "", "| run | project | before | outcome | detail |",
                "|---|---|---|---|---|"]
        for c in recover["candidates"]:
            detail = f"{c.get('code', '')}: {c.get('message', '')}" if c.get("code") else c.get("newStatus", "")
            out.append(f"| `{c['runId']}` | `{c['projectId']}` | {c.get('status', '')} | {c['outcome']} | "
                       f"{_md(detail)} |")
    out += ["", "## Timeline", "", "| # | time (UTC) | who | step | action | outcome | detail |",
            "|---|---|---|---|---|---|---|"]
    for e in doc.get("timeline") or []:
        out.append(f"| {e['seq']} | {e['at']} | {_md(e['actor'])} | {e['step']} | {_md(e['action'])} | "
                   f"{e['outcome']} | {_md(e.get('detail'))} |")
    out.append("")
    return "\n".join(out)


def exit_code(inc: store_inc.Incident) -> int:
    """0 when every step ended ok or skipped, 1 when a step ended with problems (e.g. failed retries)."""
    steps = inc.data.get("steps", {})
    return Exit.FAILED if any((steps.get(s) or {}).get("outcome") in ("partial", "failed") for s in STEPS) \
        else Exit.OK


__all__ = [
    "STEPS",
    "STEP_TITLES",
    "Decisions",
    "IncidentStopped",
    "contain_choices",
    "exit_code",
    "export",
    "get",
    "list_incidents",
    "next_step",
    "note_elsewhere",
    "open_target",
    "parse_rotated_at",
    "resolve",
    "run",
    "skip",
    "start",
    "summary",
    "view",
]
