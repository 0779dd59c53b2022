"""The embedded default: one encrypted SQLite file (AES-256-GCM fields, wrapped data key)."""

from aptui.store.db import ENCRYPTED_COLUMNS, SCHEMA_VERSION, Store

__all__ = ["ENCRYPTED_COLUMNS", "SCHEMA_VERSION", "Store"]
