"""Platform use cases: sessions, upsert, MCP rotation, remote cache, run retries, sync."""

from __future__ import annotations

import asyncio
import time

import pytest

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services import platform, sync
from aptui.store import connections as store_connections
from tests.doubles.activepieces import DEFAULT_PROJECT, SECOND_PROJECT, validate_body


@pytest.fixture
async def closing(ctx):
    yield ctx
    await platform.aclose(ctx)


async def test_session_is_reused_per_loop_and_profile(closing, ap_profile):
    a = await platform.session(closing)
    b = await platform.session(closing, "ap-test")
    assert a is b
    await platform.aclose(closing)
    assert a.client.closed
    c = await platform.session(closing)
    assert c is not a


async def test_project_defaults_to_the_profile(closing, ap_profile, activepieces):
    rows = [c async for c in platform.iter_app_connections(closing)]
    assert len(rows) == 3
    with closing.store.transaction() as conn:
        conn.execute("UPDATE profiles SET default_project = NULL")
    await platform.aclose(closing)
    with pytest.raises(AptuiError) as exc:
        _ = [c async for c in platform.iter_app_connections(closing)]
    assert exc.value.code == "PROJECT_REQUIRED" and exc.value.exit_code == Exit.USAGE


async def test_tenant_filter_is_client_side(closing, ap_profile, activepieces):
    activepieces.seed_connections(50)
    rows = [c async for c in platform.iter_app_connections(closing, tenant="3", page_size=7)]
    assert len(rows) == 10 and all(r["metadata"]["tenantId"] == "3" for r in rows)
    assert "tenantId" not in activepieces.calls("GET", "/v1/app-connections")[0].query


async def test_upsert_audits_without_the_value(closing, ap_profile, activepieces):
    value = Secret("xoxb-the-slack-token-1234")
    result = await platform.upsert_app_connection(
        closing, external_id="slack-main", display_name="Slack", piece_name="@activepieces/piece-slack", value=value,
        metadata={"team": "ops"})
    assert result["externalId"] == "slack-main" and "value" not in result
    validate_body("UpsertAppConnectionRequestBody", activepieces.calls("POST", "/v1/app-connections")[0].body)
    audit = repr(closing.store.query("SELECT * FROM audit_log"))
    assert "platform.connection.upsert" in audit and value.reveal() not in audit


async def test_upsert_rejects_empty_fields(closing, ap_profile, activepieces):
    with pytest.raises(AptuiError) as exc:
        await platform.upsert_app_connection(closing, external_id=" ", display_name="x", piece_name="p",
                                             value=Secret("v-123456"))
    assert exc.value.exit_code == Exit.USAGE
    assert activepieces.requests == []


def test_is_reference():
    assert platform.is_reference(Secret(" {{abc|ap_sep_v1|path}} "))
    assert not platform.is_reference(Secret("Bearer {{abc|ap_sep_v1|path}}"))
    assert not platform.is_reference(Secret("plain"))


async def test_rotate_returns_the_token_once_and_never_records_it(closing, ap_profile, activepieces):
    rotated = await platform.rotate_mcp_token(closing)
    token = rotated.token.reveal()
    assert token == activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert token not in repr(rotated) and token not in repr(rotated.to_dict())
    shown = await platform.mcp_show(closing)
    assert "token" not in shown[0]
    dump = repr(closing.store.query("SELECT * FROM audit_log")) + repr(closing.store.query("SELECT * FROM profiles"))
    assert "platform.mcp.rotate" in dump and token not in dump


async def test_mcp_list_all_projects_and_update_edits(closing, ap_profile, activepieces):
    servers = await platform.mcp_servers(closing)
    assert {s["projectId"] for s in servers} == {DEFAULT_PROJECT, SECOND_PROJECT}
    assert all("token" not in s for s in servers)
    updated = await platform.mcp_update(closing, disable=["ap_add_step"], enable=["ap_delete_step"])
    assert updated["disabledTools"] == ["ap_add_step"]
    with pytest.raises(AptuiError) as exc:
        await platform.mcp_update(closing)
    assert exc.value.exit_code == Exit.USAGE


async def test_mcp_list_keeps_going_when_one_project_fails(closing, ap_profile, activepieces):
    activepieces.fault(f"/v1/projects/{SECOND_PROJECT}/mcp-server", status=403, body={"code": "PERMISSION_DENIED",
                                                                    "params": {"message": "no access"}})
    servers = await platform.mcp_servers(closing)
    failed = [s for s in servers if "error" in s]
    assert len(failed) == 1 and failed[0]["error"]["code"] == "PERMISSION_DENIED"


