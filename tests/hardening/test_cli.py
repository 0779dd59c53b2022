"""`aptui audit hardening` and `aptui audit pieces` as real subprocesses: output, exit codes, errors,
and canary secrets that must never appear in any output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from aptui.masking import Secret
from tests.hardening.conftest import FIXTURES

BAD = str(FIXTURES / "bad.env")
CANARY = {
    "AP_ENCRYPTION_KEY": "CanaryKeyZ9" + "x" * 53,  # 64 chars: reported as a wrong length
    "AP_JWT_SECRET": "canary-jwt-7Qm2",
    "AP_POSTGRES_PASSWORD": "canary-pg-pass-4471",
    "AP_REDIS_PASSWORD": "canary-redis-9913",
    "AP_API_KEY": "sk-canaryapikey0000111122223333",
    "AP_QUEUE_UI_PASSWORD": "canary-queue-ui",
    "AP_SMTP_PASSWORD": "canary-smtp-5521",
    "AP_FRONTEND_URL": "http://canary-user:canary-url-pass@ap.example.com",
}


def no_traceback(result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out


def test_bad_inputs_exit_1_with_findings(run_cli):
    r = run_cli("audit", "hardening", "--env-file", BAD, "--compose-file", str(FIXTURES / "compose.bad.yml"),
                "--no-store-compare")
    assert r.code == 1, r.err
    assert r.out.startswith("Hardening audit: FAIL")
    for fid in ("[env.encryption_key.length]", "[compose.ports.postgres]", "[compose.split_roles]", "[file.mode]"):
        assert fid in r.out, fid
    assert "passed checks hidden" in r.out


def test_good_env_json_exit_0(run_cli, tmp_path):
    env = tmp_path / "prod.env"
    shutil.copy(FIXTURES / "good.env", env)
    env.chmod(0o600)
    r = run_cli("audit", "hardening", "--env-file", str(env), "--json")
    assert r.code == 0, r.out
    doc = r.json
    assert doc["ok"] is True and doc["kind"] == "hardening" and doc["summary"]["blocking"] is False
    assert doc["targets"]["env_file"] == str(env)
    ids = {f["id"]: f for f in doc["findings"]}
    assert ids["env.encryption_key.strength"]["status"] == "ok"
    assert {"file.store_secrets", "http", "api"} <= {s["check"] for s in doc["skipped"]}


def test_markdown_file_and_stdout(run_cli, tmp_path):
    md = tmp_path / "report.md"
    r = run_cli("audit", "hardening", "--env-file", BAD, "--no-store-compare", "--markdown", str(md))
    assert r.code == 1 and f"Markdown report written to {md}" in r.out
    text = md.read_text()
    assert text.startswith("# Activepieces hardening audit") and "**FAIL**" in text
    assert "### [HIGH] AP_ENCRYPTION_KEY has the wrong length" in text
    r = run_cli("audit", "hardening", "--env-file", BAD, "--no-store-compare", "--markdown", "-")
    assert r.code == 1 and r.out.startswith("# Activepieces hardening audit")
    r = run_cli("audit", "hardening", "--env-file", BAD, "--markdown", "-", "--json")
    assert r.code == 2 and r.json["error"]["code"] == "VALIDATION"


def test_canary_secrets_never_appear(run_cli, ctx, tmp_path):
    from aptui.store import profiles

    profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret(CANARY["AP_API_KEY"]))
    ctx.close()
    env = tmp_path / ".env"
    env.write_text("AP_QUEUE_UI_ENABLED=true\n" + "".join(f"{k}={v}\n" for k, v in CANARY.items()))
    md = tmp_path / "r.md"
    outputs = []
    for extra in ([], ["--all"], ["--json"], ["--markdown", str(md)]):
        r = run_cli("audit", "hardening", "--env-file", str(env), *extra)
        assert r.code == 1, r.err
        outputs += [r.out, r.err]
    outputs.append(md.read_text())
    blob = "\n".join(outputs)
    assert "profile 'prod' (API key)" in blob  # the store match is reported, by name
    for key, value in CANARY.items():
        assert value not in blob, key
    for fragment in ("CanaryKeyZ9", "canary-url-pass", "canary-jwt", "canaryapikey", "canary-smtp", "canary-queue"):
        assert fragment not in blob, fragment


@pytest.mark.parametrize("args,code,err_code", [
    (["--env-file", "/nonexistent/.env"], 2, "FILE_NOT_FOUND"),
    (["--env-file", sys.executable], 2, "FILE_NOT_TEXT"),
    (["--env-file", str(FIXTURES / "unterminated.env")], 2, "FILE_INVALID"),
    (["--compose-file", str(FIXTURES / "compose.invalid.yml")], 2, "FILE_INVALID"),
    (["--env-file", BAD, "--url", "ftp://ap.example.com"], 2, "VALIDATION"),
    (["--profile", "missing"], 2, "ENTITY_NOT_FOUND"),
])
def test_bad_input_is_one_clear_line(run_cli, args, code, err_code):
    r = run_cli("audit", "hardening", *args)
    assert r.code == code, (r.out, r.err)
    no_traceback(r)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"aptui: {err_code}:")
    r = run_cli("audit", "hardening", *args, "--json")
    assert r.code == code and r.json["ok"] is False and r.json["error"]["code"] == err_code


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_env_file(run_cli, tmp_path):
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    env.chmod(0)
    r = run_cli("audit", "hardening", "--env-file", str(env))
    assert r.code == 2 and "FILE_UNREADABLE" in r.err


def test_nothing_to_audit_in_an_empty_directory(aptui_home, tmp_path):
    env = {**os.environ, "APTUI_HOME": str(aptui_home)}
    proc = subprocess.run([sys.executable, "-m", "aptui", "audit", "hardening"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nothing to audit" in proc.stderr
    (tmp_path / ".env").write_text("AP_JWT_SECRET=secret\n")  # then .env is found by itself
    proc = subprocess.run([sys.executable, "-m", "aptui", "audit", "hardening", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and json.loads(proc.stdout)["targets"]["env_file"] == str(tmp_path / ".env")


def test_unreachable_url_alone_exits_4(run_cli, free_port):
    r = run_cli("audit", "hardening", "--url", f"https://127.0.0.1:{free_port}", "--http-port", str(free_port),
                "--timeout", "2")
    assert r.code == 4 and r.err.startswith("aptui: URL_UNREACHABLE:")
    no_traceback(r)
    r = run_cli("audit", "hardening", "--url", f"https://127.0.0.1:{free_port}", "--http-port", str(free_port),
                "--timeout", "2", "--json")
    assert r.code == 4 and r.json["error"]["code"] == "URL_UNREACHABLE"


def test_live_site(run_cli, site, site_cert):
    base = ["audit", "hardening", "--url", site.https_url, "--http-port", str(site.http_port), "--timeout", "3"]
    r = run_cli(*base, "--json")
    assert r.code == 1  # self-signed
    assert {f["id"] for f in r.json["findings"] if f["status"] == "open"} == {"http.certificate"}
    r = run_cli(*base, "--ca-bundle", str(site_cert.cert_pem))
    assert r.code == 0, r.out
    assert r.out.startswith("Hardening audit: PASS")
    r = run_cli(*base, "--insecure", "--all")
    assert r.code == 0 and "ok    HSTS is on  [http.hsts]" in r.out and "skip  api:" in r.out


def test_profile_api_checks(run_cli, ap_profile, activepieces, ctx):
    ctx.close()
    r = run_cli("audit", "hardening", "--profile", "ap-test", "--no-live", "--json")
    assert r.code == 0, (r.out, r.err)  # an ERROR connection is medium
    ids = {f["id"] for f in r.json["findings"] if f["status"] == "open"}
    assert "api.connections.failing" in ids
    assert r.json["platform"]["projects"] == 2
    assert activepieces.api_key not in r.out


# -- pieces ------------------------------------------------------------------------------------------


def test_pieces_cli(run_cli, tmp_path):
    r = run_cli("audit", "pieces", str(FIXTURES / "pieces"))
    assert r.code == 1
    assert "@acme/piece-crm" in r.out and "[piece.tls_disabled]" in r.out and "client.ts:9" in r.out
    r = run_cli("audit", "pieces", str(FIXTURES / "pieces" / "clean-notes"), "--json")
    assert r.code == 0 and r.json["ok"] is True and r.json["pieces"][0]["name"] == "@acme/piece-notes"
    md = tmp_path / "p.md"
    r = run_cli("audit", "pieces", str(FIXTURES / "pieces"), "--markdown", str(md))
    assert r.code == 1 and md.read_text().startswith("# Private pieces review")


def test_pieces_cli_with_profile(run_cli, ap_profile, activepieces, ctx):
    ctx.close()
    activepieces.pieces.append(activepieces.make_piece("@acme/piece-crm", "CRM", "0.3.1", piece_type="CUSTOM"))
    r = run_cli("audit", "pieces", str(FIXTURES / "pieces"), "--profile", "ap-test", "--json")
    assert r.code == 1
    rows = {p["name"]: p for p in r.json["pieces"]}
    assert rows["@acme/piece-crm"]["installed_version"] == "0.3.1" and rows["@acme/piece-notes"]["installed"] is False


@pytest.mark.parametrize("path,err_code", [("/nonexistent/pieces", "FILE_NOT_FOUND"), (BAD, "FILE_INVALID")])
def test_pieces_bad_path(run_cli, path, err_code):
    r = run_cli("audit", "pieces", path)
    assert r.code == 2 and r.err.startswith(f"aptui: {err_code}:")
    no_traceback(r)
