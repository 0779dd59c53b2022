"""Migration runs (table ``migration_runs``): the journal of ``aptui migrate apply``.

``data`` is value-free JSON (per-step status, masked facts, counts). ``journal`` holds what a
rollback needs that may be secret — former app-connection values, former secret versions, the
digests of rewritten files — as JSON encrypted with AES-GCM (AAD ``migration_runs:<id>:journal``).
Every save is one transaction, so a process killed at any point leaves the last finished step.
The fingerprint key (``fingerprint_key``) is derived from the store's data key: fingerprints in a
plan are keyed, stable across ``store rekey``, and useless without the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit
from aptui.ids import new_id
from aptui.store.db import Store

TABLE = "migration_runs"
RUNNING, DONE, FAILED, ROLLED_BACK = "running", "done", "failed", "rolled-back"
_FP_INFO = b"aptui:v1:migrate-fingerprint"


@dataclass
class Run:
    id: str
    plan_id: str
    plan_digest: str
    plan_file: str
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    updated: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "planId": self.plan_id, "planFile": self.plan_file, "state": self.state,
                "steps": self.data.get("steps", []), "created": self.created, "updated": self.updated}


def _run(row: dict[str, Any]) -> Run:
    return Run(row["id"], row["plan_id"], row["plan_digest"], row["plan_file"], row["state"],
               json.loads(row["data"] or "{}"), row["created"], row["updated"])


def fingerprint_key(store: Store) -> bytes:
    """The HMAC key for value fingerprints (derived from the store's data key, never stored)."""
    return hmac.new(store._data_key(), _FP_INFO, hashlib.sha256).digest()


def key_id(store: Store) -> str:
    """A short public id of the fingerprint key (tells a plan made with another store)."""
    return hashlib.sha256(b"key-id:" + fingerprint_key(store)).hexdigest()[:12]


def create(store: Store, plan_id: str, plan_digest: str, plan_file: str, data: dict[str, Any]) -> Run:
    now = utc_now_iso()
    rid = new_id()
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO {TABLE} (id, plan_id, plan_digest, plan_file, state, data, journal, created, "
                     "updated) VALUES (?,?,?,?,?,?,?,?,?)",
                     (rid, plan_id, plan_digest, plan_file, RUNNING, json.dumps(data),
                      store.encrypt(TABLE, rid, "journal", "{}"), now, now))
    found = get(store, rid)
    assert found is not None
    return found


def get(store: Store, run_id: str) -> Run | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE id = ?", (run_id,))
    return _run(rows[0]) if rows else None


def latest_for_plan(store: Store, plan_id: str) -> Run | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE plan_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
                       (plan_id,))
    return _run(rows[0]) if rows else None


def list_all(store: Store, *, limit: int = 100) -> list[Run]:
    return [_run(r) for r in store.query(f"SELECT * FROM {TABLE} ORDER BY created DESC LIMIT ?", (limit,))]


def journal(store: Store, run: Run) -> dict[str, Any]:
    """The decrypted journal (may hold former values: handle with care)."""
    rows = store.query(f"SELECT journal FROM {TABLE} WHERE id = ?", (run.id,))
    if not rows or rows[0]["journal"] is None:
        return {}
    return json.loads(store.decrypt(TABLE, run.id, "journal", rows[0]["journal"]))


def save(store: Store, run: Run, *, journal_doc: dict[str, Any] | None = None) -> Run:
    """Persist state and data (and the journal, encrypted, in the same transaction)."""
    run.updated = utc_now_iso()
    sets, params = "state = ?, data = ?, updated = ?", [run.state, json.dumps(run.data), run.updated]
    if journal_doc is not None:
        sets += ", journal = ?"
        params.append(store.encrypt(TABLE, run.id, "journal", json.dumps(journal_doc, sort_keys=True)))
    with store.transaction() as conn:
        conn.execute(f"UPDATE {TABLE} SET {sets} WHERE id = ?", (*params, run.id))
    return run


def not_found(plan_id: str) -> AptuiError:
    return AptuiError("ENTITY_NOT_FOUND", f"no migration run for plan {plan_id}", exit_code=Exit.USAGE,
                      hint="apply the plan first: aptui migrate apply PLAN.json",
                      params={"entityType": "MigrationRun", "entityId": plan_id})
