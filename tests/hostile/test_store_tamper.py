"""Someone who can write the store file but knows no key: what they change is caught before a
credential is used, by `aptui store check`, and (for the audit log) by `aptui audit log --verify`."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import time

import pytest

from aptui.config import Paths
from aptui.errors import AptuiError
from aptui.masking import Secret
from aptui.store import audit, profiles
from aptui.store import crypto as store_crypto
from aptui.store.crypto import FieldCipher, FieldDecryptError
from aptui.store.db import Store
from aptui.store.schema import MIGRATIONS
from tests.doubles._http import closed_port_url
from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.store.legacy import write_v2_store

FAST = {"APTUI_RETRIES": "0", "APTUI_TIMEOUT": "5"}


def edit(db, sql: str, params: tuple = ()) -> None:
    """A write with plain sqlite3, as an attacker would make it (no aptui, no key)."""
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


def paths(home) -> Paths:
    return Paths(config_dir=home, data_dir=home)


@pytest.fixture
def decoy(run_cli, activepieces, aptui_home):
    """A profile whose key was stored for an unreachable server; the attacker points it at the double."""
    r = run_cli("profile", "add", "prod", "--url", closed_port_url(), "--project", DEFAULT_PROJECT,
                input=activepieces.api_key + "\n")
    assert r.code == 0, r.err
    return aptui_home / "aptui.db"


@pytest.mark.parametrize("column,value", [
    ("base_url", None),            # the double's URL: the key would go to "the attacker"
    ("verify_tls", 0),
    ("ca_bundle", "/tmp/attacker-ca.pem"),
    ("name", "renamed"),
])
def test_routing_columns_edited_outside_aptui_are_refused(run_cli, activepieces, decoy, column, value):
    edit(decoy, f"UPDATE profiles SET {column} = ?", (activepieces.url if value is None else value,))
    target = "renamed" if column == "name" else "prod"
    r = run_cli("platform", "projects", "list", "--profile", target, env=FAST)
    assert r.code == 3, (r.code, r.out, r.err)
    assert "STORE_TAMPERED" in r.err and r.err.count("\n") == 1
    assert activepieces.requests == []  # the key went nowhere
    check = run_cli("store", "check", "--json")
    assert check.code == 1 and not check.json["ok"]
    assert [f["column"] for f in check.json["failures"]] == ["(seal)"]


def test_an_older_ciphertext_written_back_is_caught(run_cli, activepieces, decoy):
    old = sqlite3.connect(str(decoy)).execute("SELECT api_key FROM profiles").fetchone()[0]
    assert run_cli("profile", "set-key", "prod", input="sk-new-key-0000000000000000\n").code == 0
    edit(decoy, "UPDATE profiles SET api_key = ?", (old,))
    r = run_cli("profile", "test", "prod", env=FAST)
    assert r.code == 3 and "STORE_TAMPERED" in r.err
    assert run_cli("store", "check").code == 1


def test_a_whole_row_rolled_back_is_caught(run_cli, decoy):
    conn = sqlite3.connect(str(decoy))
    cols = [r[1] for r in conn.execute("PRAGMA table_info(profiles)")]
    old = conn.execute("SELECT * FROM profiles").fetchone()
    conn.close()
    assert run_cli("profile", "set-key", "prod", input="sk-new-key-0000000000000000\n").code == 0
    sets = ", ".join(f"{c} = ?" for c in cols)
    edit(decoy, f"UPDATE profiles SET {sets}", tuple(old))  # every column, its valid old seal included
    r = run_cli("profile", "test", "prod", env=FAST)
    assert r.code == 3 and "STORE_TAMPERED" in r.err and "rolled back" in r.err
    check = run_cli("store", "check", "--json")
    assert check.code == 1 and check.json["state"] and check.json["failures"] == []


def test_a_deleted_row_is_caught(run_cli, decoy):
    assert run_cli("profile", "add", "second", "--url", "https://ap.example.com", "--no-key").code == 0
    edit(decoy, "DELETE FROM profiles WHERE name = 'second'")
    check = run_cli("store", "check", "--json")
    assert check.code == 1 and check.json["state"]


def test_aptui_never_reseals_a_row_someone_else_changed(run_cli, activepieces, decoy):
    edit(decoy, "UPDATE profiles SET base_url = ?", (activepieces.url,))
    r = run_cli("profile", "update", "prod", "--project", "prjOther0000000000000")
    assert r.code == 3 and "STORE_TAMPERED" in r.err
    assert run_cli("store", "check").code == 1  # still reported


def test_reseal_accepts_reviewed_contents_and_is_audited(run_cli, activepieces, decoy):
    edit(decoy, "UPDATE profiles SET base_url = ?", (activepieces.url,))
    assert run_cli("store", "reseal").code == 2  # asks for --yes without a terminal
    r = run_cli("store", "reseal", "--yes", "--json")
    assert r.code == 0 and r.json["before"]["rows"]
    assert run_cli("store", "check").code == 0
    assert "store.reseal" in run_cli("audit", "log").out
    assert run_cli("platform", "projects", "list", "--profile", "prod", env=FAST).code == 0


def test_views_of_a_tampered_row_say_so_and_exit_3(run_cli, activepieces, decoy):
    """profile show/list and sm show/list mark a row changed outside aptui (and only that row), and a
    reference through a tampered connection fails with the store's code, not a provider's."""
    assert run_cli("profile", "add", "second", "--url", "https://ap.example.com", "--no-key").code == 0
    r = run_cli("sm", "add", "--provider", "cyberark-conjur", "--name", "conj", "--set", "url=https://conjur.local",
                "--set", "organizationAccountName=acme", "--set", "loginId=host/ci", "--set-env", "apiKey=CONJ_KEY",
                "--no-test", "--json", env={"CONJ_KEY": "conjur-api-key-0001"})
    assert r.code == 0, r.err
    cid = r.json["connection"]["id"]
    assert run_cli("profile", "show", "prod").code == 0 and run_cli("sm", "show", "conj").code == 0
    edit(decoy, "UPDATE profiles SET base_url = ? WHERE name = 'prod'", (activepieces.url,))
    edit(decoy, "UPDATE sm_connections SET scope = 'PLATFORM', name = 'conj2'")
    shown = run_cli("profile", "show", "prod", "--json")
    assert shown.code == 3 and shown.json["ok"] is False and shown.json["profile"]["integrity"] == "tampered"
    assert "STORE_TAMPERED: profile prod" in shown.err and "store check" in shown.err
    listed = run_cli("profile", "list")
    assert listed.code == 3 and "prod [TAMPERED]" in listed.out and "second [TAMPERED]" not in listed.out
    assert listed.err.count("STORE_TAMPERED") == 1
    assert run_cli("profile", "show", "second", "--json").json["profile"]["integrity"] == "ok"
    sm = run_cli("sm", "show", "conj2")
    assert sm.code == 3 and "TAMPERED" in sm.out and "STORE_TAMPERED: connection conj2" in sm.err
    assert run_cli("sm", "list", "--json").json["data"][0]["integrity"] == "tampered"
    ref = run_cli("ref", "test", "{{" + cid + "|ap_sep_v1|prod/db-password}}", "--json", env=FAST)
    assert ref.code == 3, (ref.code, ref.out, ref.err)
    assert ref.json["error"]["code"] == "STORE_TAMPERED"
    check = run_cli("store", "check")
    assert check.code == 1 and check.out.splitlines()[0].startswith("store check: FAILED (")


# -- the audit log -------------------------------------------------------------------------------

def _store_with_log(home, n=6) -> None:
    with Store.open(paths(home)) as store:
        for i in range(n):
            audit.append(store, "ref.test", f"target-{i}", "ok")


def _drop_triggers(db) -> None:
    edit(db, "DROP TRIGGER audit_log_no_update")
    edit(db, "DROP TRIGGER audit_log_no_delete")


@pytest.mark.parametrize("attack,problem", [
    ("DELETE FROM audit_log WHERE target = 'target-2'", "gap"),
    ("UPDATE audit_log SET outcome = 'failed' WHERE target = 'target-3'", "edited"),
    ("UPDATE audit_log SET detail = 'nothing to see' WHERE target = 'target-0'", "edited"),
    ("DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 2 FROM audit_log)", "truncated"),
    ("INSERT INTO audit_log (at, actor, action, target, outcome) VALUES ('t', 'x', 'reveal', 'y', 'ok')", "head"),
])
def test_audit_log_edits_are_reported(run_cli, aptui_home, attack, problem):
    _store_with_log(aptui_home)
    db = aptui_home / "aptui.db"
    assert run_cli("audit", "log", "--verify").code == 0
    _drop_triggers(db)
    edit(db, attack)
    r = run_cli("audit", "log", "--verify", "--json")
    assert r.code == 1 and not r.json["ok"]
    assert problem in [p["problem"] for p in r.json["problems"]], r.json
    text = run_cli("audit", "log", "--verify")
    assert text.code == 1 and problem in text.out
    check = run_cli("store", "check", "--json")
    assert check.code == 1 and problem in [p["problem"] for p in check.json["audit"]["problems"]]


def test_audit_entries_carry_their_chain(aptui_home):
    _store_with_log(aptui_home, 3)
    with Store.open(paths(aptui_home)) as store:
        macs = [r["mac"] for r in store.query("SELECT mac FROM audit_log ORDER BY seq")]
        assert len(macs) == 3 and all(isinstance(m, bytes) and len(m) == 32 for m in macs)
        assert store.verify_audit().ok


# -- rotating the data key --------------------------------------------------------------------

def test_rotate_data_key_makes_old_key_file_and_old_copy_useless(run_cli, aptui_home, activepieces):
    r = run_cli("profile", "add", "prod", "--url", activepieces.url, "--project", DEFAULT_PROJECT,
                input=activepieces.api_key + "\n")
    assert r.code == 0
    db, key = aptui_home / "aptui.db", aptui_home / "aptui.key"
    old_key = store_crypto.read_key_file(key)
    old_wrapped = sqlite3.connect(str(db)).execute("SELECT wrapped_key FROM keyring").fetchone()[0]
    old_data_key = store_crypto.unwrap_data_key(old_key, old_wrapped)
    r = run_cli("store", "rekey", "--rotate-data-key", "--json")
    assert r.code == 0 and r.json["data_key_rotated"] is True
    assert run_cli("store", "check").code == 0
    assert run_cli("platform", "projects", "list", env=FAST).code == 0
    conn = sqlite3.connect(str(db))
    blob = conn.execute("SELECT api_key, id FROM profiles").fetchone()
    wrapped = conn.execute("SELECT wrapped_key FROM keyring").fetchone()[0]
    conn.close()
    assert store_crypto.unwrap_data_key(old_key, wrapped) is None  # the old key file opens nothing
    with pytest.raises(FieldDecryptError):  # nor does the old data key, from any old copy
        FieldCipher(old_data_key).decrypt("profiles", blob[1], "api_key", blob[0])
    # no page of the file still holds a ciphertext the old data key opens
    assert activepieces.api_key.encode() not in db.read_bytes()
    assert "data key rotated" in run_cli("audit", "log").out
    assert run_cli("audit", "log", "--verify").code == 0


def test_rotate_data_key_refuses_a_tampered_store(run_cli, activepieces, decoy):
    edit(decoy, "UPDATE profiles SET base_url = ?", (activepieces.url,))
    r = run_cli("store", "rekey", "--rotate-data-key")
    assert r.code == 3 and "STORE_TAMPERED" in r.err
    assert run_cli("store", "check").code == 1


def test_rotate_data_key_covers_every_encrypted_field(aptui_home):
    from aptui.store import connections

    with Store.open(paths(aptui_home)) as store:
        profiles.create(store, "p", "https://ap.example.com", api_key=Secret("sk-value-1"))
        conn = connections.create(store, provider_id="aws", name="c", config={
            "region": "us-east-1", "accessKeyId": "AKIAX", "secretAccessKey": "s3cr3t"})
        before = {r["id"]: r["auth"] for r in store.query("SELECT id, auth FROM sm_connections")}
        store.rekey(rotate_data_key=True)
        after = {r["id"]: r["auth"] for r in store.query("SELECT id, auth FROM sm_connections")}
        assert before.keys() == after.keys() and all(before[k] != after[k] for k in before)
        assert connections.auth(store, conn.id)["secretAccessKey"] == "s3cr3t"
        assert store.check().ok
    with Store.open(paths(aptui_home)) as store:
        assert profiles.api_key(store, profiles.require(store, "p")).reveal() == "sk-value-1"


# -- existing stores ----------------------------------------------------------------------------

def _v2_store(home) -> None:
    """A store as aptui wrote it before row seals (schema v2), with a profile and log entries."""
    write_v2_store(home, {"p1": ("old", "sk-old-store")})


def test_existing_store_opens_and_is_upgraded(aptui_home):
    _v2_store(aptui_home)
    with Store.open(paths(aptui_home)) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1][0]
        assert profiles.api_key(store, profiles.require(store, "old")).reveal() == "sk-old-store"
        report = store.check()
        assert report.ok and report.seals.sealed_rows == 1 and report.seals.audit_entries == 3
        audit.append(store, "after", "upgrade", "ok")
        assert store.verify_audit().ok
    edit(aptui_home / "aptui.db", "UPDATE profiles SET base_url = 'https://evil.example'")
    with Store.open(paths(aptui_home)) as store, pytest.raises(AptuiError) as info:
        profiles.api_key(store, profiles.require(store, "old"))
    assert info.value.code == "STORE_TAMPERED"


# -- the header ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"memory_kib": 2 ** 31}, {"iterations": 10 ** 9}, {"lanes": 0}, {"memory_kib": "65536"},
    {"salt": base64.b64encode(b"x").decode()}, {"name": "scrypt", "n": 2 ** 30, "r": 8, "p": 1},
])
def test_kdf_parameters_from_the_header_are_bounded(tmp_path, monkeypatch, change):
    home = tmp_path / "h"
    Store.create(paths(home), passphrase="correct horse battery").close()
    db = home / "aptui.db"
    kdf = json.loads(sqlite3.connect(str(db)).execute("SELECT kdf FROM keyring").fetchone()[0])
    kdf.update(change)
    edit(db, "UPDATE keyring SET kdf = ?", (json.dumps(kdf),))
    monkeypatch.setenv("APTUI_PASSPHRASE", "correct horse battery")
    t0 = time.perf_counter()
    with pytest.raises(AptuiError) as info:
        Store.open(paths(home))
    assert time.perf_counter() - t0 < 2
    assert info.value.code == "STORE_KDF_INVALID" and info.value.exit_code == 3


def test_copy_of_a_store_keeps_working(tmp_path):
    """A backup restored whole (file and key) is a consistent store: not reported as tampered."""
    home, other = tmp_path / "h", tmp_path / "o"
    with Store.open(paths(home)) as store:
        profiles.create(store, "p", "https://ap.example.com", api_key=Secret("sk-1"))
    shutil.copytree(home, other)
    with Store.open(paths(other)) as store:
        assert store.check().ok


def test_removing_a_tampered_row_clears_the_finding(run_cli, activepieces, decoy):
    edit(decoy, "UPDATE profiles SET base_url = ?", (activepieces.url,))
    assert run_cli("store", "check").code == 1
    assert run_cli("profile", "remove", "prod", "--yes").code == 0
    assert run_cli("store", "check").code == 0


@pytest.mark.parametrize("sql", [
    "UPDATE sm_connections SET scope = 'PLATFORM', project_ids = '[]'",
    "UPDATE sm_connections SET public_config = json_set(public_config, '$.url', 'http://127.0.0.1:9')",
    "UPDATE sm_connections SET provider_id = 'aws'",
])
def test_connection_columns_outside_the_encrypted_blob_are_bound(run_cli, aptui_home, vault_double, sql):
    role_id, secret_id = vault_double.add_approle("app")
    r = run_cli("sm", "add", "--provider", "hashicorp", "--name", "vault", "--set", f"url={vault_double.url}",
                "--set-env", "roleId=RID", "--set-env", "secretId=SID", "--scope", "PROJECT", "--project", "prjA",
                env={"SID": secret_id, "RID": role_id, **FAST})
    assert r.code == 0, r.err
    logins = vault_double.count("/v1/auth/approle/login")
    edit(aptui_home / "aptui.db", sql)
    t = run_cli("sm", "test", "vault", env=FAST)
    assert t.code == 3 and "STORE_TAMPERED" in t.err, (t.code, t.err)
    assert vault_double.count("/v1/auth/approle/login") == logins  # the secret ID went nowhere
    assert run_cli("store", "check").code == 1
