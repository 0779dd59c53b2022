"""The per-connection secret cache: an in-memory layer over encrypted SQLite rows.

- Values are keyed by (connection id, raw path), like Activepieces' ``secret-manager:secret:…``
  keys, and stored AES-256-GCM encrypted in ``cache_entries.value`` with AAD bound to a row id
  derived from the connection and the path, so the CLI and the TUI share them.
- A hit served from memory costs a dict lookup plus one ``PRAGMA data_version`` read; when another
  process has written the store since (e.g. ``aptui cache clear`` while the console is open), the
  memory layer is dropped and refilled from SQLite on demand.
- Hit and miss counters are kept in memory and flushed in batches, never one write per hit.
- Connection status is cached only after a successful check, as upstream does.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from aptui.errors import AptuiError
from aptui.masking import Secret
from aptui.store.db import Store

TABLE = "cache_entries"
SERVER_VALUE_TTL = 3600.0   # Activepieces: 1 hour for values
SERVER_STATUS_TTL = 3600.0  # Activepieces: 1 hour for a successful status check
FLUSH_EVERY = 1000          # counter updates kept in memory before one batched write
FLUSH_INTERVAL = 5.0        # seconds between batched writes while lookups keep coming
MEMORY_CAP = 100_000        # entries kept decrypted in memory (SQLite keeps the rest)


def _exists(conn: sqlite3.Connection, connection_id: str) -> bool:
    return conn.execute("SELECT 1 FROM sm_connections WHERE id = ?", (connection_id,)).fetchone() is not None


def row_id(connection_id: str, path: str) -> str:
    """Stable row id for (connection, path); it is part of the value's AAD."""
    return hashlib.sha256(f"{connection_id}\x00{path}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(slots=True)
class _Entry:
    value: Secret
    created: float
    expires: float
    rid: str


@dataclass
class ConnectionCacheStats:
    connection_id: str
    entries: int
    expired: int
    hits: int
    misses: int
    oldest_age: float | None
    newest_age: float | None
    status_ok: bool | None
    status_age: float | None
    status_expires_in: float | None


class SecretCache:
    """One per open store (see ``cache_for``); thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._mem: dict[str, dict[str, _Entry]] = {}
        self._size = 0
        self._lock = threading.RLock()
        self._data_version: int | None = None
        self._hits: dict[str, int] = {}
        self._misses: dict[str, int] = {}
        self._entry_hits: dict[str, int] = {}
        self._pending = 0
        self._last_flush = time.monotonic()

    # -- coherence with other processes -------------------------------------------------------
    def _sync(self) -> None:
        """Drop the memory layer when another connection has committed to the store."""
        with self.store._lock:
            version = self.store.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            if self._data_version is not None:
                self._mem.clear()
                self._size = 0
            self._data_version = version

    # -- lookups --------------------------------------------------------------------------------
    def get(self, connection_id: str, path: str, *, count: bool = True) -> Secret | None:
        """The cached value, or None (expired entries count as misses)."""
        now = time.time()
        with self._lock:
            self._sync()
            entry = self._mem.get(connection_id, {}).get(path)
            if entry is not None and entry.expires > now:
                if count:
                    self._count_hit(connection_id, entry.rid)
                return entry.value
        found = self._load(connection_id, [path], now)
        with self._lock:
            entry = found.get(path)
            if count:
                if entry is not None:
                    self._count_hit(connection_id, entry.rid)
                else:
                    self._count_miss(connection_id)
            return entry.value if entry is not None else None

    def get_many(self, connection_id: str, paths: list[str], *, count: bool = True) -> dict[str, Secret]:
        """Cached values for the paths that have one (one SQL query for the memory misses)."""
        now = time.time()
        out: dict[str, Secret] = {}
        rids: dict[str, str] = {}
        with self._lock:
            self._sync()
            mem = self._mem.get(connection_id, {})
            missing = []
            for p in paths:
                e = mem.get(p)
                if e is not None and e.expires > now:
                    out[p], rids[p] = e.value, e.rid
                else:
                    missing.append(p)
        if missing:
            for p, e in self._load(connection_id, missing, now).items():
                out[p], rids[p] = e.value, e.rid
        if count:
            with self._lock:
                hits = 0
                for p in paths:
                    rid = rids.get(p)
                    if rid is not None:
                        hits += 1
                        self._entry_hits[rid] = self._entry_hits.get(rid, 0) + 1
                self._hits[connection_id] = self._hits.get(connection_id, 0) + hits
                self._misses[connection_id] = self._misses.get(connection_id, 0) + len(paths) - hits
                self._pending += len(paths)
                self._maybe_flush()
        return out

    def _load(self, connection_id: str, paths: list[str], now: float) -> dict[str, _Entry]:
        by_rid = {row_id(connection_id, p): p for p in dict.fromkeys(paths)}
        found: dict[str, _Entry] = {}
        ids = list(by_rid)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.store.query(
                f"SELECT id, value, created, expires FROM {TABLE} WHERE id IN ({marks}) AND expires > ?",
                (*chunk, now))
            for r in rows:
                try:
                    value = Secret(self.store.decrypt(TABLE, r["id"], "value", r["value"]))
                except AptuiError:
                    continue  # a tampered row is a miss; `aptui store check` names it
                found[by_rid[r["id"]]] = _Entry(value, r["created"], r["expires"], r["id"])
        with self._lock:
            for p, e in found.items():
                self._remember(connection_id, p, e)
        return found

    def _remember(self, connection_id: str, path: str, entry: _Entry) -> None:
        if self._size >= MEMORY_CAP:
            self._mem.clear()
            self._size = 0
        bucket = self._mem.setdefault(connection_id, {})
        if path not in bucket:
            self._size += 1
        bucket[path] = entry

    # -- writes ---------------------------------------------------------------------------------
    def put(self, connection_id: str, path: str, value: Secret | str, ttl: float) -> bool:
        return self.put_many(connection_id, {path: value}, ttl) == 1

    def put_many(self, connection_id: str, values: dict[str, Secret | str], ttl: float) -> int:
        """Cache values for ``ttl`` seconds (0 disables caching). Returns how many were stored."""
        if ttl <= 0 or not values:
            return 0
        now = time.time()
        rows, entries = [], {}
        for path, value in values.items():
            secret = value if isinstance(value, Secret) else Secret(value)
            rid = row_id(connection_id, path)
            rows.append((rid, connection_id, path, self.store.encrypt(TABLE, rid, "value", secret.reveal()),
                         now, now + ttl))
            entries[path] = _Entry(secret, now, now + ttl, rid)
        with self.store.transaction() as conn:
            if not _exists(conn, connection_id):
                return 0  # the connection was removed meanwhile
            conn.execute("INSERT OR IGNORE INTO cache_stats (connection_id) VALUES (?)", (connection_id,))
            conn.executemany(
                f"INSERT OR REPLACE INTO {TABLE} (id, connection_id, path, value, created, expires, hits) "
                "VALUES (?,?,?,?,?,?,0)", rows)
        with self._lock:
            self._sync()
            for path, e in entries.items():
                self._remember(connection_id, path, e)
        return len(rows)

    def invalidate(self, connection_id: str | None = None, *, reset_stats: bool = False) -> int:
        """Drop cached values and status for one connection (or all). Returns entries removed."""
        self.flush()
        with self._lock, self.store.transaction() as conn:
            if connection_id is None:
                n = conn.execute(f"DELETE FROM {TABLE}").rowcount
                if reset_stats:
                    conn.execute("DELETE FROM cache_stats")
                else:
                    conn.execute("UPDATE cache_stats SET status_ok=NULL, status_checked=NULL, status_expires=NULL")
                self._mem.clear()
                self._size = 0
            else:
                n = conn.execute(f"DELETE FROM {TABLE} WHERE connection_id = ?", (connection_id,)).rowcount
                if reset_stats:
                    conn.execute("DELETE FROM cache_stats WHERE connection_id = ?", (connection_id,))
                else:
                    conn.execute("UPDATE cache_stats SET status_ok=NULL, status_checked=NULL, status_expires=NULL "
                                 "WHERE connection_id = ?", (connection_id,))
                self._size -= len(self._mem.pop(connection_id, {}))
        return n

    def purge_expired(self) -> int:
        now = time.time()
        with self._lock:
            for bucket in self._mem.values():
                for p in [p for p, e in bucket.items() if e.expires <= now]:
                    del bucket[p]
                    self._size -= 1
        with self.store.transaction() as conn:
            return conn.execute(f"DELETE FROM {TABLE} WHERE expires <= ?", (now,)).rowcount

    # -- connection status ------------------------------------------------------------------------
    def status(self, connection_id: str) -> bool | None:
        """True while a successful check is cached, else None (failures are never cached)."""
        rows = self.store.query("SELECT status_ok, status_expires FROM cache_stats WHERE connection_id = ?",
                                (connection_id,))
        if rows and rows[0]["status_ok"] and (rows[0]["status_expires"] or 0) > time.time():
            return True
        return None

    def set_status(self, connection_id: str, ok: bool, ttl: float) -> None:
        """Cache a successful check for ``ttl`` seconds; a failure drops any cached success."""
        now = time.time()
        with self.store.transaction() as conn:
            if not _exists(conn, connection_id):
                return
            conn.execute("INSERT OR IGNORE INTO cache_stats (connection_id) VALUES (?)", (connection_id,))
            if ok and ttl > 0:
                conn.execute("UPDATE cache_stats SET status_ok=1, status_checked=?, status_expires=? "
                             "WHERE connection_id=?", (now, now + ttl, connection_id))
            else:
                conn.execute("UPDATE cache_stats SET status_ok=NULL, status_checked=NULL, status_expires=NULL "
                             "WHERE connection_id=?", (connection_id,))

    # -- counters -------------------------------------------------------------------------------
    def _count_hit(self, connection_id: str, rid: str) -> None:
        self._hits[connection_id] = self._hits.get(connection_id, 0) + 1
        self._entry_hits[rid] = self._entry_hits.get(rid, 0) + 1
        self._tick()

    def _count_miss(self, connection_id: str) -> None:
        self._misses[connection_id] = self._misses.get(connection_id, 0) + 1
        self._tick()

    def _tick(self) -> None:
        self._pending += 1
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._pending >= FLUSH_EVERY or time.monotonic() - self._last_flush > FLUSH_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Write the pending hit/miss counters in one transaction."""
        with self._lock:
            if not self._pending:
                self._last_flush = time.monotonic()
                return
            hits, misses, entry_hits = self._hits, self._misses, self._entry_hits
            self._hits, self._misses, self._entry_hits, self._pending = {}, {}, {}, 0
            self._last_flush = time.monotonic()
            try:
                with self.store.transaction() as conn:
                    for cid in set(hits) | set(misses):
                        conn.execute("INSERT OR IGNORE INTO cache_stats (connection_id) "
                                     "SELECT id FROM sm_connections WHERE id = ?", (cid,))
                        conn.execute("UPDATE cache_stats SET hits = hits + ?, misses = misses + ? "
                                     "WHERE connection_id = ?", (hits.get(cid, 0), misses.get(cid, 0), cid))
                    conn.executemany(f"UPDATE {TABLE} SET hits = hits + ? WHERE id = ?",
                                     [(n, rid) for rid, n in entry_hits.items()])
                # our own commit does not change our data_version; keep the memory layer
            except (AptuiError, sqlite3.Error):
                return  # counters are statistics: losing a batch must never break a lookup

    # -- statistics -----------------------------------------------------------------------------
    def stats(self, connection_ids: list[str] | None = None) -> dict[str, ConnectionCacheStats]:
        """Per-connection figures, after flushing pending counters."""
        self.flush()
        now = time.time()
        live = {r["connection_id"]: r for r in self.store.query(
            f"SELECT connection_id, SUM(expires > :now) AS entries, SUM(expires <= :now) AS expired, "
            f"MIN(CASE WHEN expires > :now THEN created END) AS oldest, "
            f"MAX(CASE WHEN expires > :now THEN created END) AS newest "
            f"FROM {TABLE} GROUP BY connection_id", {"now": now})}
        counters = {r["connection_id"]: r for r in self.store.query("SELECT * FROM cache_stats")}
        ids = connection_ids if connection_ids is not None else sorted(set(live) | set(counters))
        out: dict[str, ConnectionCacheStats] = {}
        for cid in ids:
            lv: dict[str, Any] = live.get(cid) or {}
            ct: dict[str, Any] = counters.get(cid) or {}
            fresh = bool(ct.get("status_ok")) and (ct.get("status_expires") or 0) > now
            out[cid] = ConnectionCacheStats(
                connection_id=cid,
                entries=int(lv.get("entries") or 0),
                expired=int(lv.get("expired") or 0),
                hits=int(ct.get("hits") or 0),
                misses=int(ct.get("misses") or 0),
                oldest_age=(now - lv["oldest"]) if lv.get("oldest") is not None else None,
                newest_age=(now - lv["newest"]) if lv.get("newest") is not None else None,
                status_ok=True if fresh else None,
                status_age=(now - ct["status_checked"]) if fresh and ct.get("status_checked") else None,
                status_expires_in=(ct["status_expires"] - now) if fresh else None,
            )
        return out


_CACHES: weakref.WeakKeyDictionary[Store, SecretCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(store: Store) -> SecretCache:
    """The process-wide cache of ``store`` (created on first use)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(store)
        if cache is None:
            cache = _CACHES[store] = SecretCache(store)
        return cache


@atexit.register
def _flush_all() -> None:
    for cache in list(_CACHES.values()):
        with contextlib.suppress(Exception):
            cache.flush()
