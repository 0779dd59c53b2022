"""`aptui incident` as real subprocesses: the whole runbook, decisions by flags, exit codes, list/show/
skip/export, and a process killed with SIGKILL in the middle of the retries, then resumed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from tests.incident.scenario import PROJECTS


def test_full_runbook_from_the_cli(ctx, run_cli, scene, activepieces):
    ctx.close()
    res = run_cli("incident", "start", "--credential", "sm:prod-aws", "--scan", str(scene.refs_dir), "--rotate",
                  "--yes", "--rate", "50", "--json")
    assert res.code == 0, res.err
    doc = res.json
    assert doc["ok"] and doc["state"] == "closed" and doc["nextStep"] is None
    assert all(v == "done" for v in doc["stepStatus"].values())
    assert sorted(r["runId"] for r in activepieces.retries) == sorted(scene.recent_runs)
    for canary in scene.canaries():
        assert canary not in res.out + res.err
    text = run_cli("incident", "show", doc["id"])
    assert text.code == 0 and "rotation.retire" in text.out and "platform-cache" in text.out


def test_leaked_platform_api_key_runbook(ctx, run_cli, scene, activepieces):
    """A leaked Activepieces API key: the platform issues a new one, the leaked one is revoked, and the
    rest of the runbook (flush, recover, verify) runs with the new key."""
    leaked = activepieces.api_key
    ctx.close()
    res = run_cli("incident", "start", "--credential", "profile:prod", "--rotate", "--yes", "--rate", "50",
                  "--json")
    assert res.code == 0, res.err
    assert res.json["state"] == "closed" and res.json["stepStatus"]["contain"] == "done"
    assert leaked not in activepieces.api_keys and len(activepieces.api_key_records) == 1
    new_key = activepieces.api_key_records[0]["_value"]
    assert new_key not in res.out + res.err and leaked not in res.out + res.err
    retries = [r for r in activepieces.requests if r.method == "POST" and r.path.endswith("/retry")]
    assert retries and all(r.authorization == f"Bearer {new_key}" for r in retries)
    shown = run_cli("incident", "show", res.json["id"])
    assert "rotation.retire" in shown.out and "revoked" in shown.out


def test_leaked_api_key_replaced_by_one_the_operator_made(ctx, run_cli, scene, activepieces):
    made = activepieces.issue_api_key("made in the admin console")["_value"]
    ctx.close()
    res = run_cli("incident", "start", "--credential", "profile:prod", "--rotate", "--yes", "--rate", "50",
                  "--secret-env", "NEW_KEY", "--json", env={"NEW_KEY": made})
    assert res.code == 0, res.err
    assert not activepieces.calls("POST", "/v1/api-keys")  # the given key, not a platform-issued one
    assert [r["_value"] for r in activepieces.api_key_records] == [made]  # the leaked key was revoked
    assert made not in res.out + res.err


def test_decisions_by_flags_and_exit_codes(ctx, run_cli, cli_inproc, scene, activepieces):
    ctx.close()
    first = run_cli("incident", "start", "--credential", "sm:prod-aws", "--rate", "50")
    assert first.code == 2 and "INCIDENT_NEEDS_INPUT" in first.err and "--rotate" in first.err
    assert "[scope]" in first.out and "opened for sm:prod-aws" in first.out
    listed = run_cli("incident", "list", "--json")
    inc_id = listed.json["incidents"][0]["id"]
    assert listed.json["incidents"][0]["nextStep"] == "contain"
    needs_yes = run_cli("incident", "resume", "--rotated-elsewhere", "--note", "rotated by the AWS team")
    assert needs_yes.code == 2 and "needs confirmation" in needs_yes.err  # the retries
    assert activepieces.retries == []
    done = run_cli("incident", "resume", inc_id[:8], "--yes", "--json")
    assert done.code == 0, done.err
    assert done.json["state"] == "closed"
    assert cli_inproc("incident", "resume", inc_id).code == 2  # closed
    assert cli_inproc("incident", "resume").code == 2  # no open incident left


def test_until_skip_and_export(ctx, run_cli, cli_inproc, scene, tmp_path):
    ctx.close()
    res = run_cli("incident", "start", "--credential", "sm:prod-aws", "--until", "scope", "--json")
    assert res.code == 0 and res.json["state"] == "open" and res.json["nextStep"] == "contain"
    inc_id = res.json["id"]
    skipped = cli_inproc("incident", "skip", inc_id, "recover", "--reason", "flow owners rerun them")
    assert skipped.code == 0
    assert cli_inproc("incident", "skip", inc_id, "recover", "--reason", "again").code == 2
    res = run_cli("incident", "resume", "--rotated-elsewhere", "--skip", "flush=platform cache cleared by hand")
    assert res.code == 0, res.err
    assert "closed" in res.out
    out = tmp_path / "postmortem.md"
    exported = run_cli("incident", "export", inc_id, "--format", "md", "--output", str(out))
    assert exported.code == 0 and out.exists() and stat.S_IMODE(out.stat().st_mode) == 0o600
    md = out.read_text()
    assert "flow owners rerun them" in md and "platform cache cleared by hand" in md
    assert cli_inproc("incident", "export", inc_id, "--output", str(out)).code == 2  # exists
    assert cli_inproc("incident", "export", inc_id, "--output", str(out), "--force").code == 0
    as_json = cli_inproc("incident", "export", inc_id, "--format", "json")
    assert as_json.code == 0 and json.loads(as_json.out)["id"] == inc_id
    for canary in scene.canaries():
        assert canary not in md and canary not in as_json.out


def test_bad_input_exits_2(ctx, cli_inproc, scene):
    ctx.close()
    run_cli = cli_inproc
    for args in (("--credential", "sm:nope"), ("--credential", "sm:prod-aws", "--skip", "everything"),
                 ("--credential", "sm:prod-aws", "--since", "whenever"),
                 ("--credential", "sm:prod-aws", "--status", "RUNNING"),
                 ("--credential", "sm:prod-aws", "--rotate", "--rotated-at", "2026-11-26")):
        res = run_cli("incident", "start", *args)
        assert res.code == 2, (args, res.err)
    assert run_cli("incident", "show", "nope").code == 2
    assert run_cli("incident", "export", "nope").code == 2


def test_sigkill_during_the_retries_then_resume_never_retries_twice(ctx, aptui_home, run_cli, scene, activepieces):
    ctx.close()
    activepieces.fault(r"/v1/flow-runs/[^/]+/retry", method="POST", delay=0.5, times=None)
    env = {**os.environ, "APTUI_HOME": str(aptui_home)}
    proc = subprocess.Popen([sys.executable, "-m", "aptui", "incident", "start", "--credential", "sm:prod-aws",
                             "--rotated-elsewhere", "--yes", "--rate", "50", "--json"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(activepieces.calls("POST", "/v1/flow-runs/")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the runbook ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.7)  # let the double finish the retry that was in flight
    activepieces.clear_faults()
    res = run_cli("incident", "resume", "--yes", "--json")
    assert res.code in (0, 1), res.err  # 1 when the in-flight retry's outcome is unknown
    doc = res.json
    assert doc["state"] == "closed"
    retried = [r["runId"] for r in activepieces.retries]
    assert len(retried) == len(set(retried)), "a run was retried twice"
    outcomes = {c["runId"]: c["outcome"] for c in doc["steps"]["recover"]["result"]["candidates"]}
    assert set(outcomes) == set(scene.recent_runs)
    assert all(o in ("retried", "unknown") for o in outcomes.values())
    unknown = [r for r, o in outcomes.items() if o == "unknown"]
    assert len(unknown) <= 1 and res.code == (1 if unknown else 0)
    assert {r for r, o in outcomes.items() if o == "retried"} <= set(retried) <= set(scene.recent_runs)
    assert any(e["action"] == "resume" for e in doc["timeline"])
    assert {r["projectId"] for r in activepieces.retries} <= set(PROJECTS)
