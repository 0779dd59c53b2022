"""`aptui sm …` and `aptui cache …` as real subprocesses against moto and the Vault double."""

from __future__ import annotations

import json

from tests.doubles._http import closed_port_url

SECRET_KEY = "moto-test-secret-access-key-0001"


def _aws_env(moto_aws):
    cfg = moto_aws.config(secret_access_key=SECRET_KEY)
    return {"AK": cfg["accessKeyId"], "SK": cfg["secretAccessKey"]}


def _add_aws(run_cli, moto_aws, name="prod-aws", *extra):
    return run_cli("sm", "add", "--provider", "aws", "--name", name, "--set", "region=us-east-1",
                   "--set", f"endpoint={moto_aws.endpoint}",
                   "--set-env", "accessKeyId=AK", "--set-env", "secretAccessKey=SK", *extra, "--json",
                   env=_aws_env(moto_aws))


def test_add_list_show_test_remove_aws(run_cli, moto_aws):
    r = _add_aws(run_cli, moto_aws)
    assert r.code == 0, r.err
    conn = r.json["connection"]
    assert conn["providerId"] == "aws" and conn["connection"] == {"configured": True, "connected": True}
    listed = run_cli("sm", "list", "--json")
    assert listed.code == 0 and [c["name"] for c in listed.json["data"]] == ["prod-aws"]
    assert listed.json.get("note")
    shown = run_cli("sm", "show", "prod-aws", "--json")
    assert shown.json["config"] == {"accessKeyId": "set", "secretAccessKey": "set", "region": "us-east-1",
                                    "endpoint": moto_aws.endpoint}
    assert any("not AWS" in n for n in shown.json["notes"])
    assert "not AWS" in run_cli("sm", "show", "prod-aws").out
    for out in (r.out, listed.out, shown.out, run_cli("sm", "list").out, run_cli("sm", "show", conn["id"]).out):
        assert SECRET_KEY not in out and "AKIAMOTOADMIN" not in out
    tested = run_cli("sm", "test", "prod-aws", "--json")
    assert tested.code == 0 and tested.json["ok"] is True
    text = run_cli("sm", "test", conn["id"])
    assert text.code == 0 and "connected" in text.out and "not AWS" in text.out
    log = run_cli("audit", "log", "--json").out
    assert SECRET_KEY not in log and "sm.add" in log and "sm.test" in log
    refused = run_cli("sm", "remove", "prod-aws")
    assert refused.code == 2 and "--yes" in refused.err
    gone = run_cli("sm", "remove", "prod-aws", "--yes", "--json")
    assert gone.code == 0 and gone.json["id"] == conn["id"]
    missing = run_cli("sm", "show", "prod-aws", "--json")
    assert missing.code == 1 and missing.json["error"]["code"] == "ENTITY_NOT_FOUND"


def test_add_with_secret_fields_on_stdin(run_cli, moto_aws):
    body = json.dumps({"accessKeyId": "AKIASTDIN00000000000", "secretAccessKey": SECRET_KEY})
    r = run_cli("sm", "add", "--provider", "aws", "--name", "stdin-aws", "--set", "region=us-east-1",
                "--set", f"endpoint={moto_aws.endpoint}", "--json", input=body)
    assert r.code == 0, r.err
    one = run_cli("sm", "add", "--provider", "aws", "--name", "one-line", "--set", "region=us-east-1",
                  "--set", f"endpoint={moto_aws.endpoint}",
                  "--set-env", "accessKeyId=AK", input=SECRET_KEY + "\n", env=_aws_env(moto_aws))
    assert one.code == 0, one.err
    assert SECRET_KEY not in r.out + r.err + one.out + one.err


def test_secret_in_argv_is_refused_without_echo(run_cli):
    r = run_cli("sm", "add", "--provider", "aws", "--name", "x", "--set", "region=us-east-1",
                "--set", f"secretAccessKey={SECRET_KEY}")
    assert r.code == 2 and "--set-env" in r.err and SECRET_KEY not in r.err + r.out
    j = run_cli("sm", "add", "--provider", "aws", "--name", "x", "--set", f"secretAccessKey={SECRET_KEY}", "--json")
    assert j.code == 2 and j.json["ok"] is False and SECRET_KEY not in j.out


def test_add_input_errors(run_cli):
    missing = run_cli("sm", "add", "--provider", "aws", "--name", "x", "--set", "region=us-east-1", "--no-test")
    assert missing.code == 2 and "accessKeyId" in missing.err
    no_region = run_cli("sm", "add", "--provider", "onepassword", "--name", "x", "--set", "region=x",
                        input="ops_token\n")
    assert no_region.code == 2 and "unknown field 'region'" in no_region.err
    proj = run_cli("sm", "add", "--provider", "onepassword", "--name", "x", "--scope", "PROJECT", "--no-test",
                   input="ops_token\n")
    assert proj.code == 2 and "Please select at least one project" in proj.err
    bad_pair = run_cli("sm", "add", "--provider", "onepassword", "--name", "x", "--set", "novalue")
    assert bad_pair.code == 2 and "KEY=VALUE" in bad_pair.err
    env_unset = run_cli("sm", "add", "--provider", "onepassword", "--name", "x",
                        "--set-env", "serviceAccountToken=APTUI_TEST_UNSET_VAR")
    assert env_unset.code == 2 and "APTUI_TEST_UNSET_VAR" in env_unset.err
    two_missing = run_cli("sm", "add", "--provider", "hashicorp", "--name", "v", "--set", "url=http://x",
                          input="only-one-line\n")
    assert two_missing.code == 2 and "roleId, secretId" in two_missing.err and "only-one-line" not in two_missing.err
    bad_json = run_cli("sm", "add", "--provider", "hashicorp", "--name", "v", "--set", "url=http://x",
                       input='{"roleId": 5}')
    assert bad_json.code == 2 and "must be a string" in bad_json.err
    assert run_cli("sm", "list", "--json").json["data"] == []


