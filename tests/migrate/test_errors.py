"""Every error a user can hit in `aptui migrate`: one line, a code, the right exit, nothing lost."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.migrate.helpers import add_connection, make_sources


@pytest.fixture
def setup(ctx, moto_aws, tmp_path):
    conn = add_connection(ctx, "aws", moto_aws.config())
    src = make_sources(tmp_path / "deploy")
    ctx.close()
    return conn, src


def _plan(run_cli, conn, src, tmp_path):
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", str(src.json_file), "--to", conn.name, "--out", str(plan))
    assert r.code == 0, r.err
    return plan


@pytest.mark.parametrize("args,code,text,exit_code", [
    (("migrate", "plan", "--to", "target"), "VALIDATION", "at least one SOURCE", 2),
    (("migrate", "plan", "x.json", "--to", "nope"), "ENTITY_NOT_FOUND", "nope", 1),  # as `sm show nope`
    (("migrate", "plan", "--app-connection", "e1", "--to", "target"), "VALIDATION", "--project and --secret", 2),
    (("migrate", "apply", "missing-plan.json", "--yes"), "MIGRATE_PLAN_INVALID", "cannot read the plan", 2),
    (("migrate", "rollback", "missing-plan.json", "--yes"), "MIGRATE_PLAN_INVALID", "cannot read the plan", 2),
])
def test_bad_usage(run_cli, setup, tmp_path, args, code, text, exit_code):
    r = run_cli(*args, "--json")
    assert r.code == exit_code, r.out
    err = r.json["error"]
    assert err["code"] == code and text in err["message"] + (err.get("hint") or "")


def test_sources_that_cannot_be_planned(run_cli, setup, tmp_path):
    conn, src = setup
    env = tmp_path / ".env"
    env.write_text("TOKEN=ghp_" + "a" * 36 + "\n")
    r = run_cli("migrate", "plan", str(env), "--to", conn.name)
    assert r.code == 2 and "MIGRATE_SOURCE_INVALID" in r.err and "ghp_" not in r.err
    bad = tmp_path / "bad.json"
    bad.write_text('{"token": "' + src.values["github"] + '",\n')
    r = run_cli("migrate", "plan", str(bad), "--to", conn.name)
    assert r.code == 2 and "not valid JSON (line" in r.err and src.values["github"] not in r.err
    r = run_cli("migrate", "plan", str(tmp_path / "none.yaml"), "--to", conn.name)
    assert r.code == 2 and "cannot read" in r.err
    r = run_cli("migrate", "plan", str(src.json_file), "--to", conn.name, "--secret", "arn:aws:x")
    assert r.code == 2 and "MIGRATE_PLAN_INVALID" in r.err and "would not resolve" in r.err


def test_not_a_plan_and_a_plan_from_another_store(run_cli, setup, tmp_path, aptui_home):
    conn, src = setup
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kind": "something-else"}))
    r = run_cli("migrate", "apply", str(other), "--yes")
    assert r.code == 2 and "is not an aptui migration plan" in r.err
    plan = _plan(run_cli, conn, src, tmp_path)
    doc = json.loads(plan.read_text())
    doc["keyId"] = "000000000000"
    plan.write_text(json.dumps(doc))
    r = run_cli("migrate", "apply", str(plan), "--yes")
    assert r.code == 2 and "another aptui store" in r.err


def test_confirmation_is_required_without_a_terminal(run_cli, setup, tmp_path):
    conn, src = setup
    plan = _plan(run_cli, conn, src, tmp_path)
    before = src.json_file.read_bytes()
    r = run_cli("migrate", "apply", str(plan))
    assert r.code == 2 and "needs confirmation" in r.err and "--yes" in r.err
    assert src.json_file.read_bytes() == before


def test_rollback_and_status_before_apply_and_read_only(run_cli, setup, tmp_path):
    conn, src = setup
    plan = _plan(run_cli, conn, src, tmp_path)
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--json")
    assert r.code == 2 and r.json["error"]["code"] == "ENTITY_NOT_FOUND"
    r = run_cli("migrate", "status", str(plan), "--json")
    assert r.code == 2 and r.json["error"]["code"] == "ENTITY_NOT_FOUND"
    r = run_cli("--read-only", "migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 2 and r.json["error"]["code"] == "READ_ONLY"


def test_rollback_refuses_a_file_changed_after_the_rewrite_unless_forced(run_cli, setup, tmp_path):
    conn, src = setup
    before = src.json_file.read_bytes()
    plan = _plan(run_cli, conn, src, tmp_path)
    assert run_cli("migrate", "apply", str(plan), "--yes").code == 0
    src.json_file.write_text(src.json_file.read_text() + " ")
    r = run_cli("migrate", "rollback", str(plan), "--yes")
    assert r.code == 1 and "MIGRATE_SOURCE_CHANGED" in r.err and "--force" in r.err
    assert run_cli("migrate", "rollback", str(plan), "--yes", "--force").code == 0
    assert src.json_file.read_bytes() == before
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--json")
    assert r.code == 0 and r.json["note"] == "already rolled back"


def test_an_edited_plan_after_apply_started_is_refused(run_cli, setup, tmp_path):
    conn, src = setup
    plan = _plan(run_cli, conn, src, tmp_path)
    assert run_cli("migrate", "apply", str(plan), "--yes").code == 0
    doc = json.loads(plan.read_text())
    doc["items"][0]["skip"] = True
    plan.write_text(json.dumps(doc))
    r = run_cli("migrate", "apply", str(plan), "--yes")
    assert r.code == 2 and "MIGRATE_PLAN_CHANGED" in r.err


def test_a_second_apply_while_one_runs_is_refused(run_cli, setup, tmp_path, aptui_home):
    conn, src = setup
    plan = _plan(run_cli, conn, src, tmp_path)
    env = {**os.environ, "APTUI_HOME": str(aptui_home)}
    # the first apply waits at its confirmation prompt (a terminal is needed: use a pty)
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(sys.executable, [sys.executable, "-m", "aptui", "migrate", "apply", str(plan)], env)
    try:
        out = b""
        while b"?" not in out:
            out += os.read(fd, 1024)
        r = run_cli("migrate", "apply", str(plan), "--yes")
        assert r.code == 2 and "MIGRATE_BUSY" in r.err
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)

