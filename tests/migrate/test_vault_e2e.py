"""End to end against a real OpenBao: KV v2 put with cas, verify, rewrite, crash/resume, denial, purge."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.migrate.helpers import add_connection, make_sources, rand

WRITER_POLICY = """
path "secret/data/*" { capabilities = ["create", "read", "update", "delete"] }
path "sys/mounts" { capabilities = ["read"] }
"""


@pytest.fixture
def vault_world(ctx, openbao, tmp_path):
    openbao.write_policy("aptui-migrate", WRITER_POLICY)
    role = openbao.approle("migrate-" + rand(6).lower(), policies=["aptui-migrate"])
    conn = add_connection(ctx, "hashicorp", openbao.config(role))
    src = make_sources(tmp_path / "deploy")
    prefix = "t" + rand(8).lower()
    ctx.close()
    return conn, src, openbao, prefix


def _plan(run_cli, conn, src, tmp_path, prefix):
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", str(src.json_file), str(src.yaml_file), "--to", conn.id, "--secret",
                f"secret/{prefix}/{{stem}}", "--out", str(plan), "--json")
    assert r.code == 0, r.err
    return plan, r.json


def _read(openbao, path, version=None):
    q = f"?version={version}" if version else ""
    status, body = openbao.request("GET", f"secret/data/{path}{q}")
    return status, body


def test_plan_apply_verify_and_rollback_with_purge(run_cli, vault_world, tmp_path):
    conn, src, openbao, prefix = vault_world
    openbao.write_kv2("secret", f"{prefix}/step-inputs", {"existing": "kept"})
    originals = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    plan, out = _plan(run_cli, conn, src, tmp_path, prefix)
    item = next(i for i in out["items"] if i["location"] == "$.slack.token")
    assert item["target"]["providerForm"] == f"secret/data/{prefix}/connection-values/token"
    assert item["reference"] == "{{" + conn.id + f"|ap_sep_v1|secret/data/{prefix}/connection-values/token}}}}"
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.out + r.err
    assert all(row["match"] for row in r.json["verification"])
    status, body = _read(openbao, f"{prefix}/step-inputs")
    assert status == 200
    assert body["data"]["data"] == {"existing": "kept", "apiKey": src.values["openai"],
                                    "signingSecret": src.values["signing"], "accessKeyId": src.values["akia"]}
    assert body["data"]["metadata"]["version"] == 2
    assert f"secret/data/{prefix}/connection-values/password" in src.json_file.read_text()
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--purge", "--json")
    assert r.code == 0, r.err
    assert all(p.read_bytes() == b for p, b in originals.items())
    status, body = _read(openbao, f"{prefix}/step-inputs")
    assert body["data"]["data"] == {"existing": "kept"} and body["data"]["metadata"]["version"] == 3
    status, body = _read(openbao, f"{prefix}/connection-values")
    assert status == 404 and body["data"]["metadata"]["deletion_time"]  # created by the run: soft-deleted


def test_denied_write_by_policy_stops_the_step(run_cli, ctx, openbao, tmp_path):
    role = openbao.approle("migrate-ro-" + rand(6).lower(), policies=["activepieces"])
    conn = add_connection(ctx, "hashicorp", openbao.config(role))
    src = make_sources(tmp_path / "deploy")
    ctx.close()
    prefix = "t" + rand(8).lower()
    plan, _ = _plan(run_cli, conn, src, tmp_path, prefix)
    before = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1, r.out
    err = r.json["error"]
    assert err["code"] == "SECRET_MANAGER_WRITE_FAILED" and "permission denied" in err["message"]
    assert r.json["steps"][0]["status"] == "failed"
    assert all(p.read_bytes() == b for p, b in before.items())
    assert _read(openbao, f"{prefix}/connection-values")[0] == 404


def test_concurrent_writer_is_caught_by_cas(ctx, vault_world, tmp_path):
    import asyncio

    from aptui.errors import AptuiError
    from aptui.masking import Secret
    from aptui.providers.writers import make_writer
    from aptui.providers.writers.base import CONFLICT
    from aptui.store import connections as store_conn

    conn, _src, openbao, prefix = vault_world
    openbao.write_kv2("secret", f"{prefix}/race", {"a": "1"})

    async def go():
        w = make_writer("hashicorp", store_conn.auth(ctx.store, conn))
        try:
            cur = (await w.read_many([f"secret/data/{prefix}/race"]))[f"secret/data/{prefix}/race"]
            openbao.write_kv2("secret", f"{prefix}/race", {"a": "1", "b": "someone else"})
            with pytest.raises(AptuiError) as exc:
                await w.write(cur, {"c": Secret("x")}, token="t")
            return exc.value
        finally:
            await w.aclose()

    err = asyncio.run(go())
    assert err.code == CONFLICT and "another writer" in err.message
    assert _read(openbao, f"{prefix}/race")[1]["data"]["data"] == {"a": "1", "b": "someone else"}


@pytest.mark.parametrize("point", ["1:written", "1:after"])
def test_sigkill_after_a_write_then_resume_writes_once(run_cli, vault_world, tmp_path, aptui_home, point):
    conn, src, openbao, prefix = vault_world
    plan, _ = _plan(run_cli, conn, src, tmp_path, prefix)
    env = {**os.environ, "APTUI_HOME": str(aptui_home), "APTUI_MIGRATE_CRASH": point}
    proc = subprocess.run([sys.executable, "-m", "aptui", "migrate", "apply", str(plan), "--yes"], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == -9
    assert _read(openbao, f"{prefix}/connection-values")[1]["data"]["metadata"]["version"] == 1
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.out
    assert r.json["steps"][0]["detail"] == "already there (no new version)"
    assert _read(openbao, f"{prefix}/connection-values")[1]["data"]["metadata"]["version"] == 1
    assert json.loads(json.dumps(r.json["verification"])) and all(x["match"] for x in r.json["verification"])
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--purge", "--json")
    assert r.code == 0, r.err
    status, body = _read(openbao, f"{prefix}/connection-values")
    assert status == 404 and body["data"]["metadata"]["deletion_time"]  # the write made before the kill, undone
