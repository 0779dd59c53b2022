"""Opening the store: first run, permissions, and every bad-input case (one line, exit 3, file untouched)."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

from aptui.config import Paths
from aptui.errors import AptuiError
from aptui.store.db import Store
from tests.store.legacy import write_v2_store


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def paths(home) -> Paths:
    return Paths(config_dir=home, data_dir=home)


def fresh_store(home) -> Store:
    return Store.open(paths(home))


def insert_profile(store: Store, row_id: str, api_key: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO profiles (id, name, base_url, api_key, created, updated) VALUES (?,?,?,?,?,?)",
            (row_id, row_id, "https://ap.example.com", store.encrypt("profiles", row_id, "api_key", api_key), "t", "t"),
        )


def test_first_run_creates_store_and_key_with_private_modes(tmp_path):
    home = tmp_path / "home"
    store = fresh_store(home)
    p = paths(home)
    assert p.store_file.stat().st_mode & 0o777 == 0o600
    assert p.key_file.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    insert_profile(store, "p1", "sk-one")
    for suffix in ("-wal", "-shm"):
        side = p.store_file.with_name(p.store_file.name + suffix)
        if side.exists():
            assert side.stat().st_mode & 0o077 == 0, suffix
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_reopen_reads_what_was_written(tmp_path):
    store = fresh_store(tmp_path)
    insert_profile(store, "p1", "sk-one")
    store.close()
    store = fresh_store(tmp_path)
    blob = store.query("SELECT api_key FROM profiles WHERE id='p1'")[0]["api_key"]
    assert store.decrypt("profiles", "p1", "api_key", blob) == "sk-one"
    store.close()


def test_secret_never_in_file_bytes(tmp_path):
    store = fresh_store(tmp_path)
    insert_profile(store, "p1", "canary-8f2e1d-value")
    store.close()
    for f in tmp_path.iterdir():
        assert b"canary-8f2e1d-value" not in f.read_bytes(), f


def _expect(exc: pytest.ExceptionInfo, code: str) -> None:
    err = exc.value
    assert isinstance(err, AptuiError)
    assert err.code == code
    assert err.exit_code == 3
    assert "\n" not in str(err)


def test_missing_key_file(tmp_path):
    fresh_store(tmp_path).close()
    before = digest(paths(tmp_path).store_file)
    paths(tmp_path).key_file.unlink()
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_KEY_MISSING")
    assert "restore" in str(info.value)
    assert not paths(tmp_path).key_file.exists()  # never silently replaced
    assert digest(paths(tmp_path).store_file) == before


def test_wrong_key_file(tmp_path):
    fresh_store(tmp_path).close()
    p = paths(tmp_path)
    before = digest(p.store_file)
    p.key_file.unlink()
    from aptui.store import crypto

    crypto.write_key_file(p.key_file)
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_KEY_MISMATCH")
    assert digest(p.store_file) == before


def test_damaged_key_file(tmp_path):
    fresh_store(tmp_path).close()
    paths(tmp_path).key_file.write_text("not a key\n")
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_KEY_INVALID")


def test_non_sqlite_file_is_refused_and_kept(tmp_path):
    p = paths(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    p.store_file.write_bytes(b"this is a text file, not a database\n" * 10)
    before = digest(p.store_file)
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_DAMAGED")
    assert digest(p.store_file) == before
    assert not p.key_file.exists()


def test_empty_file_is_refused(tmp_path):
    p = paths(tmp_path)
    p.store_file.write_bytes(b"")
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_DAMAGED")
    assert p.store_file.read_bytes() == b""


@pytest.mark.parametrize("log", [None, "foreign"])
def test_truncated_file_is_refused_and_kept(tmp_path, log):
    """A foreign (or short) write-ahead log beside it does not excuse a truncated store either."""
    store = fresh_store(tmp_path)
    for i in range(200):
        insert_profile(store, f"p{i}", "x" * 200)
    store.close()
    p = paths(tmp_path)
    data = p.store_file.read_bytes()
    p.store_file.write_bytes(data[: len(data) // 2])
    wal = p.store_file.with_name(p.store_file.name + "-wal")
    if log:
        wal.write_bytes(os.urandom(32 + 24 + 4096) * 3)
    before = digest(p.store_file), (digest(wal) if log else None)
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_DAMAGED")
    assert "truncated" in str(info.value)
    assert (digest(p.store_file), (digest(wal) if log else None)) == before


CRASHING_WRITER = """
import os, signal, sys
from aptui.config import Paths
from aptui.store.db import Store
from pathlib import Path
home = Path(sys.argv[1])
store = Store.open(Paths(config_dir=home, data_dir=home))
store.conn.execute("PRAGMA wal_autocheckpoint = 0")  # every new page stays in the log
for i in range(300):
    rid = f"w{i:05d}"
    with store.transaction() as conn:
        conn.execute("INSERT INTO profiles (id, name, base_url, api_key, created, updated) VALUES (?,?,?,?,?,?)",
                     (rid, rid, "https://x", store.encrypt("profiles", rid, "api_key", "v" * 300), "t", "t"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_checkpoint_cut_short_by_a_crash_is_recovered_not_refused(tmp_path):
    """A crash in the middle of a checkpoint leaves page 1 (the new, larger size) written before
    the pages that extend the file; the write-ahead log beside it still holds them all."""
    import struct
    import subprocess
    import sys

    fresh_store(tmp_path).close()
    p = paths(tmp_path)
    proc = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(tmp_path)], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    wal = p.store_file.with_name(p.store_file.name + "-wal")
    assert wal.stat().st_size > 0
    # The size after the last commit, as SQLite itself sees it (on a copy: reading checkpoints).
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    for f in (p.store_file, wal):
        (copy_dir / f.name).write_bytes(f.read_bytes())
    probe = sqlite3.connect(copy_dir / p.store_file.name)
    final_pages = probe.execute("PRAGMA page_count").fetchone()[0]
    probe.close()
    page_size = struct.unpack(">H", p.store_file.read_bytes()[16:18])[0]
    assert p.store_file.stat().st_size < final_pages * page_size  # the log holds the growth
    original = p.store_file.read_bytes()

    def with_header_pages(n: int) -> None:  # what a half-done checkpoint leaves: page 1 ahead of the file
        p.store_file.write_bytes(original[:28] + struct.pack(">I", n) + original[32:])

    with_header_pages(final_pages + 64)  # more than any commit in the log: really truncated
    damaged = digest(p.store_file)
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_DAMAGED")
    assert "truncated" in str(info.value) and digest(p.store_file) == damaged
    with_header_pages(final_pages)
    store = fresh_store(tmp_path)
    try:
        assert store.query("SELECT COUNT(*) AS n FROM profiles")[0]["n"] == 300
        assert store.check().ok
    finally:
        store.close()


def test_truncated_file_beside_a_log_is_damaged_not_a_traceback(tmp_path):
    import subprocess
    import sys

    store = fresh_store(tmp_path)
    for i in range(200):
        insert_profile(store, f"p{i}", "x" * 200)
    store.close()
    proc = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(tmp_path)], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    p = paths(tmp_path)
    assert p.store_file.with_name(p.store_file.name + "-wal").stat().st_size > 0
    data = p.store_file.read_bytes()
    p.store_file.write_bytes(data[: len(data) // 3])
    try:
        store = fresh_store(tmp_path)
        rows = store.query("SELECT id FROM profiles")
        store.close()
    except AptuiError as err:
        assert err.code == "STORE_DAMAGED" and "\n" not in err.one_line()
    else:
        raise AssertionError(f"a store missing two thirds of its pages read {len(rows)} rows")


def test_foreign_sqlite_file_is_refused(tmp_path):
    p = paths(tmp_path)
    conn = sqlite3.connect(p.store_file)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_DAMAGED")
    assert "not an aptui store" in str(info.value)


def test_newer_schema_is_refused_and_kept(tmp_path):
    fresh_store(tmp_path).close()
    p = paths(tmp_path)
    conn = sqlite3.connect(p.store_file)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = digest(p.store_file)
    with pytest.raises(AptuiError) as info:
        fresh_store(tmp_path)
    _expect(info, "STORE_TOO_NEW")
    assert "upgrade aptui" in str(info.value)
    assert digest(p.store_file) == before


def test_older_schema_is_migrated_forward(tmp_path, monkeypatch):
    fresh_store(tmp_path).close()
    from aptui.store import db, schema

    extra = (schema.SCHEMA_VERSION + 1, "CREATE TABLE migration_probe (id INTEGER PRIMARY KEY);")
    monkeypatch.setattr(db, "MIGRATIONS", [*schema.MIGRATIONS, extra])
    monkeypatch.setattr(db, "SCHEMA_VERSION", extra[0])
    store = fresh_store(tmp_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == extra[0]
    assert "migration_probe" in store.db.table_names()
    store.close()


def test_tampered_row_is_reported_by_check(tmp_path):
    store = fresh_store(tmp_path)
    insert_profile(store, "good", "sk-good")
    insert_profile(store, "bad", "sk-bad")
    blob = bytearray(store.query("SELECT api_key FROM profiles WHERE id='bad'")[0]["api_key"])
    blob[20] ^= 0xFF
    store.conn.execute("UPDATE profiles SET api_key=? WHERE id='bad'", (bytes(blob),))
    report = store.check()
    assert not report.ok
    assert report.checked == 2
    assert report.failures == [{"table": "profiles", "row": "bad", "column": "api_key",
                                "reason": "authentication failed (tampered, moved or wrong key)"}]
    with pytest.raises(AptuiError) as info:
        store.decrypt("profiles", "bad", "api_key", bytes(blob))
    assert info.value.code == "STORE_FIELD_TAMPERED"
    store.close()


def test_swapped_ciphertext_is_rejected(tmp_path):
    store = fresh_store(tmp_path)
    insert_profile(store, "a", "sk-a")
    insert_profile(store, "b", "sk-b")
    blob_a = store.query("SELECT api_key FROM profiles WHERE id='a'")[0]["api_key"]
    store.conn.execute("UPDATE profiles SET api_key=? WHERE id='b'", (blob_a,))
    report = store.check()
    assert [f["row"] for f in report.failures] == ["b"]
    store.close()


def test_audit_log_is_append_only(tmp_path):
    from aptui.store import audit

    store = fresh_store(tmp_path)
    audit.append(store, "test.action", "target", "ok")
    with pytest.raises(AptuiError, match="append-only"), store.transaction() as conn:
        conn.execute("DELETE FROM audit_log")
    with pytest.raises(AptuiError, match="append-only"), store.transaction() as conn:
        conn.execute("UPDATE audit_log SET outcome='changed'")
    rows = audit.recent(store)
    assert [(r["action"], r["outcome"]) for r in rows] == [("test.action", "ok")]
    assert "@" in rows[0]["actor"]
    store.close()


def test_failed_transaction_rolls_back(tmp_path):
    store = fresh_store(tmp_path)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO rotation_records VALUES ('r1','i','k','set','t','recorded',NULL)")
        raise RuntimeError("boom")
    assert store.db["rotation_records"].count == 0
    store.close()


def test_locked_store_is_a_clear_error(tmp_path):
    store = fresh_store(tmp_path)
    other = sqlite3.connect(paths(tmp_path).store_file, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    import aptui.store.db as db

    store.conn.execute("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(AptuiError) as info, store.transaction() as conn:
            conn.execute("INSERT INTO rotation_records VALUES ('r1','i','k','set','t','recorded',NULL)")
        assert info.value.code == "STORE_LOCKED"
        assert info.value.exit_code == 3
    finally:
        other.rollback()
        other.close()
        store.conn.execute(f"PRAGMA busy_timeout = {db.BUSY_TIMEOUT_MS}")
    store.close()


def test_store_files_are_private_even_with_permissive_umask(tmp_path):
    old = os.umask(0o022)
    try:
        fresh_store(tmp_path / "h").close()
    finally:
        os.umask(old)
    p = paths(tmp_path / "h")
    assert p.store_file.stat().st_mode & 0o777 == 0o600
    assert p.key_file.stat().st_mode & 0o777 == 0o600


def test_a_v2_store_gains_the_session_columns_and_keeps_its_profiles(tmp_path, monkeypatch):
    """The session migration: a store made before sessions existed opens, keeps its keys, stores a session
    encrypted and bound to its row (a token moved to another row does not decrypt)."""
    from aptui.masking import Secret
    from aptui.store import profiles, schema

    write_v2_store(tmp_path, {"p1": ("p1", "sk-old-key"), "p2": ("p2", "sk-other-key")})
    store = fresh_store(tmp_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    p1 = profiles.require(store, "p1")
    assert profiles.api_key(store, p1).reveal() == "sk-old-key" and not p1.has_session
    profiles.set_session(store, "p1", Secret("eyJ.session.token"), expires="2026-12-10T00:00:00Z", user="a@b.c")
    raw = store.query("SELECT session_token FROM profiles WHERE id='p1'")[0]["session_token"]
    assert b"eyJ.session.token" not in raw
    assert profiles.session_token(store, profiles.require(store, "p1")).reveal() == "eyJ.session.token"
    store.conn.execute("UPDATE profiles SET session_token=? WHERE id='p2'", (raw,))
    report = store.check()
    assert [f["row"] for f in report.failures] == ["p2"] and report.failures[0]["column"] == "session_token"
    store.close()
