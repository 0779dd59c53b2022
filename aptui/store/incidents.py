"""Incidents (table ``incidents``) and their timelines (``incident_events``).

``incidents.data`` is a JSON document with the runbook's progress (options, per-step status and
results, the runner that owns it). Nothing stored here is a secret value: results carry ids,
names, masks and counts only. Every write is its own transaction, so a process killed at any
point leaves the last completed sub-step on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit
from aptui.ids import actor as os_actor
from aptui.ids import new_id
from aptui.store.db import Store

TABLE = "incidents"
EVENTS = "incident_events"
OPEN, CLOSED = "open", "closed"


@dataclass
class Incident:
    id: str
    credential_item: str
    title: str | None
    state: str
    current_step: str | None
    data: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    updated: str = ""


@dataclass
class Event:
    seq: int
    incident_id: str
    at: str
    actor: str
    step: str
    action: str
    outcome: str
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "step": self.step, "action": self.action,
                "outcome": self.outcome, "detail": self.detail}


def _incident(row: dict[str, Any]) -> Incident:
    return Incident(row["id"], row["credential_item"], row["title"], row["state"], row["current_step"],
                    json.loads(row["data"] or "{}"), row["created"], row["updated"])


def not_found(incident_id: str) -> AptuiError:
    return AptuiError("ENTITY_NOT_FOUND", f"no incident {incident_id!r}", exit_code=Exit.USAGE,
                      hint="see `aptui incident list`", params={"entityType": "Incident", "entityId": incident_id})


def create(store: Store, credential_item: str, title: str | None, data: dict[str, Any], first_step: str) -> Incident:
    now = utc_now_iso()
    iid = new_id()
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO {TABLE} (id, credential_item, title, state, current_step, data, created, updated) "
                     "VALUES (?,?,?,?,?,?,?,?)", (iid, credential_item, title, OPEN, first_step, json.dumps(data),
                                                  now, now))
    return get(store, iid)  # type: ignore[return-value]


def get(store: Store, incident_id: str) -> Incident | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE id = ?", (incident_id,))
    return _incident(rows[0]) if rows else None


def require(store: Store, incident_id: str) -> Incident:
    found = get(store, incident_id)
    if found is None:
        # Accept an unambiguous prefix (ids are 21 characters: operators type the first few).
        rows = store.query(f"SELECT * FROM {TABLE} WHERE id LIKE ? ORDER BY created DESC LIMIT 2",
                           (incident_id.replace("%", "").replace("_", "") + "%",))
        if len(rows) == 1 and len(incident_id) >= 4:
            return _incident(rows[0])
        raise not_found(incident_id)
    return found


def list_all(store: Store, *, state: str | None = None, limit: int = 200) -> list[Incident]:
    if state:
        rows = store.query(f"SELECT * FROM {TABLE} WHERE state = ? ORDER BY created DESC LIMIT ?", (state, limit))
    else:
        rows = store.query(f"SELECT * FROM {TABLE} ORDER BY created DESC LIMIT ?", (limit,))
    return [_incident(r) for r in rows]


def latest_open(store: Store) -> Incident | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE state = ? ORDER BY updated DESC LIMIT 1", (OPEN,))
    return _incident(rows[0]) if rows else None


def save(store: Store, inc: Incident, event: tuple[str, str, str, str | None] | None = None) -> Incident:
    """Write the incident (and, in the same transaction, one timeline event ``(step, action,
    outcome, detail)``)."""
    inc.updated = utc_now_iso()
    with store.transaction() as conn:
        conn.execute(f"UPDATE {TABLE} SET title = ?, state = ?, current_step = ?, data = ?, updated = ? WHERE id = ?",
                     (inc.title, inc.state, inc.current_step, json.dumps(inc.data), inc.updated, inc.id))
        if event is not None:
            _insert_event(conn, inc.id, *event)
    return inc


def _insert_event(conn, incident_id: str, step: str, action: str, outcome: str, detail: str | None) -> None:
    conn.execute(f"INSERT INTO {EVENTS} (incident_id, at, actor, step, action, outcome, detail) "
                 "VALUES (?,?,?,?,?,?,?)", (incident_id, utc_now_iso(), os_actor(), step, action, outcome, detail))


def add_event(store: Store, incident_id: str, step: str, action: str, outcome: str, detail: str | None = None) -> None:
    with store.transaction() as conn:
        _insert_event(conn, incident_id, step, action, outcome, detail)


def events(store: Store, incident_id: str) -> list[Event]:
    rows = store.query(f"SELECT * FROM {EVENTS} WHERE incident_id = ? ORDER BY seq", (incident_id,))
    return [Event(r["seq"], r["incident_id"], r["at"], r["actor"], r["step"], r["action"], r["outcome"], r["detail"])
            for r in rows]


def try_claim(store: Store, incident_id: str, owner: dict[str, Any], is_alive) -> dict[str, Any] | None:
    """Take ownership of an incident for this process, atomically. Returns the other live owner
    (and changes nothing) when one holds it; ``is_alive(owner) -> bool`` judges a recorded owner."""
    with store.transaction() as conn:
        row = conn.execute(f"SELECT data FROM {TABLE} WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise not_found(incident_id)
        data = json.loads(row[0] or "{}")
        current = data.get("owner")
        if current and current != owner and is_alive(current):
            return current
        data["owner"] = owner
        conn.execute(f"UPDATE {TABLE} SET data = ? WHERE id = ?", (json.dumps(data), incident_id))
    return None


def release(store: Store, incident_id: str, owner: dict[str, Any]) -> None:
    with store.transaction() as conn:
        row = conn.execute(f"SELECT data FROM {TABLE} WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            return
        data = json.loads(row[0] or "{}")
        if data.get("owner") == owner:
            data.pop("owner", None)
            conn.execute(f"UPDATE {TABLE} SET data = ? WHERE id = ?", (json.dumps(data), incident_id))
