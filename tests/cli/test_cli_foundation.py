"""The CLI frame: version, help, exit codes, --json errors, init, store check/rekey/info."""

from __future__ import annotations

import sqlite3

from aptui import __version__


def test_version_and_help(run_cli):
    r = run_cli("--version")
    assert r.code == 0 and __version__ in r.out
    r = run_cli("--help")
    assert r.code == 0
    for noun in ("init", "store", "audit"):
        assert noun in r.out
    assert "Exit codes" in r.out


def test_unknown_command_is_usage_error(run_cli):
    r = run_cli("no-such-command")
    assert r.code == 2
    assert "No such command" in r.err


def test_first_command_creates_the_store(run_cli, aptui_home):
    r = run_cli("store", "info", "--json")
    assert r.code == 0, r.err
    data = r.json
    assert data["kek"] == "keyfile" and data["schema"] >= 1
    assert (aptui_home / "aptui.db").stat().st_mode & 0o777 == 0o600
    assert (aptui_home / "aptui.key").stat().st_mode & 0o777 == 0o600


def test_init_refuses_an_existing_store(run_cli):
    assert run_cli("store", "info").code == 0
    r = run_cli("init")
    assert r.code == 2 and "STORE_EXISTS" in r.err


def test_init_with_passphrase_from_env(run_cli, aptui_home):
    r = run_cli("init", "--passphrase", "--json", env={"APTUI_PASSPHRASE": "a long passphrase"})
    assert r.code == 0, r.err
    assert r.json["kek"] == "passphrase"
    assert not (aptui_home / "aptui.key").exists()
    r = run_cli("store", "info")
    assert r.code == 3 and "STORE_PASSPHRASE_REQUIRED" in r.err
    assert r.err.count("\n") == 1
    r = run_cli("store", "info", env={"APTUI_PASSPHRASE": "wrong one"})
    assert r.code == 3 and "wrong passphrase" in r.err
    r = run_cli("store", "check", "--json", env={"APTUI_PASSPHRASE": "a long passphrase"})
    assert r.code == 0 and r.json["ok"] is True


def test_init_passphrase_without_terminal_or_env(run_cli):
    r = run_cli("init", "--passphrase")
    assert r.code == 2 and "STORE_PASSPHRASE_REQUIRED" in r.err


def test_store_check_reports_tampering_with_exit_1(run_cli, aptui_home):
    from aptui.config import Paths
    from aptui.store.db import Store

    store = Store.open(Paths(config_dir=aptui_home, data_dir=aptui_home))
    with store.transaction() as conn:
        blob = bytearray(store.encrypt("profiles", "p1", "api_key", "sk-x"))
        blob[-3] ^= 1
        conn.execute("INSERT INTO profiles (id, name, base_url, api_key, created, updated) VALUES (?,?,?,?,?,?)",
                     ("p1", "prod", "https://x", bytes(blob), "t", "t"))
    store.close()
    r = run_cli("store", "check", "--json")
    assert r.code == 1
    assert r.json["failures"][0]["row"] == "p1"
    r = run_cli("store", "check")
    assert r.code == 1 and "1 failed" in r.out


def test_rekey_via_cli(run_cli, aptui_home):
    assert run_cli("store", "info").code == 0
    old = (aptui_home / "aptui.key").read_bytes()
    r = run_cli("store", "rekey", "--json")
    assert r.code == 0, r.err
    assert (aptui_home / "aptui.key").read_bytes() != old
    r = run_cli("store", "rekey", "--passphrase", "--json", env={"APTUI_PASSPHRASE": "new passphrase!"})
    assert r.code == 0 and r.json["kek"] == "passphrase"
    r = run_cli("audit", "log", "--json", env={"APTUI_PASSPHRASE": "new passphrase!"})
    actions = [e["action"] for e in r.json["entries"]]
    assert actions[:2] == ["store.rekey", "store.rekey"]


def test_damaged_store_exit_3_json(run_cli, aptui_home):
    aptui_home.mkdir()
    (aptui_home / "aptui.db").write_bytes(b"garbage" * 100)
    r = run_cli("store", "info", "--json")
    assert r.code == 3
    assert r.json == {"ok": False, "error": {
        "code": "STORE_DAMAGED",
        "message": f"store {aptui_home / 'aptui.db'} is not an aptui store (not an SQLite database, or truncated)",
        "hint": "restore it from a backup or move it aside; aptui has not changed the file"}}


def test_newer_schema_exit_3(run_cli, aptui_home):
    assert run_cli("store", "info").code == 0
    conn = sqlite3.connect(aptui_home / "aptui.db")
    conn.execute("PRAGMA user_version=42")
    conn.commit()
    conn.close()
    r = run_cli("store", "check")
    assert r.code == 3 and "STORE_TOO_NEW" in r.err and "upgrade aptui" in r.err


def test_bad_config_is_usage_error(run_cli, aptui_home):
    aptui_home.mkdir()
    (aptui_home / "config.toml").write_text("[general]\ntimeout = 'soon'\n")
    r = run_cli("store", "info")
    assert r.code == 2 and "CONFIG_INVALID" in r.err and "general.timeout" in r.err
    (aptui_home / "config.toml").write_text("[general\n")
    r = run_cli("store", "info")
    assert r.code == 2 and "CONFIG_INVALID" in r.err


def test_audit_log_filter(run_cli):
    run_cli("store", "check")
    run_cli("store", "rekey")
    r = run_cli("audit", "log", "--filter", "rekey", "--json")
    assert [e["action"] for e in r.json["entries"]] == ["store.rekey"]


def test_read_only_refuses_rekey(run_cli):
    r = run_cli("--read-only", "store", "rekey")
    assert r.code == 2 and "READ_ONLY" in r.err


def test_tables_off_a_terminal_keep_long_values_whole(run_cli):
    """QA: `aptui profile list | grep` saw URLs cut at 80 columns."""
    url = "https://activepieces.a-very-long-subdomain-for-this-test.internal.example.com/with/a/path"
    assert run_cli("profile", "add", "a-rather-long-profile-name", "--url", url, "--no-key").code == 0
    r = run_cli("profile", "list", env={"COLUMNS": "80"})
    assert r.code == 0 and url in r.out and "a-rather-long-profile-name" in r.out
    assert all("…" not in line for line in r.out.splitlines())
