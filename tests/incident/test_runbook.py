"""The incident runbook against moto, the Activepieces double and a scanned config tree: every step,
interrupted after each step and resumed (same final state as uninterrupted), decisions, skips,
verification failures, ownership, and exports without secret values."""

from __future__ import annotations

import itertools
import json

import pytest

from aptui.errors import AptuiError, Exit
from aptui.services import incident
from aptui.store import connections as store_conn
from aptui.store import incidents as store_inc
from tests.incident.scenario import PROJECTS
from tests.rotation.conftest import iam_keys


def final_state(ctx, inc_id, scene, moto_aws, activepieces) -> dict:
    inc = incident.get(ctx, inc_id)
    steps = inc.data["steps"]
    new_key = store_conn.auth(ctx.store, scene.connection_id)["accessKeyId"]
    retried = sorted(r["runId"] for r in activepieces.retries)
    return {
        "state": inc.state,
        "steps": {s: (steps[s]["status"], steps[s].get("outcome")) for s in incident.STEPS},
        "retried": retried,
        "retriedOnce": len(retried) == len(set(retried)),
        "outcomes": sorted((c["runId"], c["outcome"]) for c in steps["recover"]["result"]["candidates"]),
        "keys": sorted(iam_keys(moto_aws, scene.user).items(), key=lambda kv: kv[0] != new_key),
        "keyRotated": new_key != scene.key_id,
        "cacheClears": len(activepieces.cache_clears),
        "verify": steps["verify"]["result"]["connection"]["ok"],
    }


EXPECTED_STEPS = {s: ("done", "ok") for s in incident.STEPS}


async def test_full_runbook(ctx, scene, moto_aws, activepieces, yes):
    events = []
    inc = incident.start(ctx, "sm:prod-aws", scan=[str(scene.refs_dir)], title="Slack token leaked", rate=10)
    assert inc.state == "open" and incident.next_step(inc) == "scope"
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes, test_delay=0,
                                                               on_event=lambda *e: events.append(e)))
    assert done.state == "closed" and incident.exit_code(done) == Exit.OK
    state = final_state(ctx, inc.id, scene, moto_aws, activepieces)
    assert state["steps"] == EXPECTED_STEPS
    assert state["retried"] == sorted(scene.recent_runs) and state["retriedOnce"]
    assert [v for _, v in state["keys"]] == ["Active", "Inactive"] and state["keyRotated"]
    assert state["cacheClears"] == 1 and state["verify"]
    scope = done.data["steps"]["scope"]["result"]
    assert scope["connection"]["name"] == "prod-aws" and scope["connection"]["scope"] == "PLATFORM"
    assert sorted(p["id"] for p in scope["projects"]) == sorted(PROJECTS)
    assert {r["location"] for r in scope["references"]} == {"$.auth.token", "SLACK_TOKEN"}
    assert scope["knownPaths"] == ["prod/slack:token"]
    assert [a["displayName"] for a in scope["appConnections"]] == ["Slack bot"]
    flush = done.data["steps"]["flush"]["result"]
    # the rotation's store step already dropped the connection's cached values
    assert flush["local"]["cleared"] == 0 and activepieces.cache_clears == [flush["remote"]["connectionId"]]
    recover = done.data["steps"]["recover"]["result"]
    assert recover["dryRunSkipped"] == 0 and len(recover["candidates"]) == 5
    assert all(c["outcome"] == "retried" for c in recover["candidates"])
    sent = sorted(r["at"] for r in activepieces.retries)
    # at most 10 a second: sends are >= 0.1 s apart (the double stamps arrivals, so allow network jitter)
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.06
    assert sent[-1] - sent[0] >= 0.35
    timeline = store_inc.events(ctx.store, inc.id)
    assert timeline[0].action == "start" and timeline[-1].action == "close"
    assert all("@" in e.actor and e.at.endswith("Z") for e in timeline)
    actions = {(e.step, e.action) for e in timeline}
    for expected in (("scope", "projects"), ("scope", "references"), ("contain", "rotation.create"),
                     ("contain", "rotation.retire"), ("flush", "local-cache"), ("flush", "platform-cache"),
                     ("recover", "dry-run"), ("recover", "confirm"), ("verify", "connection-test")):
        assert expected in actions
    assert len(events) == len(timeline) - 1  # every saved event was reported live (except "start")


