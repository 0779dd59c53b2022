"""Environment checks: each finding and its clean counterpart; strength heuristics."""

from __future__ import annotations

import random

import pytest

from aptui.services.hardening.env_checks import check_env
from aptui.services.hardening.envfile import load_env_file, parse_env
from aptui.services.hardening.strength import describe, weakness
from tests.hardening.conftest import FIXTURES

RNG = random.Random(8)


def hexkey(n: int) -> str:
    while True:
        v = "".join(RNG.choice("0123456789abcdef") for _ in range(n))
        if weakness(v) is None:
            return v


def by_id(findings) -> dict:
    out: dict = {}
    for f in findings:
        out.setdefault(f.id, []).append(f)
    return out


def one(findings, fid):
    items = by_id(findings)[fid]
    assert len(items) == 1, items
    return items[0]


def run(text: str, **kw):
    return check_env(parse_env(text), **kw)


# -- fixtures: every finding open in bad.env, ok in good.env -------------------------------------

BAD_OPEN = {
    "env.encryption_key.length": "high", "env.jwt_secret.strength": "high", "env.postgres_password.strength": "high",
    "env.redis_password.strength": "high", "env.api_key.present": "low", "env.api_key.strength": "high",
    "env.queue_ui_password.present": "high", "env.execution_mode": "medium", "env.container_type": "medium",
    "env.telemetry": "info", "env.frontend_url.https": "high", "env.server_url.https": "high",
    "env.placeholder": "high", "env.duplicate_key": "low", "env.syntax": "low",
}
GOOD_OK = ["env.encryption_key.present", "env.encryption_key.length", "env.encryption_key.strength",
           "env.jwt_secret.present", "env.jwt_secret.strength", "env.postgres_password.present",
           "env.postgres_password.strength", "env.redis_password.present", "env.redis_password.strength",
           "env.api_key.present", "env.execution_mode", "env.container_type", "env.telemetry",
           "env.frontend_url.https", "env.frontend_url.host"]


def test_bad_env_fixture_opens_every_finding():
    findings = check_env(load_env_file(FIXTURES / "bad.env"), site_url="https://ap.example.com")
    ids = by_id(findings)
    for fid, severity in BAD_OPEN.items():
        assert fid in ids, fid
        assert all(f.is_open and f.severity == severity for f in ids[fid]), (fid, ids[fid])
    assert one(findings, "env.encryption_key.length").location.endswith("bad.env:5")
    assert "AP_SMTP_PASSWORD" in one(findings, "env.placeholder").title


def test_good_env_fixture_is_clean():
    findings = check_env(load_env_file(FIXTURES / "good.env"), site_url="https://ap.example.com")
    ids = by_id(findings)
    assert not [f for f in findings if f.is_open], [f for f in findings if f.is_open]
    for fid in GOOD_OK:
        assert fid in ids and all(not f.is_open for f in ids[fid]), fid
    assert one(findings, "env.encryption_key.length").evidence == "set, 32 chars, hex"


# -- AP_ENCRYPTION_KEY -----------------------------------------------------------------------------


def test_key_of_64_chars_explains_invalid_key_length():
    f = one(run(f"AP_ENCRYPTION_KEY={hexkey(64)}\n"), "env.encryption_key.length")
    assert f.is_open and f.severity == "high"
    assert "64 chars" in f.evidence and "Invalid key length" in f.evidence and "openssl rand -hex 16" in f.fix


@pytest.mark.parametrize("n", [16, 31, 33, 44])
def test_key_of_other_lengths(n):
    f = one(run(f"AP_ENCRYPTION_KEY={hexkey(n)}\n"), "env.encryption_key.length")
    assert f.is_open and f.severity == "high" and f"{n} chars" in f.evidence


@pytest.mark.parametrize("key,why", [
    ("your-32-char-encryption-key-here", "placeholder"),
    ("0123456789abcdef0123456789abcdef", "placeholder"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "repeated"),
    ("abababababababababababababababab", "repeated"),
    ("mysupersecretpasswordforactivep1", "dictionary"),
    ("11112222333344445555666677778888", "runs"),
    ("1a2b3c4d1a2b3c4d1a2b3c4d1a2b3c4e", "repetitive"),
])
def test_weak_32_char_keys(key, why):
    assert len(key) == 32
    f = one(run(f"AP_ENCRYPTION_KEY={key}\n"), "env.encryption_key.strength")
    assert f.is_open and f.severity == "high" and "weak" in f.evidence
    assert key not in f.evidence and key not in f.title and key not in f.fix


def test_random_but_not_hex_key_is_medium():
    f = one(run("AP_ENCRYPTION_KEY=Kq7vX2pL9mN4bR8tZ1cW5yH3jF6dG0sA\n"), "env.encryption_key.strength")
    assert f.is_open and f.severity == "medium" and "alphanumeric" in f.evidence


def test_missing_key_is_high_unless_memory_queue():
    f = one(run("AP_JWT_SECRET=x\n"), "env.encryption_key.present")
    assert f.is_open and f.severity == "high" and "cannot encrypt" in f.evidence
    f = one(run("AP_REDIS_TYPE=MEMORY\n"), "env.encryption_key.present")
    assert f.is_open and f.severity == "medium" and "local file store" in f.evidence
    f = one(run("AP_ENCRYPTION_KEY=\n"), "env.encryption_key.present")
    assert f.is_open and f.evidence == "empty"
    assert "env.encryption_key.length" not in by_id(run("AP_REDIS_TYPE=MEMORY\n"))


def test_key_from_outside_the_file_is_not_judged():
    f = one(run("AP_ENCRYPTION_KEY=${KEY_FROM_VAULT}\n"), "env.encryption_key.length")
    assert not f.is_open and "not checked" in f.evidence


