"""`aptui rotation` as a real subprocess: list (JSON, exit codes 0/1/2/4), show, mark, rotate (per-step
confirmation, --yes, resume, --abort, prompted secrets from env/stdin, the MCP token shown once)."""

from __future__ import annotations

from aptui.store import connections as store_conn
from tests.doubles._http import closed_port_url
from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.rotation.conftest import iam_keys, stored_config


def test_list_json_and_exit_codes(ctx, run_cli, cli_inproc, aws_conn, monkeypatch):
    aws_conn("prod-aws")
    ctx.close()
    ok = run_cli("rotation", "list", "--json")
    assert ok.code == 0, ok.err
    item = ok.json["items"][0]
    assert item["id"] == "sm:prod-aws" and item["source"] == "observed:iam.ListAccessKeys"
    assert item["state"] == "ok" and ok.json["counts"]["ok"] == 1
    text = cli_inproc("rotation", "list")
    assert text.code == 0 and "sm:prod-aws" in text.out and "obs:ListAccessKeys" in text.out
    # A 1-day policy on a key made just now: due soon today, overdue two days from now (injected clock).
    (ctx.paths.config_file).write_text('[rotation.items]\n"sm:prod-aws" = "1d"\n')
    today = run_cli("rotation", "list", "--json")
    assert today.json["items"][0]["state"] == "due soon", today.out
    overdue = run_cli("rotation", "list", "--json", env={"APTUI_CLOCK_OFFSET": "2d"})
    assert overdue.code == 1 and overdue.json["items"][0]["state"] == "overdue", overdue.out
    monkeypatch.setenv("APTUI_CLOCK_OFFSET", "2d")
    assert cli_inproc("rotation", "list", "--due-within", "14d").code == 1


def test_list_bad_input_exits_2(cli_inproc):
    run_cli = cli_inproc
    assert run_cli("rotation", "list", "--due-within", "soon").code == 2
    assert run_cli("rotation", "list", "--kind", "nope").code == 2
    bad = run_cli("rotation", "list", "--json", "--due-within", "-3d")
    assert bad.code == 2 and bad.json["ok"] is False


def test_list_exits_4_when_every_lookup_is_unreachable(ctx, run_cli):
    store_conn.create(ctx.store, provider_id="hashicorp", name="dead", tested_ok=True,
                      config={"url": closed_port_url(), "roleId": "r", "secretId": "s"})
    ctx.close()
    res = run_cli("rotation", "list", env={"APTUI_TIMEOUT": "2", "APTUI_RETRIES": "0"})
    assert res.code == 4 and "unreachable" in res.out
    assert run_cli("rotation", "list", "--offline").code == 0


def test_mark_and_show(ctx, run_cli, cli_inproc):
    store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_1"})
    ctx.close()
    res = run_cli("rotation", "mark", "sm:op", "--date", "2026-01-02", "--note", "rotated in 1Password", "--json")
    assert res.code == 0 and res.json["item"]["confidence"] in ("medium", "low")
    assert cli_inproc("rotation", "mark", "sm:op", "--date", "yesterday").code == 2
    assert cli_inproc("rotation", "mark", "sm:nope").code == 2
    show = run_cli("rotation", "show", "sm:op", "--offline")
    assert show.code == 0 and "sm:op" in show.out and "rotate with:  prompt" in show.out


