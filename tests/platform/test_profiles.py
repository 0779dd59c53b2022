"""Profiles: encrypted key, rotation records, choice order, key fallback, URL rules, test."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services import profiles as svc
from aptui.store import profiles as store_profiles
from tests.doubles.activepieces import DEFAULT_PROJECT

KEY = "sk-profile-secret-0123456789"


def test_key_is_encrypted_and_bound_to_its_row(ctx):
    p = store_profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret(KEY))
    raw = ctx.store.conn.execute("SELECT api_key FROM profiles WHERE id = ?", (p.id,)).fetchone()[0]
    assert KEY.encode() not in raw
    assert store_profiles.api_key(ctx.store, p) == Secret(KEY)
    other = store_profiles.create(ctx.store, "other", "https://ap2.example.com", api_key=Secret("sk-other-key"))
    with ctx.store.transaction() as conn:  # move the ciphertext to another row: AAD refuses it
        conn.execute("UPDATE profiles SET api_key = ? WHERE id = ?", (raw, other.id))
    with pytest.raises(AptuiError) as exc:
        store_profiles.api_key(ctx.store, other)
    assert exc.value.code == "STORE_FIELD_TAMPERED"
    assert ctx.store.check().failures[0]["row"] == other.id


def test_key_set_and_rotation_are_recorded(ctx):
    p = store_profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret(KEY))
    assert p.api_key_set_at and p.has_key
    store_profiles.set_api_key(ctx.store, "prod", Secret("sk-new-key-000000"))
    rows = ctx.store.query("SELECT item_id, kind, event FROM rotation_records ORDER BY at, event DESC")
    assert [(r["item_id"], r["kind"]) for r in rows] == [(p.id, "activepieces-api-key")] * 2
    assert sorted(r["event"] for r in rows) == ["rotated", "set"]
    removed = store_profiles.set_api_key(ctx.store, "prod", None)
    assert not removed.has_key and removed.api_key_set_at is None


def test_profile_without_key_is_allowed(ctx):
    p = svc.add_profile(ctx, "nokey", "https://ap.example.com")
    assert not p.has_key and p.is_default
    assert ctx.store.query("SELECT COUNT(*) AS n FROM rotation_records")[0]["n"] == 0


def test_duplicate_and_bad_names(ctx):
    svc.add_profile(ctx, "prod", "https://ap.example.com")
    with pytest.raises(AptuiError) as exc:
        svc.add_profile(ctx, "prod", "https://ap.example.com")
    assert exc.value.code == "PROFILE_EXISTS" and exc.value.exit_code == Exit.USAGE
    with pytest.raises(AptuiError):
        svc.add_profile(ctx, "bad name!", "https://ap.example.com")


def test_http_refused_except_loopback(ctx):
    with pytest.raises(AptuiError) as exc:
        svc.add_profile(ctx, "lan", "http://10.1.2.3:8080")
    assert exc.value.code == "INSECURE_URL"
    assert svc.add_profile(ctx, "local", "http://127.0.0.1:8080/").base_url == "http://127.0.0.1:8080"


def test_ca_bundle_must_exist(ctx, tmp_path):
    with pytest.raises(AptuiError) as exc:
        svc.add_profile(ctx, "tls", "https://ap.example.com", ca_bundle=str(tmp_path / "missing.pem"))
    assert "CA bundle" in exc.value.message
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    assert svc.add_profile(ctx, "tls", "https://ap.example.com", ca_bundle=str(pem)).ca_bundle == str(pem)


def test_resolution_order(ctx, monkeypatch):
    with pytest.raises(AptuiError) as exc:
        svc.resolve_profile(ctx)
    assert exc.value.code == "PROFILE_MISSING" and exc.value.exit_code == Exit.USAGE
    svc.add_profile(ctx, "a", "https://a.example.com")
    assert svc.resolve_profile(ctx).name == "a"  # the first profile is the default
    svc.add_profile(ctx, "b", "https://b.example.com")
    svc.add_profile(ctx, "c", "https://c.example.com")
    assert svc.resolve_profile(ctx).name == "a"
    svc.use_profile(ctx, "b")
    assert svc.resolve_profile(ctx).name == "b"
    monkeypatch.setenv("APTUI_PROFILE", "c")
    assert svc.resolve_profile(ctx).name == "c"
    assert svc.resolve_profile(ctx, "a").name == "a"
    monkeypatch.setenv("APTUI_PROFILE", "zzz")
    with pytest.raises(AptuiError) as exc:
        svc.resolve_profile(ctx)
    assert exc.value.code == "ENTITY_NOT_FOUND"


def test_config_default_profile(ctx):
    svc.add_profile(ctx, "a", "https://a.example.com")
    svc.add_profile(ctx, "b", "https://b.example.com")
    with ctx.store.transaction() as conn:
        conn.execute("UPDATE profiles SET is_default = 0")
    with pytest.raises(AptuiError) as exc:
        svc.resolve_profile(ctx)
    assert "none is the default" in exc.value.message
    ctx.settings.default_profile = "b"
    assert svc.resolve_profile(ctx).name == "b"


def test_key_fallback_and_missing_key(ctx, monkeypatch):
    p = svc.add_profile(ctx, "nokey", "https://ap.example.com")
    with pytest.raises(AptuiError) as exc:
        svc.resolve_api_key(ctx, p)
    assert exc.value.message == "Activepieces API key not configured"
    assert exc.value.exit_code == Exit.USAGE
    monkeypatch.setenv("AP_API_KEY", "sk-from-env-1234")
    assert svc.resolve_api_key(ctx, p) == Secret("sk-from-env-1234")
    svc.set_profile_key(ctx, "nokey", Secret("sk-stored-1234"))
    assert svc.resolve_api_key(ctx, store_profiles.require(ctx.store, "nokey")) == Secret("sk-stored-1234")


async def test_missing_key_fails_before_any_request(ctx, activepieces):
    svc.add_profile(ctx, "nokey", activepieces.url)
    with pytest.raises(AptuiError) as exc:
        await svc.test_profile(ctx, "nokey")
    assert exc.value.message == "Activepieces API key not configured"
    assert activepieces.requests == []


async def test_profile_test_reports_reachability_auth_latency(ctx, activepieces, ap_profile):
    result = await svc.test_profile(ctx)
    assert result["reachable"] and result["authenticated"] and result["latency_ms"] >= 0
    assert result["server_version"] == "0.71.2"
    assert store_profiles.require(ctx.store, "ap-test").server_version == "0.71.2"
    assert activepieces.calls("GET", "/v1/projects")[0].query["limit"] == ["1"]


async def test_profile_test_with_a_bad_key(ctx, activepieces):
    svc.add_profile(ctx, "bad", activepieces.url, api_key=Secret("sk-bad-key-0000"))
    result = await svc.test_profile(ctx, "bad")
    assert result["reachable"] and not result["authenticated"]
    assert result["error"]["code"] == "AUTHENTICATION"


async def test_profile_test_unreachable(ctx):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx.settings.retries = 0
    svc.add_profile(ctx, "down", f"http://127.0.0.1:{port}", api_key=Secret("sk-x-123456"))
    result = await svc.test_profile(ctx, "down")
    assert not result["reachable"] and result["exit_code"] == Exit.UNREACHABLE


def test_list_profiles_shows_key_source_never_key(ctx, monkeypatch):
    svc.add_profile(ctx, "stored", "https://a.example.com", api_key=Secret(KEY))
    svc.add_profile(ctx, "env", "https://b.example.com")
    rows = {r["name"]: r for r in svc.list_profiles(ctx)}
    assert rows["stored"]["key_source"] == "stored" and rows["env"]["key_source"] == "none"
    assert rows["stored"]["active"] and not rows["env"]["active"]
    monkeypatch.setenv("AP_API_KEY", "sk-env")
    assert {r["name"]: r["key_source"] for r in svc.list_profiles(ctx)}["env"] == "AP_API_KEY"
    assert KEY not in repr(svc.list_profiles(ctx))


def test_remove_and_update(ctx):
    svc.add_profile(ctx, "a", "https://a.example.com", api_key=Secret(KEY))
    p = svc.update_profile(ctx, "a", url="https://b.example.com/api", default_project=DEFAULT_PROJECT)
    assert p.base_url == "https://b.example.com/api" and p.default_project == DEFAULT_PROJECT
    svc.remove_profile(ctx, "a")
    assert store_profiles.get(ctx.store, "a") is None
    with pytest.raises(AptuiError) as exc:
        svc.remove_profile(ctx, "a")
    assert exc.value.code == "ENTITY_NOT_FOUND"


def test_read_only_refuses_changes(ctx):
    ctx.settings.read_only = True
    with pytest.raises(AptuiError) as exc:
        svc.add_profile(ctx, "a", "https://a.example.com")
    assert exc.value.code == "READ_ONLY"


def test_audit_never_holds_the_key(ctx):
    svc.add_profile(ctx, "a", "https://a.example.com", api_key=Secret(KEY))
    svc.set_profile_key(ctx, "a", Secret(KEY + "2"))
    text = repr(ctx.store.query("SELECT * FROM audit_log"))
    assert "profile.add" in text and KEY not in text
