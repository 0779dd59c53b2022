"""store.cache: encrypted rows, TTLs, memory layer coherence across processes, batched counters."""

from __future__ import annotations

import pytest

from aptui.masking import Secret
from aptui.services.context import Context
from aptui.store import cache as cache_mod
from aptui.store import connections as sc
from aptui.store.cache import SecretCache, cache_for, row_id

CONFIG = {"accessKeyId": "AKIAEXAMPLE123456789", "secretAccessKey": "secret-0000", "region": "us-east-1"}


@pytest.fixture
def conn(ctx):
    return sc.create(ctx.store, provider_id="aws", name="prod", config=CONFIG)


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(cache_mod.time, "time", lambda: now[0])
    return now


def test_put_get_encrypted(ctx, conn):
    cache = cache_for(ctx.store)
    assert cache is cache_for(ctx.store)
    cache.put(conn.id, "db:password", Secret("hunter2-value"), 300)
    assert cache.get(conn.id, "db:password").reveal() == "hunter2-value"
    raw = ctx.store.query("SELECT * FROM cache_entries")[0]
    assert b"hunter2" not in raw["value"] and raw["id"] == row_id(conn.id, "db:password")
    # a fresh process (no memory layer) decrypts the SQLite copy
    fresh = SecretCache(ctx.store)
    assert fresh.get(conn.id, "db:password").reveal() == "hunter2-value"
    assert ctx.store.check().ok


def test_value_is_bound_to_connection_and_path(ctx, conn):
    cache = cache_for(ctx.store)
    cache.put(conn.id, "a:1", "value-one", 300)
    cache.put(conn.id, "a:2", "value-two", 300)
    with ctx.store.transaction() as c:
        blob = c.execute("SELECT value FROM cache_entries WHERE path='a:1'").fetchone()[0]
        c.execute("UPDATE cache_entries SET value=? WHERE path='a:2'", (blob,))
    fresh = SecretCache(ctx.store)
    assert fresh.get(conn.id, "a:2") is None  # moved ciphertext does not decrypt: a miss, never a wrong value
    assert not ctx.store.check().ok


def test_ttl_expiry_and_zero_ttl(ctx, conn, clock):
    cache = cache_for(ctx.store)
    cache.put(conn.id, "a:b", "v", 300)
    clock[0] += 299
    assert cache.get(conn.id, "a:b").reveal() == "v"
    clock[0] += 2
    assert cache.get(conn.id, "a:b") is None
    assert cache.put_many(conn.id, {"x:y": "v"}, 0) == 0
    assert cache.get(conn.id, "x:y") is None
    assert cache.stats([conn.id])[conn.id].expired == 1
    assert cache.purge_expired() == 1


def test_get_many(ctx, conn):
    cache = cache_for(ctx.store)
    cache.put_many(conn.id, {f"s:{i}": f"v{i}" for i in range(700)}, 300)
    fresh = SecretCache(ctx.store)
    got = fresh.get_many(conn.id, [f"s:{i}" for i in range(0, 800, 2)])
    assert len(got) == 350 and got["s:42"].reveal() == "v42"
    s = fresh.stats([conn.id])[conn.id]
    assert (s.hits, s.misses, s.entries) == (350, 50, 700)


def test_counters_are_flushed_in_batches(ctx, conn):
    cache = cache_for(ctx.store)
    cache.put(conn.id, "a:b", "v", 300)
    for _ in range(10):
        cache.get(conn.id, "a:b")
    cache.get(conn.id, "missing:key")
    row = ctx.store.query("SELECT * FROM cache_stats WHERE connection_id=?", (conn.id,))[0]
    assert row["hits"] == 0 and row["misses"] == 0  # not one write per lookup
    s = cache.stats([conn.id])[conn.id]  # stats() flushes first
    assert (s.hits, s.misses, s.entries) == (10, 1, 1)
    assert ctx.store.query("SELECT hits FROM cache_entries")[0]["hits"] == 10
    for _ in range(cache_mod.FLUSH_EVERY):
        cache.get(conn.id, "a:b")
    row = ctx.store.query("SELECT * FROM cache_stats WHERE connection_id=?", (conn.id,))[0]
    assert row["hits"] == 10 + cache_mod.FLUSH_EVERY


def test_another_process_clearing_is_seen(ctx, conn):
    cache = cache_for(ctx.store)
    cache.put(conn.id, "a:b", "v", 300)
    assert cache.get(conn.id, "a:b") is not None
    other = Context(paths=ctx.paths, settings=ctx.settings)  # a second connection, like the CLI next to the TUI
    try:
        assert cache_for(other.store).invalidate(conn.id) == 1
    finally:
        other.close()
    assert cache.get(conn.id, "a:b") is None


def test_another_process_writing_is_seen(ctx, conn):
    cache = cache_for(ctx.store)
    assert cache.get(conn.id, "a:b") is None
    other = Context(paths=ctx.paths, settings=ctx.settings)
    try:
        cache_for(other.store).put(conn.id, "a:b", "from-cli", 300)
    finally:
        other.close()
    assert cache.get(conn.id, "a:b").reveal() == "from-cli"


def test_invalidate_and_stats(ctx, conn, clock):
    cache = cache_for(ctx.store)
    other = sc.create(ctx.store, provider_id="aws", name="other", config=CONFIG)
    cache.put(conn.id, "a:1", "v", 300)
    clock[0] += 10
    cache.put(conn.id, "a:2", "v", 300)
    cache.put(other.id, "b:1", "v", 300)
    cache.get(conn.id, "a:1")
    s = cache.stats()
    assert s[conn.id].entries == 2 and s[conn.id].oldest_age == 10 and s[conn.id].newest_age == 0
    assert cache.invalidate(conn.id) == 2
    s = cache.stats()
    assert s[conn.id].entries == 0 and s[conn.id].hits == 1 and s[other.id].entries == 1
    assert cache.invalidate(conn.id, reset_stats=True) == 0
    assert cache.stats([conn.id])[conn.id].hits == 0
    assert cache.invalidate(None) == 1


def test_status_only_success_is_cached(ctx, conn, clock):
    cache = cache_for(ctx.store)
    cache.set_status(conn.id, False, 30)
    assert cache.status(conn.id) is None
    cache.set_status(conn.id, True, 30)
    assert cache.status(conn.id) is True
    s = cache.stats([conn.id])[conn.id]
    assert s.status_ok and s.status_expires_in == 30
    clock[0] += 31
    assert cache.status(conn.id) is None
    cache.set_status(conn.id, True, 30)
    cache.set_status(conn.id, False, 30)  # a failure drops the cached success
    assert cache.status(conn.id) is None


def test_removed_connection_takes_its_rows(ctx, conn):
    cache = cache_for(ctx.store)
    cache.put(conn.id, "a:b", "v", 300)
    sc.delete(ctx.store, conn.id)
    assert ctx.store.query("SELECT COUNT(*) AS n FROM cache_entries")[0]["n"] == 0
    assert cache.put(conn.id, "a:b", "v", 300) is False  # no FK target: silently not cached
    assert ctx.store.query("SELECT COUNT(*) AS n FROM cache_entries")[0]["n"] == 0