@pytest.mark.parametrize("stop_after", incident.STEPS[:-1])
async def test_interrupted_after_each_step_ends_like_an_uninterrupted_run(ctx, scene, moto_aws, activepieces, yes,
                                                                          stop_after):
    inc = incident.start(ctx, "sm:prod-aws", scan=[str(scene.refs_dir)], rate=50)
    first = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes, test_delay=0,
                                                                until=stop_after))
    assert first.state == "open"
    assert incident.next_step(first) == incident.STEPS[incident.STEPS.index(stop_after) + 1]
    ctx.close()  # a new process: nothing kept in memory
    resumed = await incident.run(ctx, None, incident.Decisions(confirm=yes, test_delay=0))
    assert resumed.id == inc.id and resumed.state == "closed"
    state = final_state(ctx, inc.id, scene, moto_aws, activepieces)
    assert state["steps"] == EXPECTED_STEPS
    assert state["retried"] == sorted(scene.recent_runs) and state["retriedOnce"]
    assert [v for _, v in state["keys"]] == ["Active", "Inactive"] and state["verify"]
    assert state["cacheClears"] == 1
    resumes = [e for e in store_inc.events(ctx.store, inc.id) if e.step == "contain" and e.action == "decision"]
    assert len(resumes) == 1


async def test_interrupted_in_the_middle_of_the_rotation(ctx, scene, moto_aws, activepieces, yes):
    inc = incident.start(ctx, "sm:prod-aws", rate=50)
    with pytest.raises(incident.IncidentStopped) as exc:
        await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", test_delay=0,
                                                            confirm=lambda step, text: step != "store"))
    assert exc.value.params["step"] == "contain" and "declined" in exc.value.message
    assert incident.get(ctx, inc.id).data["steps"]["contain"]["status"] == "waiting"
    done = await incident.run(ctx, inc.id, incident.Decisions(confirm=yes, test_delay=0))
    assert done.state == "closed"
    assert [v for _, v in final_state(ctx, inc.id, scene, moto_aws, activepieces)["keys"]] == ["Active", "Inactive"]


async def test_a_retry_sent_but_not_recorded_is_never_resent(ctx, scene, activepieces, yes):
    inc = incident.start(ctx, "sm:prod-aws", rate=50)
    await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere", confirm=lambda s, t: False,
                                                        until="flush"))
    with pytest.raises(incident.IncidentStopped):
        await incident.run(ctx, inc.id, incident.Decisions(confirm=lambda s, t: False))
    stored = incident.get(ctx, inc.id)
    candidates = stored.data["steps"]["recover"]["result"]["candidates"]
    assert len(candidates) == 5 and activepieces.retries == []
    candidates[0]["outcome"] = "sending"  # the process died right after sending this retry
    stored.data["steps"]["recover"]["result"]["approved"] = True
    store_inc.save(ctx.store, stored)
    done = await incident.run(ctx, inc.id, incident.Decisions(confirm=yes))
    outcomes = {c["runId"]: c["outcome"] for c in done.data["steps"]["recover"]["result"]["candidates"]}
    assert outcomes[candidates[0]["runId"]] == "unknown"
    assert sorted(r["runId"] for r in activepieces.retries) == sorted(set(scene.recent_runs) - {candidates[0]["runId"]})
    assert done.state == "closed" and incident.exit_code(done) == Exit.FAILED  # an unknown outcome is a problem