async def test_clear_remote_cache(closing, ap_profile, activepieces):
    assert (await platform.clear_remote_cache(closing))["scope"] == "platform"
    assert (await platform.clear_remote_cache(closing, connection_id="smcAws0000000000001ab"))["scope"] == "connection"
    assert activepieces.cache_clears == [None, "smcAws0000000000001ab"]
    activepieces.platform_admin = False
    with pytest.raises(AptuiError) as exc:
        await platform.clear_remote_cache(closing)
    assert exc.value.code == "PERMISSION_DENIED"
    rows = closing.store.query("SELECT * FROM audit_log WHERE action = 'platform.cache.clear'")
    outcomes = [r["outcome"] for r in rows]
    assert outcomes == ["ok", "ok", "failed"]


async def test_remote_secret_manager_validation_before_request(closing, ap_profile, activepieces):
    with pytest.raises(AptuiError) as exc:
        await platform.create_remote_secret_manager(closing, provider_id="aws", name="x", scope="PROJECT",
                                                    config={"accessKeyId": "a", "secretAccessKey": "b", "region": "c"})
    assert exc.value.message == "Please select at least one project"
    with pytest.raises(AptuiError) as exc:
        await platform.create_remote_secret_manager(closing, provider_id="aws", name="x", config={"region": "c"})
    assert "missing field" in exc.value.message
    assert activepieces.requests == []


async def test_remote_secret_manager_crud(closing, ap_profile, activepieces):
    created = await platform.create_remote_secret_manager(
        closing, provider_id="onepassword", name="op", config={"serviceAccountToken": Secret("ops_abcdef123456")})
    assert activepieces.sm_configs[created["id"]] == {"serviceAccountToken": "ops_abcdef123456"}
    await platform.update_remote_secret_manager(closing, connection_id=created["id"], provider_id="onepassword",
                                                name="op2", config={"serviceAccountToken": "ops_new_987654"})
    await platform.delete_remote_secret_manager(closing, connection_id=created["id"])
    audit = repr(closing.store.query("SELECT * FROM audit_log"))
    assert "ops_abcdef123456" not in audit and "ops_new_987654" not in audit


# -- run retries ------------------------------------------------------------------------------------


async def test_retry_dry_run_lists_and_changes_nothing(closing, ap_profile, activepieces):
    report = await platform.retry_runs(closing, dry_run=True, status=["FAILED", "TIMEOUT"])
    assert [o.outcome for o in report.outcomes] == ["would-retry", "would-retry"]
    assert activepieces.retries == [] and not activepieces.calls("POST")
    assert report.ok


async def test_retry_rate_limit_and_outcomes(closing, ap_profile, activepieces, monkeypatch):
    for _ in range(4):
        activepieces.add_run(status="FAILED")
    progress = []
    # An injected clock: time moves only when the pacing sleeps, so the test measures the pacing itself.
    now, slept = [1000.0], []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    class Clock:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def monotonic() -> float:
            return now[0]

    class Loop:
        def __getattr__(self, name):
            return getattr(asyncio, name)

        sleep = staticmethod(fake_sleep)

    monkeypatch.setattr(platform, "time", Clock())
    monkeypatch.setattr(platform, "asyncio", Loop())
    report = await platform.retry_runs(closing, rate_per_second=10, strategy="ON_LATEST_VERSION", bulk=False,
                                       on_progress=lambda d, t, o: progress.append((d, t, o.outcome)))
    assert report.summary() == {"retried": 5} and report.ok
    assert [p[0] for p in progress] == [1, 2, 3, 4, 5] and progress[0][1] == 5
    assert len(slept) == 4 and all(abs(d - 0.1) < 1e-9 for d in slept)  # 10/s: 0.1 s between retries
    assert len(activepieces.retries) == 5
    assert {r["strategy"] for r in activepieces.retries} == {"ON_LATEST_VERSION"}


