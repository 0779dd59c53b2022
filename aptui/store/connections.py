"""Secret-manager connections (table ``sm_connections``).

``auth`` holds the JSON of the FULL provider config, encrypted (AAD = sm_connections/<id>/auth);
non-secret fields are also kept in clear in ``public_config`` for display. Scope follows
Activepieces: PLATFORM serves every project, PROJECT serves the projects it lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, store_error, usage
from aptui.ids import new_id
from aptui.masking import Secret, shown
from aptui.providers.fields import PROVIDERS
from aptui.store.db import Store

TABLE = "sm_connections"
PLATFORM = "PLATFORM"
PROJECT = "PROJECT"
SCOPES = (PLATFORM, PROJECT)


@dataclass
class Connection:
    """One connection row, without its credentials."""

    id: str
    provider_id: str
    name: str
    scope: str
    project_ids: list[str]
    public_config: dict[str, str]
    created: str
    updated: str
    credential_set_at: str | None = None
    last_test_at: str | None = None
    last_test_ok: bool | None = None
    last_test_error: str | None = None
    value_ttl: float | None = None
    status_ttl: float | None = None

    def serves(self, project_ids: list[str] | None) -> bool:
        """Upstream: PLATFORM, or PROJECT whose projectIds contain ALL requested ids
        (``@> :projectIds``). No project given → ``@> '[]'``, true for every PROJECT connection."""
        if self.scope == PLATFORM:
            return True
        return set(project_ids or []) <= set(self.project_ids)


def _row(row: dict[str, Any]) -> Connection:
    public = json.loads(row["public_config"] or "{}")
    return Connection(
        id=row["id"], provider_id=row["provider_id"], name=row["name"], scope=row["scope"],
        project_ids=json.loads(row["project_ids"] or "[]"), public_config=public,
        created=row["created"], updated=row["updated"], credential_set_at=row["credential_set_at"],
        last_test_at=row["last_test_at"],
        last_test_ok=None if row["last_test_ok"] is None else bool(row["last_test_ok"]),
        last_test_error=row["last_test_error"], value_ttl=row["value_ttl"], status_ttl=row["status_ttl"],
    )


def _clear(value: Any) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)


def _split_config(provider_id: str, config: dict[str, Any]) -> tuple[dict[str, str], str]:
    """(full clear config, JSON of the public fields)."""
    spec = PROVIDERS[provider_id]
    full = {k: _clear(v) for k, v in config.items() if v is not None}
    public = {f.name: full[f.name] for f in spec.fields if f.public and f.name in full}
    return full, json.dumps(public, sort_keys=True)


def normalize_scope(scope: str, project_ids: list[str] | None) -> tuple[str, list[str]]:
    scope = (scope or PLATFORM).upper()
    if scope not in SCOPES:
        raise usage(f"scope must be PLATFORM or PROJECT, got {scope!r}")
    ids = list(dict.fromkeys(p for p in (project_ids or []) if p))
    if scope == PROJECT and not ids:
        raise usage("Please select at least one project", hint="add --project ID (repeatable)")
    return scope, (ids if scope == PROJECT else [])


def create(store: Store, *, provider_id: str, name: str, config: dict[str, Any], scope: str = PLATFORM,
           project_ids: list[str] | None = None, connection_id: str | None = None,
           value_ttl: float | None = None, status_ttl: float | None = None,
           tested_ok: bool | None = None) -> Connection:
    """Insert a connection (the caller has validated the config and tested it if wanted)."""
    if provider_id not in PROVIDERS:
        raise usage(f"unknown provider {provider_id!r}")
    if not name:
        raise usage("the name must not be empty")
    scope, project_ids = normalize_scope(scope, project_ids)
    cid = connection_id or new_id()
    full, public = _split_config(provider_id, config)
    now = utc_now_iso()
    with store.transaction() as conn:
        if conn.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (name,)).fetchone():
            raise usage(f"a connection named {name!r} already exists", code="DUPLICATE_NAME",
                        hint="pick another --name, or use `aptui sm update`")
        if conn.execute(f"SELECT 1 FROM {TABLE} WHERE id = ?", (cid,)).fetchone():
            raise usage(f"a connection with id {cid} already exists", code="DUPLICATE_ID")
        conn.execute(
            f"INSERT INTO {TABLE} (id, provider_id, name, scope, project_ids, public_config, auth, created, "
            "updated, credential_set_at, last_test_at, last_test_ok, value_ttl, status_ttl) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (cid, provider_id, name, scope, json.dumps(project_ids), public,
             store.encrypt(TABLE, cid, "auth", json.dumps(full, sort_keys=True)), now, now, now,
             now if tested_ok is not None else None, None if tested_ok is None else int(tested_ok),
             value_ttl, status_ttl),
        )
        _record_rotation(conn, cid, provider_id, now, "connection created")
    return get(store, cid)  # type: ignore[return-value]


def _record_rotation(conn, cid: str, provider_id: str, at: str, note: str) -> None:
    conn.execute(
        "INSERT INTO rotation_records (id, item_id, kind, event, at, source, note) VALUES (?,?,?,?,?,?,?)",
        (new_id(), cid, provider_id, "set", at, "recorded", note),
    )


def get(store: Store, connection_id: str) -> Connection | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE id = ?", (connection_id,))
    return _row(rows[0]) if rows else None


def by_name(store: Store, name: str) -> Connection | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE name = ?", (name,))
    return _row(rows[0]) if rows else None


def find(store: Store, id_or_name: str) -> Connection:
    """By id, then by name; ENTITY_NOT_FOUND otherwise."""
    found = get(store, id_or_name) or by_name(store, id_or_name)
    if found is None:
        id_or_name = shown(id_or_name)  # a credential typed where the name belongs is not repeated
        raise AptuiError("ENTITY_NOT_FOUND", f"no secret-manager connection with id or name {id_or_name!r}",
                         hint="see `aptui sm list`", params={"entityType": "secret_manager_connection",
                                                            "entityId": id_or_name})
    return found


def list_all(store: Store, *, provider_id: str | None = None) -> list[Connection]:
    if provider_id:
        rows = store.query(f"SELECT * FROM {TABLE} WHERE provider_id = ? ORDER BY name", (provider_id,))
    else:
        rows = store.query(f"SELECT * FROM {TABLE} ORDER BY name")
    return [_row(r) for r in rows]


def serving(store: Store, project_ids: str | list[str] | None = None) -> list[Connection]:
    """Connections that serve a resolution for ``project_ids`` (upstream ``getSecret`` semantics)."""
    wanted = [project_ids] if isinstance(project_ids, str) else list(project_ids or [])
    return [c for c in list_all(store) if c.serves(wanted)]


def auth(store: Store, connection: Connection | str) -> dict[str, str]:
    """The decrypted provider config (clear strings). Handle with care: never print it."""
    cid = connection if isinstance(connection, str) else connection.id
    rows = store.query(f"SELECT auth FROM {TABLE} WHERE id = ?", (cid,))
    if not rows:
        raise AptuiError("ENTITY_NOT_FOUND", f"no secret-manager connection with id {cid!r}")
    expect = None if isinstance(connection, str) else {"provider_id": connection.provider_id,
                                                        "scope": connection.scope}
    store.verify_row(TABLE, cid, expect)  # seal, rollback, and the row the caller routes by
    text = store.decrypt(TABLE, cid, "auth", rows[0]["auth"])
    try:
        data = json.loads(text)
    except ValueError:
        raise store_error("STORE_FIELD_TAMPERED", f"{TABLE}.auth of row {cid}: not a JSON object") from None
    if not isinstance(data, dict):
        raise store_error("STORE_FIELD_TAMPERED", f"{TABLE}.auth of row {cid}: not a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def update(store: Store, connection_id: str, *, name: str | None = None, scope: str | None = None,
           project_ids: list[str] | None = None, config: dict[str, Any] | None = None,
           value_ttl: float | None = None, status_ttl: float | None = None,
           clear_ttls: bool = False, tested_ok: bool | None = None) -> tuple[Connection, list[str]]:
    """Change a connection. ``config`` is the complete new config. Returns the row and the names of
    secret fields whose value changed (their change is recorded for rotation)."""
    current = get(store, connection_id)
    if current is None:
        raise AptuiError("ENTITY_NOT_FOUND", f"no secret-manager connection with id {connection_id!r}")
    sets: dict[str, Any] = {}
    changed_secrets: list[str] = []
    now = utc_now_iso()
    if name is not None and name != current.name:
        if not name:
            raise usage("the name must not be empty")
        if by_name(store, name) is not None:
            raise usage(f"a connection named {name!r} already exists", code="DUPLICATE_NAME")
        sets["name"] = name
    if scope is not None or project_ids is not None:
        new_scope, new_ids = normalize_scope(scope or current.scope,
                                             project_ids if project_ids is not None else current.project_ids)
        sets["scope"], sets["project_ids"] = new_scope, json.dumps(new_ids)
    if config is not None:
        old = auth(store, current)
        full, public = _split_config(current.provider_id, config)
        spec = PROVIDERS[current.provider_id]
        changed_secrets = [f.name for f in spec.secret_fields if old.get(f.name) != full.get(f.name)]
        sets["public_config"] = public
        sets["auth"] = store.encrypt(TABLE, current.id, "auth", json.dumps(full, sort_keys=True))
        if changed_secrets:
            sets["credential_set_at"] = now
    if clear_ttls:
        sets["value_ttl"], sets["status_ttl"] = None, None
    if value_ttl is not None:
        sets["value_ttl"] = value_ttl
    if status_ttl is not None:
        sets["status_ttl"] = status_ttl
    if tested_ok is not None:
        sets["last_test_at"], sets["last_test_ok"], sets["last_test_error"] = now, int(tested_ok), None
    if sets:
        sets["updated"] = now
        cols = ", ".join(f"{k} = ?" for k in sets)
        with store.transaction() as conn:
            conn.execute(f"UPDATE {TABLE} SET {cols} WHERE id = ?", (*sets.values(), current.id))
            if changed_secrets:
                _record_rotation(conn, current.id, current.provider_id, now,
                                 "changed: " + ", ".join(changed_secrets))
    return get(store, current.id), changed_secrets  # type: ignore[return-value]


def delete(store: Store, connection_id: str) -> bool:
    """Remove the connection; its cache rows go with it (ON DELETE CASCADE)."""
    with store.transaction() as conn:
        cur = conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (connection_id,))
        return cur.rowcount > 0


def record_test(store: Store, connection_id: str, ok: bool, error: str | None = None) -> None:
    """Remember the outcome of the last live test (``error`` is a one-line, value-free message)."""
    with store.transaction() as conn:
        conn.execute(f"UPDATE {TABLE} SET last_test_at = ?, last_test_ok = ?, last_test_error = ? WHERE id = ?",
                     (utc_now_iso(), int(ok), None if ok else (error or "failed"), connection_id))