async def test_contain_needs_a_decision_then_rotated_elsewhere(ctx, scene, moto_aws):
    inc = incident.start(ctx, "sm:prod-aws")
    with pytest.raises(incident.IncidentStopped) as exc:
        await incident.run(ctx, inc.id, incident.Decisions())
    err = exc.value
    assert err.code == "INCIDENT_NEEDS_INPUT" and err.exit_code == Exit.USAGE and "--rotate" in err.hint
    assert incident.get(ctx, inc.id).data["steps"]["scope"]["status"] == "done"
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere", note="rotated by the AWS team",
                                                               skip={"recover": "runs handled by the flow owners"}))
    assert done.state == "closed"
    contain = done.data["steps"]["contain"]
    assert contain["result"]["mode"] == "elsewhere" and contain["result"]["rotatedAt"]
    assert done.data["steps"]["recover"]["status"] == "skipped"
    assert done.data["steps"]["recover"]["reason"] == "runs handled by the flow owners"
    assert iam_keys(moto_aws, scene.user) == {scene.key_id: "Active"}  # aptui rotated nothing
    assert done.data["steps"]["flush"]["result"]["local"]["cleared"] == 1
    from aptui.services import rotation

    assert rotation.find_item(ctx, "sm:prod-aws").notes[0].startswith("recorded: marked rotated")


async def test_recover_needs_confirmation(ctx, scene, activepieces):
    inc = incident.start(ctx, "sm:prod-aws")
    with pytest.raises(incident.IncidentStopped) as exc:
        await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere"))
    assert exc.value.code == "INCIDENT_NEEDS_INPUT" and exc.value.params["step"] == "recover"
    assert activepieces.retries == []
    assert incident.get(ctx, inc.id).data["steps"]["recover"]["status"] == "waiting"


async def test_verify_failure_keeps_the_incident_open(ctx, scene, moto_aws, yes):
    inc = incident.start(ctx, "sm:prod-aws", scan=[str(scene.refs_dir)], rate=50)
    moto_aws.client().delete_secret(SecretId="prod/slack", ForceDeleteWithoutRecovery=True)
    with pytest.raises(incident.IncidentStopped) as exc:
        await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere", confirm=yes))
    assert exc.value.code == "INCIDENT_VERIFY_FAILED" and exc.value.exit_code == Exit.FAILED
    stored = incident.get(ctx, inc.id)
    assert stored.state == "open" and stored.data["steps"]["verify"]["status"] == "failed"
    checked = stored.data["steps"]["verify"]["result"]["references"]
    assert checked and all("SECRET_MANAGER_GET_SECRET_FAILED" in c["error"] for c in checked)
    moto_aws.create_secret("prod/slack", {"token": "new"})
    done = await incident.run(ctx, inc.id, incident.Decisions(confirm=yes))
    assert done.state == "closed"


async def test_without_a_profile_the_platform_parts_are_skipped(ctx, moto_aws, activepieces, tmp_path, yes):
    from tests.incident import scenario

    scenario.build(ctx, moto_aws, activepieces, tmp_path, profile=False)
    inc = incident.start(ctx, "prod-aws")  # a bare connection name works too
    assert inc.credential_item == "sm:prod-aws"
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes, test_delay=0))
    assert done.state == "closed"
    steps = done.data["steps"]
    assert "no Activepieces profile" in steps["flush"]["result"]["remote"]["skipped"]
    assert steps["recover"]["outcome"] == "skipped" and activepieces.retries == []
    assert steps["contain"]["result"]["rotationSteps"][4]["outcome"] == "skipped"  # publish


async def test_mcp_token_incident(ctx, activepieces, yes):
    from aptui.masking import Secret
    from aptui.store import profiles as store_profiles
    from tests.incident.scenario import stamp

    store_profiles.create(ctx.store, "prod", activepieces.url, api_key=Secret(activepieces.api_key),
                          default_project=PROJECTS[0], make_default=True)
    from tests.doubles.activepieces import store_session

    store_session(ctx.store, "prod", activepieces.session_token())  # the platform's secret managers need it
    from datetime import UTC, datetime

    run = activepieces.add_run(project_id=PROJECTS[1], created=stamp(datetime.now(UTC)))
    activepieces.add_run(project_id=PROJECTS[0], created=stamp(datetime.now(UTC)))  # another project: untouched
    shown = []
    inc = incident.start(ctx, f"mcp:prod/{PROJECTS[1]}")
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes,
                                                               on_secret=lambda item, s: shown.append(s)))
    assert done.state == "closed" and len(shown) == 1
    assert shown[0].reveal() == activepieces.mcp_servers[PROJECTS[1]]["token"]
    assert [r["runId"] for r in activepieces.retries] == [run["id"]]
    assert done.data["steps"]["flush"]["outcome"] == "skipped"
    text = incident.export(ctx, inc.id, "json") + incident.export(ctx, inc.id, "md")
    assert shown[0].reveal() not in text