async def test_half_done_batch_reports_each_run(closing, ap_profile, activepieces):
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(4)]
    activepieces.fault(f"/v1/flow-runs/{ids[1]}/retry", status=409,
                       body={"code": "FLOW_RUN_RETRY_OUTSIDE_RETENTION", "params": {"message": "too old"}})
    activepieces.fault(f"/v1/flow-runs/{ids[2]}/retry", reset=True)
    report = await platform.retry_runs(closing, run_ids=ids, rate_per_second=0, bulk=False)
    by_id = {o.run_id: o for o in report.outcomes}
    assert by_id[ids[0]].outcome == "retried" and by_id[ids[3]].outcome == "retried"
    assert by_id[ids[1]].outcome == "failed" and by_id[ids[1]].code == "FLOW_RUN_RETRY_OUTSIDE_RETENTION"
    assert by_id[ids[2]].outcome == "unknown" and by_id[ids[2]].code == "PLATFORM_OUTCOME_UNKNOWN"
    assert len(activepieces.calls("POST", f"/v1/flow-runs/{ids[2]}")) == 1  # never resent
    assert not report.ok and platform.retry_exit_code(report) == Exit.FAILED
    row = closing.store.query("SELECT * FROM audit_log WHERE action = 'platform.runs.retry'")[0]
    assert row["outcome"] == "partial" and "unknown=1" in row["detail"]


async def test_bad_key_stops_the_batch(closing, ap_profile, activepieces):
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(3)]
    activepieces.fault("/v1/flow-runs/.*/retry", status=401, times=None)
    report = await platform.retry_runs(closing, run_ids=ids, rate_per_second=0, bulk=False)
    assert [o.outcome for o in report.outcomes] == ["failed", "not-attempted", "not-attempted"]
    assert len(activepieces.calls("POST", "/v1/flow-runs")) == 1


async def test_bulk_retry_sends_explicit_ids_in_chunks(closing, ap_profile, activepieces):
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(5)]
    activepieces.add_run(status="FAILED")  # not chosen: must not be retried
    missing = "runMissing00000000000"
    report = await platform.retry_runs(closing, run_ids=[*ids, missing], rate_per_second=0, chunk_size=2)
    bodies = [r.body for r in activepieces.calls("POST", "/v1/flow-runs/retry")]
    assert [b["flowRunIds"] for b in bodies] == [ids[:2], ids[2:4], [ids[4], missing]]
    assert all(set(b) == {"projectId", "strategy", "flowRunIds"} for b in bodies)
    assert {r["runId"] for r in activepieces.retries} == set(ids)
    by_id = {o.run_id: o for o in report.outcomes}
    assert all(by_id[i].outcome == "retried" and by_id[i].new_status == "QUEUED" for i in ids)
    assert by_id[missing].outcome == "failed" and by_id[missing].code == "NOT_RETRIED"
    assert not activepieces.calls("POST", f"/v1/flow-runs/{ids[0]}")


async def test_bulk_retry_chunk_without_answer_is_unknown_and_never_resent(closing, ap_profile, activepieces):
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(4)]
    activepieces.fault("/v1/flow-runs/retry", method="POST", reset=True)
    report = await platform.retry_runs(closing, run_ids=ids, rate_per_second=0, chunk_size=2)
    assert [o.outcome for o in report.outcomes] == ["unknown", "unknown", "retried", "retried"]
    assert len(activepieces.calls("POST", "/v1/flow-runs/retry")) == 2  # the lost chunk was not resent
    assert not activepieces.calls("POST", f"/v1/flow-runs/{ids[0]}/retry")


async def test_bulk_retry_falls_back_to_single_runs_on_an_older_server(closing, ap_profile, activepieces):
    activepieces.bulk_retry_route = False
    ids = [activepieces.add_run(status="FAILED")["id"] for _ in range(3)]
    report = await platform.retry_runs(closing, run_ids=ids, rate_per_second=0)
    assert report.summary() == {"retried": 3}
    assert len(activepieces.calls("POST", "/v1/flow-runs/retry")) == 1  # the 404, then one by one
    assert [r.path for r in activepieces.calls("POST", "/v1/flow-runs/")][1:] == [
        f"/v1/flow-runs/{i}/retry" for i in ids]


async def test_non_terminal_runs_are_skipped(closing, ap_profile, activepieces):
    activepieces.add_run(status="RUNNING")
    report = await platform.retry_runs(closing, status=["RUNNING", "FAILED"])
    assert sorted(o.outcome for o in report.outcomes) == ["retried", "skipped"]


async def test_retry_argument_checks(closing, ap_profile, activepieces):
    with pytest.raises(AptuiError):
        await platform.retry_runs(closing, strategy="TWICE")
    closing.settings.read_only = True
    with pytest.raises(AptuiError) as exc:
        await platform.retry_runs(closing)
    assert exc.value.code == "READ_ONLY"
    assert activepieces.requests == []


async def test_pieces_private_only(closing, ap_profile):
    rows = await platform.list_pieces(closing, private_only=True)
    assert {p["name"] for p in rows} == {"ever-gauzy", "@acme/piece-ledger"}