def test_rotate_needs_yes_without_a_terminal(ctx, cli_inproc, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    ctx.close()
    res = cli_inproc("rotation", "rotate", "sm:prod-aws")
    assert res.code == 2 and "--yes" in res.err
    assert len(iam_keys(moto_aws, conn.user)) == 1


def test_rotate_with_yes_prints_every_step(ctx, run_cli, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    ctx.close()
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--yes")
    assert res.code == 0, res.err
    for step in ("inspect", "create", "test", "store", "publish", "retire"):
        assert f"→ {step}:" in res.out
    assert "rotation complete" in res.out
    new = stored_config(ctx, "prod-aws")
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Inactive", new["accessKeyId"]: "Active"}
    assert new["secretAccessKey"] not in res.out + res.err and new["accessKeyId"] not in res.out


def test_rotate_stop_resume_and_abort(ctx, run_cli, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    moto_aws.client("iam").create_access_key(UserName=conn.user)
    ctx.close()
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--yes", "--json")
    assert res.code == 1 and res.json["error"]["code"] == "ROTATION_STOPPED"
    assert res.json["error"]["params"]["step"] == "inspect"
    aborted = run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--json")
    assert aborted.code == 0 and aborted.json["item"] == "sm:prod-aws"
    assert run_cli("rotation", "rotate", "sm:prod-aws", "--abort").code == 2


def test_prompted_rotation_reads_the_new_value_from_env_or_stdin(ctx, run_cli, activepieces, ap_profile):
    new_key = "sk-" + "E" * 40
    activepieces.api_keys.add(new_key)
    ctx.close()
    res = run_cli("rotation", "rotate", "profile:ap-test", "--yes", "--secret-env", "NEW_KEY",
                  env={"NEW_KEY": new_key})
    assert res.code == 0, res.err
    assert new_key not in res.out + res.err and "rotation complete" in res.out
    other = "sk-" + "F" * 40
    activepieces.api_keys.add(other)
    res = run_cli("rotation", "rotate", "profile:ap-test", "--yes", "--own-key", input=other + "\n")
    assert res.code == 0, res.err
    assert run_cli("rotation", "rotate", "profile:ap-test", "--yes", "--secret-env", "MISSING").code == 2


def test_profile_key_dated_then_rotated_and_the_old_one_revoked(ctx, run_cli, activepieces, ap_profile):
    ctx.close()
    listed = run_cli("rotation", "list", "--json", "--kind", "activepieces-api-key")
    assert listed.code == 0, listed.err
    [item] = listed.json["items"]
    assert item["id"] == "profile:ap-test" and item["source"] == "observed:activepieces.api-keys"
    assert item["confidence"] == "high" and item["lookup"] == "observed"
    new_key = activepieces.issue_api_key("aptui rotated")["_value"]
    res = run_cli("rotation", "rotate", "profile:ap-test", "--yes", "--json", "--secret-env", "NEW_KEY",
                  env={"NEW_KEY": new_key})
    assert res.code == 0, res.err
    assert [(r["step"], r["outcome"]) for r in res.json["results"]] == [("test", "done"), ("store", "done"),
                                                                        ("retire", "done")]
    assert new_key not in res.out + res.err and activepieces.api_key not in res.out + res.err
    assert activepieces.api_key not in activepieces.api_keys
    again = run_cli("rotation", "list", "--json", "--kind", "activepieces-api-key")
    assert again.json["items"][0]["source"] == "observed:activepieces.api-keys"
    assert any("'aptui rotated'" in n for n in again.json["items"][0]["notes"])


def test_platform_created_api_key_rotation(ctx, run_cli, activepieces, ap_profile):
    ctx.close()
    res = run_cli("rotation", "rotate", "profile:ap-test", "--yes", "--json")
    assert res.code == 0, res.err
    assert [r["step"] for r in res.json["results"]] == ["inspect", "create", "test", "store", "retire"]
    [entry] = activepieces.api_key_records
    assert entry["_value"] not in res.out + res.err and activepieces.api_key not in res.out + res.err
    assert activepieces.api_key not in activepieces.api_keys
    assert run_cli("platform", "projects", "list", "--json").code == 0  # the profile works with the new key
    wrong = run_cli("rotation", "rotate", f"mcp:ap-test/{DEFAULT_PROJECT}", "--own-key", "--yes")
    assert wrong.code == 2 and "--own-key is for Activepieces API keys" in wrong.err


def test_mcp_rotation_shows_the_token_once(ctx, run_cli, activepieces, ap_profile):
    ctx.close()
    res = run_cli("rotation", "rotate", f"mcp:ap-test/{DEFAULT_PROJECT}", "--yes")
    assert res.code == 0, res.err
    token = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert f"new token (shown once, not stored): {token}" in res.out
    listed = run_cli("rotation", "list", "--json")
    assert token not in listed.out
    assert run_cli("rotation", "rotate", "sm:nope", "--yes").code == 2


def test_read_only_refuses(ctx, cli_inproc, aws_conn):
    aws_conn("prod-aws")
    ctx.close()
    run_cli = cli_inproc
    res = run_cli("--read-only", "rotation", "rotate", "sm:prod-aws", "--yes")
    assert res.code == 2 and "read-only" in res.err
    assert run_cli("--read-only", "rotation", "mark", "sm:prod-aws").code == 2


def _stop_at_publish(ctx, run_cli, aws_conn, activepieces):
    """An AWS rotation stopped after the store step: the platform refused the new key at publish."""
    conn = aws_conn("prod-aws")
    activepieces.fail_connect("prod-aws", "The security token included in the request is invalid.")
    ctx.close()
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--yes", "--json")
    assert res.code == 1 and res.json["error"]["params"]["step"] == "publish", res.out
    return conn


def test_abort_after_publish_refused_needs_a_choice_without_a_terminal(ctx, run_cli, aws_conn, moto_aws,
                                                                       activepieces, ap_profile):
    conn = _stop_at_publish(ctx, run_cli, aws_conn, activepieces)
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--abort")
    assert res.code == 2 and "--restore-old or --keep-new" in res.err and res.err.count("\n") == 1, res.err
    as_json = run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--json")
    assert as_json.code == 2 and "--restore-old or --keep-new" in as_json.json["error"]["message"]
    assert len(iam_keys(moto_aws, conn.user)) == 2  # nothing guessed, nothing undone
    assert run_cli("rotation", "rotate", "sm:prod-aws", "--restore-old").code == 2  # needs --abort


def test_abort_restore_old_puts_the_old_key_back(ctx, run_cli, aws_conn, moto_aws, activepieces, ap_profile):
    conn = _stop_at_publish(ctx, run_cli, aws_conn, activepieces)
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--restore-old", "--json")
    assert res.code == 0 and res.json["ok"] is True, res.out
    assert "old credential is back in aptui" in res.json["state"]
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    assert stored_config(ctx, "prod-aws")["secretAccessKey"] == conn.secret
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}
    assert conn.secret not in res.out + res.err
    assert run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--restore-old").code == 2  # nothing left


def test_abort_keep_new_undoes_nothing(ctx, run_cli, aws_conn, moto_aws, activepieces, ap_profile):
    conn = _stop_at_publish(ctx, run_cli, aws_conn, activepieces)
    new = stored_config(ctx, "prod-aws")["accessKeyId"]
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--keep-new")
    assert res.code == 0 and "aborted" in res.out, res.err
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == new
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active", new: "Active"}


def test_abort_mode_that_does_not_apply_is_refused(ctx, run_cli, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    moto_aws.client("iam").create_access_key(UserName=conn.user)
    ctx.close()
    assert run_cli("rotation", "rotate", "sm:prod-aws", "--yes").code == 1  # stopped at inspect: before store
    res = run_cli("rotation", "rotate", "sm:prod-aws", "--abort", "--keep-new", "--json")
    assert res.code == 2 and res.json["error"]["code"] == "ROTATION_ABORT_UNAVAILABLE"
    assert run_cli("rotation", "rotate", "sm:prod-aws", "--abort").code == 0  # the only way: no choice needed