def test_add_refuses_failing_and_unreachable_connections(run_cli, vault_double):
    role_id, secret_id = vault_double.add_approle("app")
    env = {"ROLE": role_id, "SID": "wrong-secret-id"}
    args = ["sm", "add", "--provider", "hashicorp", "--name", "vault", "--set", f"url={vault_double.url}",
            "--set-env", "roleId=ROLE", "--set-env", "secretId=SID"]
    bad = run_cli(*args, "--json", env=env)
    assert bad.code == 1 and bad.json["error"]["code"] == "SECRET_MANAGER_CONNECTION_FAILED"
    assert "--no-test" in bad.json["error"]["hint"] and "wrong-secret-id" not in bad.out
    assert run_cli("sm", "list", "--json").json["data"] == []
    down = run_cli("sm", "add", "--provider", "hashicorp", "--name", "vault", "--set", f"url={closed_port_url()}",
                   "--set-env", "roleId=ROLE", "--set-env", "secretId=SID", env=env)
    assert down.code == 4 and "SECRET_MANAGER_CONNECTION_FAILED" in down.err
    saved = run_cli(*args, "--no-test", env=env)
    assert saved.code == 0
    failed = run_cli("sm", "test", "vault", "--json")
    assert failed.code == 1 and failed.json["ok"] is False
    # fix the secret id through stdin; the live test passes; the connection is updated
    fixed = run_cli("sm", "update", "vault", "--secret", "secretId", "--json", input=secret_id + "\n")
    assert fixed.code == 0, fixed.err
    assert fixed.json["connection"]["changedFields"] == ["secretId"] and secret_id not in fixed.out
    assert run_cli("sm", "test", "vault").code == 0
    renamed = run_cli("sm", "update", "vault", "--name", "vault-2", "--scope", "PROJECT", "--project", "p1",
                      "--value-ttl", "1m", "--json")
    assert renamed.code == 0 and renamed.json["connection"]["projectIds"] == ["p1"]
    assert renamed.json["connection"]["cache"]["valueTtl"] == 60
    listed = run_cli("sm", "list", "--project", "p2", "--json")
    assert listed.json["data"] == []
    nothing = run_cli("sm", "update", "vault-2")
    assert nothing.code == 2 and "nothing to change" in nothing.err
    not_secret = run_cli("sm", "update", "vault-2", "--secret", "url")
    assert not_secret.code == 2


def test_cache_status_and_clear(run_cli, moto_aws):
    moto_aws.create_secret("prod/db", {"password": "cached-pass-1"})
    conn = _add_aws(run_cli, moto_aws).json["connection"]
    ref = "{{" + conn["id"] + "|ap_sep_v1|prod/db:password}}"
    assert run_cli("ref", "test", ref).code == 0
    assert run_cli("ref", "test", ref).code == 0
    st = run_cli("cache", "status", "--json")
    row = st.json["connections"][0]
    assert (row["entries"], row["hits"], row["misses"]) == (1, 1, 1)
    assert row["valueTtl"] == 300 and row["statusTtl"] == 30 and row["server"]["valueTtl"] == 3600
    text = run_cli("cache", "status")
    assert "1h/1h" in text.out and "5m/30s" in text.out and "prod-aws" in text.out
    cleared = run_cli("cache", "clear", "--connection", "prod-aws", "--json")
    assert cleared.code == 0 and cleared.json["cleared"] == 1
    assert run_cli("cache", "status", "--json").json["connections"][0]["entries"] == 0
    assert "cleared 0" in run_cli("cache", "clear").out
    missing = run_cli("cache", "clear", "--connection", "nope")
    assert missing.code == 1 and "ENTITY_NOT_FOUND" in missing.err


def test_cache_clear_on_the_server_too(run_cli, ctx, ap_profile, activepieces):
    from aptui.store import connections as sc

    conn = sc.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_x_000"})
    ctx.close()
    refused = run_cli("cache", "clear", "--server")
    assert refused.code == 2 and "--yes" in refused.err and activepieces.cache_clears == []
    one = run_cli("cache", "clear", "--connection", "op", "--server", "--yes", "--json")
    assert one.code == 0, one.err
    assert one.json["server"]["scope"] == "connection" and activepieces.cache_clears == [conn.id]
    every = run_cli("cache", "clear", "--server", "--yes")
    assert every.code == 0 and "server's cache was cleared too" in every.out
    assert activepieces.cache_clears == [conn.id, None]
    read_only = run_cli("--read-only", "cache", "clear", "--server", "--yes")
    assert read_only.code == 2 and "read-only" in read_only.err