async def test_server_info(closing, ap_profile):
    info = await platform.server_info(closing)
    assert info["server_version"] == "0.71.2" and info["edition"] == "ee"


# -- sync ----------------------------------------------------------------------------------------


def _local(ctx, name, provider="aws", scope="PLATFORM", projects=None, config=None):
    config = config or {"accessKeyId": "AKIA0000LOCAL", "secretAccessKey": "local-secret-key-123",
                        "region": "eu-west-1"}
    return store_connections.create(ctx.store, provider_id=provider, name=name, config=config, scope=scope,
                                    project_ids=projects)


async def test_sync_plan_and_push(closing, ap_profile, activepieces):
    _local(closing, "prod-aws")  # same as the platform's
    _local(closing, "vault-finance", provider="hashicorp", scope="PROJECT", projects=[DEFAULT_PROJECT],
           config={"url": "https://vault:8200", "roleId": "role-1", "secretId": "vault-secret-id-1"})
    _local(closing, "new-aws")
    plan = await sync.plan_sync(closing)
    changes = {i.name: i.change for i in plan.items}
    assert changes == {"prod-aws": "same", "vault-finance": "update", "new-aws": "create"}
    vault = next(i for i in plan.items if i.name == "vault-finance")
    assert vault.differences == [f"projects {SECOND_PROJECT} → {DEFAULT_PROJECT}"]
    assert not plan.in_sync
    pushed = await sync.push_sync(closing, plan)
    assert pushed.ok and {i.outcome for i in pushed.changes} == {"created", "updated"}
    new = next(s for s in activepieces.secret_managers if s["name"] == "new-aws")
    assert activepieces.sm_configs[new["id"]]["secretAccessKey"] == "local-secret-key-123"
    for req in activepieces.calls("POST", "/v1/secret-managers"):
        validate_body("ConnectSecretManagerRequestSchema", req.body)
    again = await sync.plan_sync(closing)
    assert again.in_sync and again.summary()["same"] == 3
    assert "local-secret-key-123" not in repr(closing.store.query("SELECT * FROM audit_log"))
    assert "local-secret-key-123" not in repr(plan.to_dict())


async def test_sync_extra_and_failures(closing, ap_profile, activepieces):
    _local(closing, "bad-aws")
    activepieces.fail_connect("bad-aws", "The security token included in the request is invalid")
    plan = await sync.plan_sync(closing)
    assert {i.change for i in plan.items} == {"create", "extra"}
    assert len(plan.by_change("extra")) == 2
    pushed = await sync.push_sync(closing, plan)
    item = pushed.by_change("create")[0]
    assert item.outcome == "failed" and item.error["code"] == "SECRET_MANAGER_CONNECTION_FAILED"
    assert not pushed.ok and sync.exit_code(pushed) == Exit.FAILED
    assert len(activepieces.secret_managers) == 2  # extras untouched, nothing saved


async def test_sync_resend_credentials(closing, ap_profile, activepieces):
    _local(closing, "prod-aws")
    plan = await sync.plan_sync(closing, resend_credentials=True)
    assert [i.change for i in plan.items if i.name == "prod-aws"] == ["update"]


async def test_sync_and_remote_secret_managers_need_the_session(closing, ap_key_profile, activepieces):
    _local(closing, "new-aws")
    with pytest.raises(AptuiError) as exc:
        await sync.plan_sync(closing, "ap-key")
    assert exc.value.code == "USER_SESSION_REQUIRED" and exc.value.exit_code == Exit.USAGE
    assert exc.value.message == ("the platform's secret managers need a signed-in platform user "
                                 "(aptui profile login ap-key)")
    for call in (platform.list_remote_secret_managers(closing, "ap-key"),
                 platform.delete_remote_secret_manager(closing, "ap-key", connection_id="smcAws0000000000001ab")):
        with pytest.raises(AptuiError) as exc:
            await call
        assert exc.value.code == "USER_SESSION_REQUIRED"
    assert not activepieces.calls(None, "/v1/secret-managers")  # nothing was sent
    assert (await platform.clear_remote_cache(closing, "ap-key"))["ok"]  # the cache flush takes the key
    assert activepieces.principals[-1] == ("DELETE", "/v1/secret-managers/cache", "SERVICE")


async def test_session_only_profile_does_everything_but_prefers_nothing(closing, ap_session_profile, activepieces):
    plan = await sync.plan_sync(closing, "ap-user")
    assert plan.items
    assert (await platform.clear_remote_cache(closing, "ap-user"))["ok"]
    assert await platform.list_projects(closing, "ap-user")
    assert {p for _, _, p in activepieces.principals} == {"USER"}
