"""Activepieces profiles (table ``profiles``): name, URL, default project, TLS, two credentials.

Credentials, each optional: the API key (principal SERVICE), encrypted in column ``api_key`` with
AAD ``profiles:<id>:api_key``, and a signed-in user's session token (principal USER), encrypted
the same way in ``session_token`` (AAD ``profiles:<id>:session_token``) with its expiry (the
JWT's ``exp``) and the user's e-mail in clear columns. Setting it
stamps ``api_key_set_at`` and appends a ``rotation_records`` row (item ``<profile id>``, kind
``activepieces-api-key``, event ``set`` the first time and ``rotated`` after) for the rotation
tracker. Nothing here returns the key except ``api_key()``, as a ``Secret``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit, usage
from aptui.ids import new_id
from aptui.masking import Secret, shown
from aptui.store.db import Store

TABLE = "profiles"
KEY_KIND = "activepieces-api-key"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Profile:
    """A profile as stored, without its key (``has_key`` says whether one is stored)."""

    id: str
    name: str
    base_url: str
    default_project: str | None
    ca_bundle: str | None
    verify_tls: bool
    has_key: bool
    api_key_set_at: str | None
    is_default: bool
    server_version: str | None
    created: str
    updated: str
    has_session: bool = False
    session_expires: str | None = None
    session_user: str | None = None
    session_set_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row_to_profile(row: dict[str, Any]) -> Profile:
    return Profile(
        id=row["id"], name=row["name"], base_url=row["base_url"], default_project=row["default_project"],
        ca_bundle=row["ca_bundle"], verify_tls=bool(row["verify_tls"]), has_key=row["api_key"] is not None,
        api_key_set_at=row["api_key_set_at"], is_default=bool(row["is_default"]),
        server_version=row["server_version"], created=row["created"], updated=row["updated"],
        has_session=row.get("session_token") is not None, session_expires=row.get("session_expires"),
        session_user=row.get("session_user"), session_set_at=row.get("session_set_at"),
    )


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise usage(f"invalid profile name {name!r}", hint="letters, digits, '.', '_' or '-', up to 64 characters")
    return name


def not_found(name: str) -> AptuiError:
    name = shown(name)  # `profile set-key sk-…` (the key where the name belongs) is not repeated
    return AptuiError("ENTITY_NOT_FOUND", f"no profile named {name!r}", exit_code=Exit.USAGE,
                      hint="see `aptui profile list`", params={"entityType": "Profile", "entityId": name})


def list_all(store: Store) -> list[Profile]:
    return [_row_to_profile(r) for r in store.query(f"SELECT * FROM {TABLE} ORDER BY name")]


def get(store: Store, name_or_id: str) -> Profile | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE name = ? OR id = ? ORDER BY name = ? DESC LIMIT 1",
                       (name_or_id, name_or_id, name_or_id))
    return _row_to_profile(rows[0]) if rows else None


def require(store: Store, name_or_id: str) -> Profile:
    profile = get(store, name_or_id)
    if profile is None:
        raise not_found(name_or_id)
    return profile


def default(store: Store) -> Profile | None:
    rows = store.query(f"SELECT * FROM {TABLE} WHERE is_default = 1 LIMIT 1")
    return _row_to_profile(rows[0]) if rows else None


def _record_key_event(conn, profile_id: str, event: str, at: str, source: str) -> None:
    conn.execute(
        "INSERT INTO rotation_records (id, item_id, kind, event, at, source, note) VALUES (?,?,?,?,?,?,?)",
        (new_id(), profile_id, KEY_KIND, event, at, source, None),
    )


def create(store: Store, name: str, base_url: str, *, api_key: Secret | None = None,
           default_project: str | None = None, ca_bundle: str | None = None, verify_tls: bool = True,
           make_default: bool = False, source: str = "aptui profile add") -> Profile:
    """Insert a profile; the first profile becomes the default."""
    check_name(name)
    now = utc_now_iso()
    pid = new_id()
    with store.transaction() as conn:
        if conn.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (name,)).fetchone():
            raise usage(f"a profile named {name!r} already exists", code="PROFILE_EXISTS",
                        hint="remove it first, or use `aptui profile set-key` to change its key")
        first = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] == 0
        if make_default:
            conn.execute(f"UPDATE {TABLE} SET is_default = 0 WHERE is_default = 1")
        blob = store.encrypt(TABLE, pid, "api_key", api_key.reveal()) if api_key else None
        conn.execute(
            f"INSERT INTO {TABLE} (id, name, base_url, default_project, ca_bundle, verify_tls, api_key, "
            "api_key_set_at, is_default, server_version, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (pid, name, base_url, default_project, ca_bundle, int(verify_tls), blob, now if api_key else None,
             int(make_default or first), None, now, now),
        )
        if api_key:
            _record_key_event(conn, pid, "set", now, source)
    return require(store, pid)


def api_key(store: Store, profile: Profile) -> Secret | None:
    """The stored key, decrypted (None when the profile has none)."""
    rows = store.query(f"SELECT api_key FROM {TABLE} WHERE id = ?", (profile.id,))
    if not rows or rows[0]["api_key"] is None:
        return None
    verify_routing(store, profile)
    return Secret(store.decrypt(TABLE, profile.id, "api_key", rows[0]["api_key"]))


def verify_routing(store: Store, profile: Profile) -> None:
    """Before any secret of ``profile`` is used: the row's seal (every column, every secret field),
    the store state (rollback), and that the URL, TLS options, CA bundle and name the caller will
    connect with are the sealed ones. Raises STORE_TAMPERED."""
    store.verify_row(TABLE, profile.id, {"name": profile.name, "base_url": profile.base_url,
                                         "ca_bundle": profile.ca_bundle, "verify_tls": int(profile.verify_tls)})


def set_api_key(store: Store, name: str, key: Secret | None, *, source: str = "aptui profile set-key") -> Profile:
    """Replace (or with None, remove) the stored key; records the change for rotation tracking."""
    profile = require(store, name)
    now = utc_now_iso()
    with store.transaction() as conn:
        if key:
            blob = store.encrypt(TABLE, profile.id, "api_key", key.reveal())
            conn.execute(f"UPDATE {TABLE} SET api_key = ?, api_key_set_at = ?, updated = ? WHERE id = ?",
                         (blob, now, now, profile.id))
            _record_key_event(conn, profile.id, "rotated" if profile.has_key else "set", now, source)
        else:
            conn.execute(f"UPDATE {TABLE} SET api_key = NULL, api_key_set_at = NULL, updated = ? WHERE id = ?",
                         (now, profile.id))
    return require(store, profile.id)


def session_token(store: Store, profile: Profile) -> Secret | None:
    """The stored session token, decrypted (None when the profile holds no session)."""
    rows = store.query(f"SELECT session_token FROM {TABLE} WHERE id = ?", (profile.id,))
    if not rows or rows[0]["session_token"] is None:
        return None
    verify_routing(store, profile)
    return Secret(store.decrypt(TABLE, profile.id, "session_token", rows[0]["session_token"]))


def set_session(store: Store, name: str, token: Secret | None, *, expires: str | None = None,
                user: str | None = None) -> Profile:
    """Store a session token (encrypted like the API key) with its expiry, or drop it with None."""
    profile = require(store, name)
    now = utc_now_iso()
    with store.transaction() as conn:
        if token:
            blob = store.encrypt(TABLE, profile.id, "session_token", token.reveal())
            conn.execute(f"UPDATE {TABLE} SET session_token = ?, session_expires = ?, session_user = ?, "
                         "session_set_at = ?, updated = ? WHERE id = ?", (blob, expires, user, now, now, profile.id))
        else:
            # the e-mail stays: the next `profile login` defaults to it
            conn.execute(f"UPDATE {TABLE} SET session_token = NULL, session_expires = NULL, "
                         "session_set_at = NULL, updated = ? WHERE id = ?", (now, profile.id))
    return require(store, profile.id)


def set_default(store: Store, name: str) -> Profile:
    profile = require(store, name)
    with store.transaction() as conn:
        conn.execute(f"UPDATE {TABLE} SET is_default = 0 WHERE is_default = 1")
        conn.execute(f"UPDATE {TABLE} SET is_default = 1, updated = ? WHERE id = ?", (utc_now_iso(), profile.id))
    return require(store, profile.id)


def set_server_version(store: Store, profile: Profile, version: str | None) -> None:
    with store.transaction() as conn:
        conn.execute(f"UPDATE {TABLE} SET server_version = ? WHERE id = ?", (version, profile.id))


def update(store: Store, name: str, *, base_url: str | None = None, default_project: str | None = None,
           ca_bundle: str | None = None, verify_tls: bool | None = None) -> Profile:
    profile = require(store, name)
    changes: dict[str, Any] = {}
    if base_url is not None:
        changes["base_url"] = base_url
    if default_project is not None:
        changes["default_project"] = default_project or None
    if ca_bundle is not None:
        changes["ca_bundle"] = ca_bundle or None
    if verify_tls is not None:
        changes["verify_tls"] = int(verify_tls)
    if changes:
        changes["updated"] = utc_now_iso()
        sets = ", ".join(f"{k} = ?" for k in changes)
        with store.transaction() as conn:
            conn.execute(f"UPDATE {TABLE} SET {sets} WHERE id = ?", (*changes.values(), profile.id))
    return require(store, profile.id)


def delete(store: Store, name: str) -> Profile:
    """Delete a profile (its key goes with it). If it was the default, no profile is default."""
    profile = require(store, name)
    with store.transaction() as conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (profile.id,))
    return profile
