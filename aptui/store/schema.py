"""Schema versions as forward migrations. ``PRAGMA user_version`` holds the applied version.

Each step is ``(version, sql)``; renumbering one is changing its number. Row seals, the store state
and the audit chain (aptui.store.integrity) are rebuilt by the Store after any step that follows
``SEAL_VERSION``, once the seals written before it have been verified: a migration only changes
the schema and its data, never a seal.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE keyring (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            kek_kind TEXT NOT NULL,
            kdf TEXT NOT NULL,
            kek_fingerprint TEXT NOT NULL,
            wrapped_key BLOB NOT NULL,
            created TEXT NOT NULL,
            rekeyed TEXT
        );
        CREATE TABLE sm_connections (
            id TEXT PRIMARY KEY,
            provider_id TEXT NOT NULL,
            name TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL CHECK (scope IN ('PLATFORM', 'PROJECT')),
            project_ids TEXT NOT NULL DEFAULT '[]',
            public_config TEXT NOT NULL DEFAULT '{}',
            auth BLOB NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            credential_set_at TEXT,
            last_test_at TEXT,
            last_test_ok INTEGER,
            last_test_error TEXT,
            value_ttl REAL,
            status_ttl REAL
        );
        CREATE TABLE profiles (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            base_url TEXT NOT NULL,
            default_project TEXT,
            ca_bundle TEXT,
            verify_tls INTEGER NOT NULL DEFAULT 1,
            api_key BLOB,
            api_key_set_at TEXT,
            is_default INTEGER NOT NULL DEFAULT 0,
            server_version TEXT,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE cache_entries (
            id TEXT PRIMARY KEY,
            connection_id TEXT NOT NULL REFERENCES sm_connections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            value BLOB NOT NULL,
            created REAL NOT NULL,
            expires REAL NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0,
            UNIQUE (connection_id, path)
        );
        CREATE INDEX cache_entries_expires ON cache_entries(expires);
        CREATE TABLE cache_stats (
            connection_id TEXT PRIMARY KEY REFERENCES sm_connections(id) ON DELETE CASCADE,
            hits INTEGER NOT NULL DEFAULT 0,
            misses INTEGER NOT NULL DEFAULT 0,
            status_ok INTEGER,
            status_checked REAL,
            status_expires REAL
        );
        CREATE TABLE rotation_records (
            id TEXT PRIMARY KEY,
            item_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            event TEXT NOT NULL,
            at TEXT NOT NULL,
            source TEXT NOT NULL,
            note TEXT
        );
        CREATE INDEX rotation_records_item ON rotation_records(item_id, at);
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            credential_item TEXT NOT NULL,
            title TEXT,
            state TEXT NOT NULL,
            current_step TEXT,
            data TEXT NOT NULL DEFAULT '{}',
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE incident_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            step TEXT NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX incident_events_incident ON incident_events(incident_id, seq);
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        """,
    ),
    (
        2,
        """
        CREATE TABLE rotation_runs (
            id TEXT PRIMARY KEY,
            item_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            step TEXT,
            data TEXT NOT NULL DEFAULT '{}',
            staged BLOB,
            error TEXT,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE INDEX rotation_runs_item ON rotation_runs(item_id, state);
        """,
    ),
    (
        3,  # row seals, store state with the wrapped key, audit hash chain (aptui.store.integrity)
        """
        ALTER TABLE profiles ADD COLUMN seal BLOB;
        ALTER TABLE profiles ADD COLUMN seal_gen INTEGER;
        ALTER TABLE sm_connections ADD COLUMN seal BLOB;
        ALTER TABLE sm_connections ADD COLUMN seal_gen INTEGER;
        ALTER TABLE rotation_runs ADD COLUMN seal BLOB;
        ALTER TABLE rotation_runs ADD COLUMN seal_gen INTEGER;
        ALTER TABLE audit_log ADD COLUMN mac BLOB;
        ALTER TABLE keyring ADD COLUMN counter INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE keyring ADD COLUMN digest BLOB;
        ALTER TABLE keyring ADD COLUMN audit_seq INTEGER;
        ALTER TABLE keyring ADD COLUMN audit_mac BLOB;
        ALTER TABLE keyring ADD COLUMN state_mac BLOB;
        DROP TRIGGER audit_log_no_update;
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.mac IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        """,
    ),
    (
        4,
        """
        CREATE TABLE migration_runs (
            id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL,
            plan_digest TEXT NOT NULL,
            plan_file TEXT NOT NULL,
            state TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            journal BLOB,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE INDEX migration_runs_plan ON migration_runs(plan_id, created);
        """,
    ),
    (
        5,
        # A signed-in user's session beside the API key (principal USER): the token is a secret
        # field like api_key (AAD profiles:<id>:session_token); the rest is what list/show say.
        """
        ALTER TABLE profiles ADD COLUMN session_token BLOB;
        ALTER TABLE profiles ADD COLUMN session_expires TEXT;
        ALTER TABLE profiles ADD COLUMN session_user TEXT;
        ALTER TABLE profiles ADD COLUMN session_set_at TEXT;
        """,
    ),
]
SEAL_VERSION = 3  # the first version whose rows carry seals

SCHEMA_VERSION = MIGRATIONS[-1][0]

# Every encrypted column, by table: `aptui store check` decrypts each of them.
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sm_connections": ("auth",),
    "profiles": ("api_key", "session_token"),
    "cache_entries": ("value",),
    "rotation_runs": ("staged",),
    "migration_runs": ("journal",),
}
