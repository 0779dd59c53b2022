"""Rotation bookkeeping: ``rotation_records`` (what happened when) and ``rotation_runs`` (assisted
rotations in progress, with the freshly issued credential staged encrypted).

``rotation_records.item_id`` is the stable internal key of a credential: the connection id for a
secret-manager connection, the profile id for an API key (both written by the connections and
profiles stores when a credential is set), ``mcp:<profile id>/<project id>`` for an MCP token and
``aws-secret:<connection id>/<secret name>`` for a referenced AWS secret. Events: ``set`` (stored
in aptui), ``rotated`` (aptui rotated it, or the operator marked it rotated). ``source`` is
``recorded`` or ``marked``; ``note`` never holds a secret.

``rotation_runs.staged`` holds the new credential (JSON, AES-GCM with AAD
``rotation_runs:<id>:staged``) from the moment the provider issued it until the run ends; it is
wiped when the run is finished or aborted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aptui.clock import utc_now_iso
from aptui.ids import new_id
from aptui.store.db import Store

RECORDS = "rotation_records"
RUNS = "rotation_runs"
SET, ROTATED = "set", "rotated"
RECORDED, MARKED = "recorded", "marked"
# Run states: ``active`` (a step is next), ``done``, ``aborted``.
ACTIVE, DONE, ABORTED = "active", "done", "aborted"


@dataclass
class Record:
    item_id: str
    kind: str
    event: str
    at: str
    source: str
    note: str | None = None
    id: str = ""


def add_record(store: Store, item_id: str, kind: str, event: str, at: str, *, source: str = RECORDED,
               note: str | None = None) -> Record:
    rec = Record(item_id, kind, event, at, source, note, new_id())
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO {RECORDS} (id, item_id, kind, event, at, source, note) VALUES (?,?,?,?,?,?,?)",
                     (rec.id, item_id, kind, event, at, source, note))
    return rec


def records(store: Store, item_id: str | None = None) -> list[Record]:
    """Newest first in the order they were written (rowid), for one item or all: the latest word
    wins, so an operator's mark with an older date still replaces the date a connection was added."""
    if item_id is None:
        rows = store.query(f"SELECT * FROM {RECORDS} ORDER BY rowid DESC")
    else:
        rows = store.query(f"SELECT * FROM {RECORDS} WHERE item_id = ? ORDER BY rowid DESC", (item_id,))
    return [Record(r["item_id"], r["kind"], r["event"], r["at"], r["source"], r["note"], r["id"]) for r in rows]


def latest_by_item(store: Store) -> dict[str, Record]:
    """The last written ``set``/``rotated`` record of every item (one query)."""
    out: dict[str, Record] = {}
    for rec in records(store):
        if rec.event in (SET, ROTATED) and rec.item_id not in out:
            out[rec.item_id] = rec
    return out


def items_of_kind(store: Store, kind: str) -> list[str]:
    rows = store.query(f"SELECT DISTINCT item_id FROM {RECORDS} WHERE kind = ? ORDER BY item_id", (kind,))
    return [r["item_id"] for r in rows]


# -- runs --------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One assisted rotation. ``data`` is value-free (steps, masked facts); secrets live in ``staged``."""

    id: str
    item_id: str
    kind: str
    state: str
    step: str | None
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created: str = ""
    updated: str = ""
    has_staged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "item": self.item_id, "kind": self.kind, "state": self.state, "step": self.step,
                "steps": self.data.get("steps", {}), "facts": self.data.get("facts", {}), "error": self.error,
                "created": self.created, "updated": self.updated}


def _run(row: dict[str, Any]) -> Run:
    return Run(row["id"], row["item_id"], row["kind"], row["state"], row["step"], json.loads(row["data"] or "{}"),
               row["error"], row["created"], row["updated"], row["staged"] is not None)


def create_run(store: Store, item_id: str, kind: str, step: str, data: dict[str, Any]) -> Run:
    now = utc_now_iso()
    rid = new_id()
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO {RUNS} (id, item_id, kind, state, step, data, created, updated) "
                     "VALUES (?,?,?,?,?,?,?,?)", (rid, item_id, kind, ACTIVE, step, json.dumps(data), now, now))
    return get_run(store, rid)  # type: ignore[return-value]


def get_run(store: Store, run_id: str) -> Run | None:
    rows = store.query(f"SELECT * FROM {RUNS} WHERE id = ?", (run_id,))
    return _run(rows[0]) if rows else None


def active_run(store: Store, item_id: str) -> Run | None:
    rows = store.query(f"SELECT * FROM {RUNS} WHERE item_id = ? AND state = ? ORDER BY created DESC LIMIT 1",
                       (item_id, ACTIVE))
    return _run(rows[0]) if rows else None


def runs(store: Store, item_id: str | None = None, *, limit: int = 50) -> list[Run]:
    if item_id is None:
        rows = store.query(f"SELECT * FROM {RUNS} ORDER BY created DESC LIMIT ?", (limit,))
    else:
        rows = store.query(f"SELECT * FROM {RUNS} WHERE item_id = ? ORDER BY created DESC LIMIT ?", (item_id, limit))
    return [_run(r) for r in rows]


def active_items(store: Store) -> set[str]:
    return {r["item_id"] for r in store.query(f"SELECT item_id FROM {RUNS} WHERE state = ?", (ACTIVE,))}


def save_run(store: Store, run: Run, *, staged: dict[str, str] | None = None, clear_staged: bool = False) -> Run:
    """Persist state, step, data and error (and the staged secret, in the same transaction)."""
    run.updated = utc_now_iso()
    sets = "state = ?, step = ?, data = ?, error = ?, updated = ?"
    params: list[Any] = [run.state, run.step, json.dumps(run.data), run.error, run.updated]
    if staged is not None:
        sets += ", staged = ?"
        params.append(store.encrypt(RUNS, run.id, "staged", json.dumps(staged, sort_keys=True)))
        run.has_staged = True
    elif clear_staged:
        sets += ", staged = NULL"
        run.has_staged = False
    with store.transaction() as conn:
        conn.execute(f"UPDATE {RUNS} SET {sets} WHERE id = ?", (*params, run.id))
    return run


def staged(store: Store, run: Run) -> dict[str, str]:
    """The staged secrets of a run (clear strings: handle with care), ``{}`` when none."""
    rows = store.query(f"SELECT staged FROM {RUNS} WHERE id = ?", (run.id,))
    if not rows or rows[0]["staged"] is None:
        return {}
    store.verify_row(RUNS, run.id, {"item_id": run.item_id, "kind": run.kind})
    data = json.loads(store.decrypt(RUNS, run.id, "staged", rows[0]["staged"]))
    return {str(k): str(v) for k, v in data.items()}
