"""End to end against moto: plan, apply, verify, rewrite, rollback; crash and resume; denials."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from tests.migrate.helpers import add_connection, make_sources


@pytest.fixture
def world(ctx, moto_aws, tmp_path):
    conn = add_connection(ctx, "aws", moto_aws.config())
    src = make_sources(tmp_path / "deploy")
    ctx.close()
    return conn, src, moto_aws


def _plan(run_cli, conn, src, tmp_path, *extra):
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", str(src.json_file), str(src.yaml_file), "--to", conn.name, "--secret",
                "prod/{stem}", "--out", str(plan), "--json", *extra)
    assert r.code == 0, r.err
    return plan, r.json


def test_plan_finds_secrets_with_reasons_and_holds_no_value(run_cli, world, tmp_path):
    conn, src, _ = world
    plan, out = _plan(run_cli, conn, src, tmp_path)
    text = plan.read_text()
    for value in src.values.values():
        assert value not in text and value not in json.dumps(out)
        assert value[:12] not in text
    assert stat.S_IMODE(plan.stat().st_mode) == 0o600
    items = {i["location"]: i for i in out["items"]}
    assert set(items) == {"$.slack.token", "$.github.auth", "$.db.password", "$.openai.apiKey",
                          "$.webhook.signingSecret", "$.aws.accessKeyId"}
    assert items["$.slack.token"]["reason"] == "token shape: a Slack token"
    assert items["$.github.auth"]["reason"] == "token shape: a GitHub token"
    assert items["$.aws.accessKeyId"]["reason"] == "token shape: an AWS access key id"
    assert items["$.db.password"]["reason"] == "key name 'password'"
    assert items["$.slack.token"]["target"]["providerForm"] == "prod/connection-values:token"
    assert items["$.slack.token"]["reference"] == "{{" + conn.id + "|ap_sep_v1|prod/connection-values:token}}"
    assert all(i["fingerprint"].startswith("hmac-sha256:") for i in out["items"])
    skipped = {s["location"]: s["reason"] for s in out["skipped"]}
    assert skipped["$.already"] == "already a secret-manager reference"
    assert "inside an array" in skipped["$.servers[0]"]
    # plain settings are not planned
    assert not any(loc.endswith((".channel", ".host", ".port", ".model", ".url", ".region", ".org", ".ssl"))
                   for loc in items)


def test_apply_verify_rewrite_then_rollback_byte_for_byte(run_cli, world, tmp_path):
    conn, src, moto = world
    originals = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.err + r.out
    out = r.json
    assert out["ok"] and out["state"] == "done"
    assert all(row["match"] for row in out["verification"]) and len(out["verification"]) == 6
    for value in src.values.values():
        assert value not in r.out and value not in r.err
    sm = moto.client()
    doc = json.loads(sm.get_secret_value(SecretId="prod/connection-values")["SecretString"])
    assert doc == {"token": src.values["slack"], "auth": src.values["github"], "password": src.values["db"]}
    # sources: references in place, everything else byte for byte
    new_json = src.json_file.read_text()
    ref = "{{" + conn.id + "|ap_sep_v1|prod/connection-values:token}}"
    assert f'"token": "{ref}", "channel": "#alerts" }}' in new_json
    assert '    "slack":   { "token"' in new_json and '"port": 5432' in new_json
    new_yaml = src.yaml_file.read_text()
    assert new_yaml.startswith("# step inputs for the nightly flow\n")
    assert "   # from the dashboard\n" in new_yaml
    assert 'apiKey: "{{' + conn.id + '|ap_sep_v1|prod/step-inputs:apiKey}}"' in new_yaml
    assert "masked" not in out["diffs"] and all(v not in json.dumps(out["diffs"]) for v in src.values.values())
    # ref resolve reads the rewritten document as Activepieces would
    r2 = run_cli("ref", "resolve", str(src.json_file), "--json")
    verdicts = {i["location"]: i["verdict"] for i in r2.json["items"]}
    assert verdicts["$.slack.token"] == verdicts["$.github.auth"] == verdicts["$.db.password"] == "resolves"
    assert verdicts["$.already"] == "error"  # a foreign reference, left as it was
    # backups are encrypted and 0600
    backups = list((tmp_path / "aptui-home" / "migrate-backups").rglob("*.bak"))
    assert len(backups) == 2
    for b in backups:
        assert stat.S_IMODE(b.stat().st_mode) == 0o600
        assert all(v.encode() not in b.read_bytes() for v in src.values.values())
    r3 = run_cli("migrate", "rollback", str(plan), "--yes", "--json")
    assert r3.code == 0, r3.err
    for p, data in originals.items():
        assert p.read_bytes() == data
    # the secrets stay without --purge
    assert sm.describe_secret(SecretId="prod/connection-values").get("DeletedDate") is None


def test_merges_into_an_existing_secret_and_purge_restores_its_previous_version(run_cli, world, tmp_path):
    conn, src, moto = world
    sm = moto.client()
    sm.create_secret(Name="prod/connection-values", SecretString=json.dumps({"keep": "me", "n": 3}))
    before = sm.get_secret_value(SecretId="prod/connection-values")["VersionId"]
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    assert run_cli("migrate", "apply", str(plan), "--yes").code == 0
    doc = json.loads(sm.get_secret_value(SecretId="prod/connection-values")["SecretString"])
    assert doc["keep"] == "me" and doc["n"] == 3 and doc["token"] == src.values["slack"]
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--purge", "--json")
    assert r.code == 0, r.err
    stages = {v["VersionId"]: v["VersionStages"] for v in
              sm.list_secret_version_ids(SecretId="prod/connection-values")["Versions"]}
    assert stages[before] == ["AWSCURRENT"]  # (moto's GetSecretValue ignores a moved stage; AWS does not)
    assert [v for v, s in stages.items() if v != before and "AWSPREVIOUS" in s]
    assert sm.describe_secret(SecretId="prod/step-inputs").get("DeletedDate") is not None


def test_a_source_changed_after_planning_writes_nothing(run_cli, world, tmp_path):
    conn, src, moto = world
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    src.yaml_file.write_text(src.yaml_file.read_text().replace(src.values["openai"], "sk-proj-" + "Z" * 40))
    before = src.json_file.read_bytes()
    r = run_cli("migrate", "apply", str(plan), "--yes")
    assert r.code == 1
    assert "MIGRATE_SOURCE_CHANGED" in r.err and "$.openai.apiKey" in r.err and "Z" * 10 not in r.err
    assert moto.client().list_secrets()["SecretList"] == []
    assert src.json_file.read_bytes() == before


def test_a_denied_write_stops_the_step_with_the_providers_reason(run_cli, world, tmp_path):
    conn, src, moto = world
    sm = moto.client()
    sm.create_secret(Name="prod/step-inputs", SecretString="{}")
    sm.delete_secret(SecretId="prod/step-inputs", RecoveryWindowInDays=7)
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    before = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1
    err = r.json["error"]
    assert err["code"] == "SECRET_MANAGER_WRITE_FAILED"
    assert "marked deleted" in err["message"] and "prod/step-inputs" in err["message"]
    steps = {s["id"]: s["status"] for s in r.json["steps"]}
    assert steps["write:prod/step-inputs"] == "failed"
    assert all(p.read_bytes() == b for p, b in before.items())  # nothing rewritten
    # the operator fixes it, then the same plan resumes
    sm.restore_secret(SecretId="prod/step-inputs")
    r2 = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r2.code == 0, r2.out
    assert json.loads(sm.get_secret_value(SecretId="prod/step-inputs")["SecretString"])["apiKey"] == \
        src.values["openai"]


def test_iam_denied_write(run_cli, ctx, moto_aws, tmp_path):
    key, secret = moto_aws.iam_user("reader", ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
                                               "secretsmanager:ListSecrets", "secretsmanager:DescribeSecret"])
    conn = add_connection(ctx, "aws", moto_aws.config(key, secret))
    src = make_sources(tmp_path / "deploy")
    ctx.close()
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    moto_aws.enforce_auth()
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1, r.out
    assert r.json["error"]["code"] == "SECRET_MANAGER_WRITE_FAILED"
    assert "AccessDenied" in r.json["error"]["message"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_sigkill_between_steps_then_resume(run_cli, world, tmp_path, aptui_home, where):
    conn, src, moto = world
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    originals = {p: p.read_bytes() for p in (src.json_file, src.yaml_file)}
    point = {"before": "4", "after": "4:after"}[where]  # step 4 = rewrite of the first source
    env = {**os.environ, "APTUI_HOME": str(aptui_home), "APTUI_MIGRATE_CRASH": point}
    proc = subprocess.run([sys.executable, "-m", "aptui", "migrate", "apply", str(plan), "--yes"], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == -9
    r = run_cli("migrate", "status", str(plan), "--json")
    statuses = [s["status"] for s in r.json["steps"]]
    assert statuses[:3] == ["done"] * 3 and statuses[3] == "pending"
    r2 = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r2.code == 0, r2.out
    assert all(row["match"] for row in r2.json["verification"] or [{"match": True}])
    versions = moto.client().list_secret_version_ids(SecretId="prod/connection-values")["Versions"]
    assert len(versions) == 1  # never written twice
    assert "{{" + conn.id in src.json_file.read_text()
    assert run_cli("migrate", "rollback", str(plan), "--yes").code == 0
    assert all(p.read_bytes() == b for p, b in originals.items())


def test_edited_plan_is_checked(run_cli, world, tmp_path):
    conn, src, _ = world
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    doc = json.loads(plan.read_text())
    doc["items"][0]["target"]["key"] = "slack_bot_token"
    plan.write_text(json.dumps(doc))
    r = run_cli("migrate", "apply", str(plan), "--yes")
    assert r.code == 2 and "MIGRATE_PLAN_INVALID" in r.err and "prod/connection-values:slack_bot_token" in r.err
    doc["items"][0]["reference"] = "{{" + conn.id + "|ap_sep_v1|prod/connection-values:slack_bot_token}}"
    doc["items"][1]["skip"] = True
    plan.write_text(json.dumps(doc))
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.out
    assert "slack_bot_token" in src.json_file.read_text()
    assert src.values["github"] in src.json_file.read_text()  # skipped: left as it was


def test_sigkill_between_the_aws_write_and_its_record(run_cli, world, tmp_path, aptui_home):
    conn, src, moto = world
    sm = moto.client()
    sm.create_secret(Name="prod/connection-values", SecretString=json.dumps({"keep": "me"}))
    before = sm.get_secret_value(SecretId="prod/connection-values")["VersionId"]
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    env = {**os.environ, "APTUI_HOME": str(aptui_home), "APTUI_MIGRATE_CRASH": "1:written"}
    proc = subprocess.run([sys.executable, "-m", "aptui", "migrate", "apply", str(plan), "--yes"], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == -9
    assert json.loads(sm.get_secret_value(SecretId="prod/connection-values")["SecretString"])["token"] == \
        src.values["slack"]
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.out
    assert r.json["steps"][0]["detail"] == "already there (no new version)"
    assert len(sm.list_secret_version_ids(SecretId="prod/connection-values")["Versions"]) == 2
    assert run_cli("migrate", "rollback", str(plan), "--yes", "--purge").code == 0
    stages = {v["VersionId"]: v["VersionStages"] for v in
              sm.list_secret_version_ids(SecretId="prod/connection-values")["Versions"]}
    assert stages[before] == ["AWSCURRENT"]  # the write made before the kill is undone too
