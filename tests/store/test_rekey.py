"""Passphrase stores and re-keying: the KEK changes, the data key and every row stay."""

from __future__ import annotations

import hashlib
import os

import pytest

from aptui.config import Paths
from aptui.errors import AptuiError
from aptui.store import crypto
from aptui.store.db import Store


def paths(home) -> Paths:
    return Paths(config_dir=home, data_dir=home)


def seed(store: Store) -> dict[str, bytes]:
    blobs = {}
    with store.transaction() as conn:
        for i in range(5):
            rid = f"p{i}"
            blob = store.encrypt("profiles", rid, "api_key", f"sk-{i}")
            blobs[rid] = blob
            conn.execute("INSERT INTO profiles (id, name, base_url, api_key, created, updated) "
                         "VALUES (?,?,?,?,?,?)", (rid, rid, "https://x", blob, "t", "t"))
    return blobs


def read_all(store: Store) -> dict[str, str]:
    return {r["id"]: store.decrypt("profiles", r["id"], "api_key", r["api_key"])
            for r in store.query("SELECT id, api_key FROM profiles")}


def test_rekey_to_new_key_file_keeps_rows_untouched(tmp_path):
    store = Store.open(paths(tmp_path))
    blobs = seed(store)
    old_key = paths(tmp_path).key_file.read_bytes()
    store.rekey()
    rows = {r["id"]: r["api_key"] for r in store.query("SELECT id, api_key FROM profiles")}
    assert rows == blobs  # not re-encrypted
    store.close()
    assert paths(tmp_path).key_file.read_bytes() != old_key
    assert paths(tmp_path).key_file.stat().st_mode & 0o777 == 0o600
    store = Store.open(paths(tmp_path))
    assert read_all(store) == {f"p{i}": f"sk-{i}" for i in range(5)}
    assert store.check().ok
    store.close()


def test_old_key_file_no_longer_opens_after_rekey(tmp_path):
    p = paths(tmp_path)
    store = Store.open(p)
    seed(store)
    old = p.key_file.read_bytes()
    store.rekey()
    store.close()
    p.key_file.write_bytes(old)
    with pytest.raises(AptuiError) as info:
        Store.open(p)
    assert info.value.code == "STORE_KEY_MISMATCH"


def test_rekey_to_passphrase_and_back(tmp_path, monkeypatch):
    p = paths(tmp_path)
    store = Store.open(p)
    seed(store)
    store.rekey(passphrase="correct horse battery")
    store.close()
    assert not p.key_file.exists()
    monkeypatch.setenv("APTUI_PASSPHRASE", "correct horse battery")
    store = Store.open(p)
    assert store.kek_kind == "passphrase"
    assert read_all(store)["p3"] == "sk-3"
    store.rekey()  # back to a generated key file
    store.close()
    monkeypatch.delenv("APTUI_PASSPHRASE")
    store = Store.open(p)
    assert store.kek_kind == "keyfile"
    assert read_all(store)["p4"] == "sk-4"
    store.close()


def test_wrong_passphrase_and_missing_passphrase(tmp_path, monkeypatch):
    p = paths(tmp_path)
    Store.create(p, passphrase="right passphrase").close()
    before = hashlib.sha256(p.store_file.read_bytes()).hexdigest()
    monkeypatch.setenv("APTUI_PASSPHRASE", "wrong passphrase")
    with pytest.raises(AptuiError) as info:
        Store.open(p)
    assert info.value.code == "STORE_KEY_MISMATCH" and info.value.exit_code == 3
    monkeypatch.delenv("APTUI_PASSPHRASE")
    with pytest.raises(AptuiError) as info:
        Store.open(p)
    assert info.value.code == "STORE_PASSPHRASE_REQUIRED"
    assert hashlib.sha256(p.store_file.read_bytes()).hexdigest() == before
    assert Store.open(p, passphrase=lambda: "right passphrase").kek_kind == "passphrase"


def test_passphrase_header_records_kdf_parameters(tmp_path):
    p = paths(tmp_path)
    store = Store.create(p, passphrase="a passphrase")
    row = store.query("SELECT kek_kind, kdf FROM keyring")[0]
    import json

    kdf = json.loads(row["kdf"])
    assert row["kek_kind"] == "passphrase"
    assert kdf["name"] == "argon2id" and kdf["memory_kib"] >= 19456 and "salt" in kdf
    store.close()


def test_interrupted_rekey_is_completed_on_next_open(tmp_path):
    """A crash after committing the new wrap but before renaming the key file loses nothing."""
    p = paths(tmp_path)
    store = Store.open(p)
    seed(store)
    pending = p.key_file.with_name(p.key_file.name + ".new")
    new_kek = crypto.write_key_file(pending)
    with store.transaction() as conn:
        conn.execute("UPDATE keyring SET wrapped_key=?, kek_fingerprint=? WHERE id=1",
                     (crypto.wrap_data_key(new_kek, store.cipher.data_key), new_kek.fingerprint))
    store.close()
    store = Store.open(p)  # old key file fails, the pending one opens it and is moved into place
    assert read_all(store)["p0"] == "sk-0"
    assert not pending.exists()
    assert crypto.read_key_file(p.key_file).key == new_kek.key
    store.close()


def test_rekey_failure_leaves_old_key_working(tmp_path, monkeypatch):
    p = paths(tmp_path)
    store = Store.open(p)
    seed(store)
    old = p.key_file.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.rekey()
    store.close()
    monkeypatch.undo()
    assert p.key_file.read_bytes() == old
    store = Store.open(p)  # the committed wrap is opened by the pending key file
    assert read_all(store)["p1"] == "sk-1"
    store.close()