async def test_only_one_process_works_on_an_incident(ctx, scene):
    inc = incident.start(ctx, "sm:prod-aws")
    store_inc.try_claim(ctx.store, inc.id, {"pid": 1, "host": __import__("socket").gethostname()}, lambda o: True)
    with pytest.raises(AptuiError) as exc:
        await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere"))
    assert exc.value.code == "INCIDENT_BUSY" and exc.value.exit_code == Exit.USAGE
    dead = {"pid": 2 ** 22 + 17, "host": __import__("socket").gethostname()}  # no such pid: taken over
    with ctx.store.transaction() as db:
        data = incident.get(ctx, inc.id).data
        data["owner"] = dead
        db.execute("UPDATE incidents SET data = ? WHERE id = ?", (json.dumps(data), inc.id))
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="elsewhere", skip={"recover": "later"}))
    assert done.state == "closed" and "owner" not in incident.get(ctx, inc.id).data


async def test_export_has_the_timeline_and_no_secret_values(ctx, scene, moto_aws, activepieces, yes):
    inc = incident.start(ctx, "sm:prod-aws", scan=[str(scene.refs_dir)], rate=50)
    await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes, test_delay=0))
    new = store_conn.auth(ctx.store, scene.connection_id)
    md = incident.export(ctx, inc.id, "md")
    doc = json.loads(incident.export(ctx, inc.id, "json"))
    for canary in [*scene.canaries(), new["secretAccessKey"], new["accessKeyId"], scene.key_id,
                   activepieces.api_key]:
        assert canary not in md and canary not in json.dumps(doc)
    assert md.startswith(f"# Incident {inc.id}: Compromised credential sm:prod-aws")
    assert "| scope | done | ok |" in md and "## Flow runs retried" in md and "## Timeline" in md
    assert doc["state"] == "closed" and len(doc["timeline"]) > 20
    assert {e["step"] for e in doc["timeline"]} >= set(incident.STEPS)
    with pytest.raises(AptuiError):
        incident.export(ctx, inc.id, "pdf")


def test_start_validates_its_input(ctx, scene, tmp_path):
    for kwargs in ({"since": "yesterday-ish"}, {"scan": [str(tmp_path / "missing")]}, {"rate": 0},
                   {"strategy": "AGAIN"}, {"max_runs": 0}, {"title": "a\nb"}):
        with pytest.raises(AptuiError) as exc:
            incident.start(ctx, "sm:prod-aws", **kwargs)
        assert exc.value.exit_code == Exit.USAGE
    with pytest.raises(AptuiError) as exc:
        incident.start(ctx, "sm:missing")
    assert exc.value.exit_code == Exit.USAGE
    with pytest.raises(AptuiError):
        incident.resolve(ctx, None)
    inc = incident.start(ctx, "sm:prod-aws", since="2h")
    assert incident.resolve(ctx, inc.id[:6]).id == inc.id
    incident.skip(ctx, inc.id, "flush", "nothing cached")
    with pytest.raises(AptuiError):
        incident.skip(ctx, inc.id, "flush", "again")
    with pytest.raises(AptuiError):
        incident.skip(ctx, inc.id, "nope", "x")


async def test_scan_names_files_over_the_document_limits(ctx, scene, moto_aws, activepieces, yes):
    from tests.hostile.test_documents import BOMB

    (scene.refs_dir / "bomb.yaml").write_text(BOMB)
    inc = incident.start(ctx, "sm:prod-aws", scan=[str(scene.refs_dir)], rate=50)
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=yes, test_delay=0))
    scope = done.data["steps"]["scope"]["result"]
    assert {r["location"] for r in scope["references"]} == {"$.auth.token", "SLACK_TOKEN"}  # the rest was read
    refs = [e for e in store_inc.events(ctx.store, inc.id) if e.step == "scope" and e.action == "references"]
    assert refs and refs[0].outcome == "partial" and "bomb.yaml" in refs[0].detail and "refused" in refs[0].detail