# -- other secrets -----------------------------------------------------------------------------------


def test_jwt_secret_short_or_missing():
    f = one(run(f"AP_JWT_SECRET={hexkey(20)}\n"), "env.jwt_secret.strength")
    assert f.is_open and "too short" in f.evidence
    assert one(run(""), "env.jwt_secret.present").severity == "high"
    assert one(run("AP_REDIS_TYPE=MEMORY"), "env.jwt_secret.present").severity == "medium"


def test_postgres_password_in_url_and_embedded_db():
    f = one(run("AP_POSTGRES_URL=postgres://ap:postgres@db:5432/ap\n"), "env.postgres_password.strength")
    assert f.is_open and "postgres" not in f.evidence.replace("AP_POSTGRES_URL", "")
    f = one(run(f"AP_POSTGRES_URL=postgres://ap:{hexkey(40)}@db/ap\n"), "env.postgres_password.strength")
    assert not f.is_open
    f = one(run("AP_POSTGRES_URL=postgres://ap@db/ap\n"), "env.postgres_password.present")
    assert f.is_open and f.severity == "medium"
    f = one(run("AP_DB_TYPE=PGLITE\n"), "env.postgres_password.present")
    assert f.is_open and f.severity == "low" and "PGLITE" in f.evidence


def test_redis_password_variants():
    assert one(run(""), "env.redis_password.present").severity == "medium"
    assert not one(run("AP_REDIS_TYPE=MEMORY"), "env.redis_password.present").is_open
    f = one(run("AP_REDIS_URL=redis://redis:6379\n"), "env.redis_password.present")
    assert f.is_open and "without a password" in f.evidence
    f = one(run("AP_REDIS_URL=redis://:changeme@redis:6379\n"), "env.redis_password.strength")
    assert f.is_open and f.severity == "high"
    assert not one(run(f"AP_REDIS_URL=redis://:{hexkey(32)}@redis:6379\n"), "env.redis_password.strength").is_open


def test_api_key_and_queue_ui():
    assert not one(run(""), "env.api_key.present").is_open
    strong = run(f"AP_API_KEY=sk-{hexkey(48)}\n")
    assert one(strong, "env.api_key.present").is_open  # present in the file: low
    assert not one(strong, "env.api_key.strength").is_open
    assert "env.queue_ui_password.present" not in by_id(run("AP_QUEUE_UI_ENABLED=false\n"))
    ok = run(f"AP_QUEUE_UI_ENABLED=true\nAP_QUEUE_UI_PASSWORD={hexkey(24)}\n")
    assert not one(ok, "env.queue_ui_password.strength").is_open


def test_execution_mode_and_container_type():
    assert one(run("AP_EXECUTION_MODE=SANDBOX_PROCESS"), "env.execution_mode").status == "ok"
    assert one(run("AP_EXECUTION_MODE=FAST"), "env.execution_mode").severity == "low"
    memory = one(run("AP_REDIS_TYPE=MEMORY\n"), "env.container_type")
    assert memory.is_open and memory.severity == "low" and "cannot be split" in memory.evidence
    assert one(run("AP_CONTAINER_TYPE=WORKER"), "env.container_type").status == "ok"
    assert one(run("AP_CONTAINER_TYPE=BOTH"), "env.container_type").severity == "low"
    assert "env.container_type" not in by_id(run("", container_type=False))


def test_telemetry_is_informational():
    f = one(run(""), "env.telemetry")
    assert f.is_open and f.severity == "info" and not f.blocking
    assert one(run("AP_TELEMETRY_ENABLED=false"), "env.telemetry").status == "ok"


def test_urls():
    f = one(run("AP_FRONTEND_URL=https://other.example.com\n", site_url="https://ap.example.com"),
            "env.frontend_url.host")
    assert f.is_open and "other.example.com" in f.evidence and "ap.example.com" in f.evidence
    f = one(run("AP_FRONTEND_URL=ap.example.com\n"), "env.frontend_url.https")
    assert f.is_open and "not an http(s) URL" in f.evidence
    f = one(run("AP_FRONTEND_URL=https://u:hunter2-pass@ap.example.com/x?token=abc\n"), "env.frontend_url.https")
    assert not f.is_open and "hunter2" not in f.evidence and "token" not in f.evidence
    assert "env.server_url.https" not in by_id(run("AP_FRONTEND_URL=https://a.b\n"))
    missing = one(run(""), "env.frontend_url.https")
    assert missing.is_open and missing.severity == "medium"


def test_no_placeholder_gives_ok():
    f = one(run(f"AP_S3_SECRET_ACCESS_KEY={hexkey(40)}\n"), "env.placeholder")
    assert f.status == "ok"
    assert "env.placeholder" not in by_id(run("AP_ENVIRONMENT=prod\n"))


# -- strength heuristics ------------------------------------------------------------------------------


def test_random_values_are_not_weak():
    rng = random.Random(1234)
    for n, alphabet in ((32, "0123456789abcdef"), (64, "0123456789abcdef"),
                        (88, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")):
        for _ in range(2000):
            value = "".join(rng.choice(alphabet) for _ in range(n))
            assert weakness(value) is None, value


def test_describe_never_shows_the_value():
    assert describe("fe129a793db74ccbb6f273bc8b81d905") == "32 chars, hex"
    assert describe("Kq7vX2pL9mN4bR8tZ1cW5yH3jF6dG0sA") == "32 chars, alphanumeric"
    assert describe("a+b/c=") == "6 chars, base64-like"
    assert describe("pa ss!") == "6 chars, printable"
