"""Stores as older aptui versions wrote them, built by hand, for upgrade tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from aptui.store import crypto as store_crypto
from aptui.store.crypto import FieldCipher
from aptui.store.db import _statements
from aptui.store.schema import MIGRATIONS


def write_v2_store(home: Path, profiles: dict[str, tuple[str, str]], *, audit_entries: int = 3) -> None:
    """A schema-v2 store (before row seals and sessions) at ``home``: ``profiles`` maps row id to
    (name, API key); a generated key file; ``audit_entries`` plain log rows."""
    home.mkdir(parents=True, exist_ok=True)
    kek = store_crypto.write_key_file(home / "aptui.key")
    data_key = store_crypto.new_data_key()
    cipher = FieldCipher(data_key)
    conn = sqlite3.connect(str(home / "aptui.db"), isolation_level=None)
    for version, sql in MIGRATIONS:
        if version <= 2:
            for stmt in _statements(sql):
                conn.execute(stmt)
    conn.execute("INSERT INTO keyring (id, kek_kind, kdf, kek_fingerprint, wrapped_key, created) VALUES (1,?,?,?,?,?)",
                 (kek.kind, json.dumps(kek.kdf), kek.fingerprint, store_crypto.wrap_data_key(kek, data_key), "t"))
    for n, (row_id, (name, key)) in enumerate(profiles.items()):
        conn.execute("INSERT INTO profiles (id, name, base_url, api_key, is_default, created, updated) "
                     "VALUES (?, ?, 'https://ap.example.com', ?, ?, 't', 't')",
                     (row_id, name, cipher.encrypt("profiles", row_id, "api_key", key), int(n == 0)))
    for i in range(audit_entries):
        conn.execute("INSERT INTO audit_log (at, actor, action, target, outcome) VALUES ('t', 'me', 'a', ?, 'ok')",
                     (str(i),))
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    (home / "aptui.db").chmod(0o600)
