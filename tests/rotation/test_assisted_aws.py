"""Assisted AWS access-key rotation against moto IAM: the full run, a failure at every step (the old
key stays stored and active, the message names the step and the provider state), resume, abort."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit, store_error
from aptui.services import rotation
from aptui.services.rotation import assisted
from aptui.store import rotation as store_rot
from tests.rotation.conftest import admin_user, iam_keys, stored_config


def secrets_work(moto_aws, config) -> bool:
    try:
        moto_aws.client(access_key_id=config["accessKeyId"], secret_access_key=config["secretAccessKey"]) \
            .list_secrets(MaxResults=1)
        return True
    except Exception:
        return False


async def test_full_rotation_creates_tests_stores_and_deactivates(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    asked: list[tuple[str, str]] = []
    steps: list[str] = []
    rot = await rotation.rotate(ctx, "sm:prod-aws", confirm=lambda s, t: asked.append((s, t)) or True,
                                on_step=lambda r: steps.append(r.step), test_delay=0)
    assert rot.done and steps == ["inspect", "create", "test", "store", "publish", "retire"]
    assert [s for s, _ in asked] == steps
    assert "deactivate (not delete) the old access key" in asked[-1][1]
    new = stored_config(ctx, "prod-aws")
    assert new["accessKeyId"] != conn.key_id and new["region"] == "us-east-1"
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Inactive", new["accessKeyId"]: "Active"}
    assert rot.status("publish") == "skipped"  # no Activepieces profile
    assert store_rot.staged(ctx.store, rot.run) == {}  # wiped at the end
    records = store_rot.records(ctx.store, conn.id)
    assert records[0].event == "rotated" and "assisted rotation" in records[0].note
    audit = " ".join(f"{r['action']} {r['outcome']} {r['detail']}" for r in
                     ctx.store.query("SELECT * FROM audit_log WHERE action LIKE 'rotation.%'"))
    for step in steps:
        assert f"rotation.{step}" in audit
    for value in (conn.secret, new["secretAccessKey"], new["accessKeyId"], conn.key_id):
        assert value not in audit
    item = rotation.find_item(ctx, "sm:prod-aws")
    assert item.state == "ok" and not item.pending


async def test_inspect_stops_when_the_user_already_has_two_keys(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    moto_aws.client("iam").create_access_key(UserName=conn.user)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "inspect" and "already has 2 access keys" in err.message
    assert "nothing was changed" in err.message and err.exit_code == Exit.FAILED
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    assert len(iam_keys(moto_aws, conn.user)) == 2


async def test_role_credentials_are_refused(ctx, moto_aws):
    from aptui.store import connections as store_conn

    store_conn.create(ctx.store, provider_id="aws", name="admin", config=moto_aws.config())
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:admin", test_delay=0)
    assert exc.value.step == "inspect"
    assert "IAM user" in exc.value.message or "ListAccessKeys" in exc.value.message


async def test_create_refused_leaves_everything_as_it_was(ctx, aws_conn, moto_aws):
    admin_user(moto_aws)
    conn = aws_conn("prod-aws", actions=["secretsmanager:*", "sts:*", "iam:ListAccessKeys"])
    moto_aws.enforce_auth()
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "create" and "iam:CreateAccessKey: AccessDenied" in err.message
    assert "nothing was changed: the old credential is still stored and active" in err.message
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    assert secrets_work(moto_aws, stored_config(ctx, "prod-aws"))


async def test_new_key_created_but_not_storable_is_rolled_back(ctx, aws_conn, moto_aws, monkeypatch):
    conn = aws_conn("prod-aws")
    real_save = store_rot.save_run

    def failing_save(store, run, *, staged=None, clear_staged=False):
        if staged and "newKeyId" in staged:
            raise store_error("STORE_DISK_FULL", "no space left for store; nothing was written")
        return real_save(store, run, staged=staged, clear_staged=clear_staged)

    monkeypatch.setattr(store_rot, "save_run", failing_save)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "create" and err.exit_code == Exit.STORE
    assert "created but not stored; it was deleted again; the old key is still stored and active" in err.message
    assert "AK" in err.message and conn.key_id not in err.message
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}


async def test_test_failure_keeps_the_old_key_then_resume_or_abort(ctx, aws_conn, moto_aws, monkeypatch):
    conn = aws_conn("prod-aws")
    admin_user(moto_aws)
    real_create = assisted._aws_create

    async def create_then_break(ctx_, rot, delay):
        result = await real_create(ctx_, rot, delay)
        moto_aws.enforce_auth()
        new_id = store_rot.staged(ctx_.store, rot.run)["newKeyId"]
        moto_aws.client("iam", access_key_id=conn.key_id, secret_access_key=conn.secret) \
            .update_access_key(AccessKeyId=new_id, Status="Active")
        # break the new key: moto refuses a deleted key once auth is enforced
        moto_aws.client("iam", access_key_id=conn.key_id, secret_access_key=conn.secret) \
            .delete_access_key(AccessKeyId=new_id)
        return result

    monkeypatch.setitem(assisted._HANDLERS, ("aws", "create"), create_then_break)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "test" and "SECRET_MANAGER_CONNECTION_FAILED" in err.message
    assert "was created and is staged (encrypted) but not stored; the old key is still stored and active" \
        in err.message
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    assert secrets_work(moto_aws, stored_config(ctx, "prod-aws"))
    pending = rotation.pending(ctx, "sm:prod-aws")
    assert pending is not None and pending.next_step == "test" and rotation.find_item(ctx, "sm:prod-aws").pending
    report = ctx.store.check()  # the staged new key is an encrypted field like any other
    assert report.ok and report.checked >= 2
    raw = ctx.store.query("SELECT staged FROM rotation_runs")[0]["staged"]
    assert conn.secret.encode() not in raw and b"AKIA" not in raw
    # resuming retests the same broken key: still stopped at test
    with pytest.raises(rotation.RotationStopped):
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    result = await rotation.abort(ctx, "sm:prod-aws")
    assert result["problems"] == [] or "could not delete" in result["problems"][0]
    assert rotation.pending(ctx, "sm:prod-aws") is None
    assert store_rot.staged(ctx.store, store_rot.runs(ctx.store, conn.id)[0]) == {}


async def test_store_failure_keeps_the_old_key_stored_then_resume_finishes(ctx, aws_conn, moto_aws, monkeypatch):
    from aptui.store import connections as store_conn

    conn = aws_conn("prod-aws")
    real_update = store_conn.update
    monkeypatch.setattr(store_conn, "update", lambda *a, **k: (_ for _ in ()).throw(
        store_error("STORE_LOCKED", "store is locked by another process")))
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "store" and err.exit_code == Exit.STORE
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    keys = iam_keys(moto_aws, conn.user)
    assert keys[conn.key_id] == "Active" and len(keys) == 2
    monkeypatch.setattr(store_conn, "update", real_update)
    rot = await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    assert rot.done and [r.step for r in rot.results] == ["store", "publish", "retire"]
    new = stored_config(ctx, "prod-aws")["accessKeyId"]
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Inactive", new: "Active"}


async def test_publish_updates_the_platform_before_the_old_key_is_retired(ctx, aws_conn, moto_aws, activepieces,
                                                                          ap_profile):
    conn = aws_conn("prod-aws")
    assert any(s["name"] == "prod-aws" for s in activepieces.secret_managers)  # seeded from the fixtures
    activepieces.fail_connect("prod-aws", "The security token included in the request is invalid.")
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "publish" and "SECRET_MANAGER_CONNECTION_FAILED" in err.message
    assert "aptui's store holds the tested new credential; the platform and the old credential are unchanged" \
        in err.message
    assert iam_keys(moto_aws, conn.user)[conn.key_id] == "Active"
    activepieces.sm_connect_failures.clear()
    rot = await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    assert rot.done and rot.status("publish") == "done"
    sent = activepieces.calls("POST", "/v1/secret-managers/")[-1].body
    assert sent["config"]["accessKeyId"] == stored_config(ctx, "prod-aws")["accessKeyId"]
    assert iam_keys(moto_aws, conn.user)[conn.key_id] == "Inactive"


async def test_retire_denied_says_the_old_key_is_still_active(ctx, aws_conn, moto_aws):
    admin_user(moto_aws)
    conn = aws_conn("prod-aws", actions=["secretsmanager:*", "sts:*", "iam:ListAccessKeys", "iam:CreateAccessKey"])
    moto_aws.enforce_auth()
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    err = exc.value
    assert err.step == "retire" and "iam:UpdateAccessKey: AccessDenied" in err.message
    assert "the new credential is stored; the old AK" in err.message and "is still ACTIVE" in err.message
    new = stored_config(ctx, "prod-aws")
    assert new["accessKeyId"] != conn.key_id and secrets_work(moto_aws, new)
    assert rotation.pending(ctx, "sm:prod-aws").next_step == "retire"
    result = await rotation.abort(ctx, "sm:prod-aws")  # after store: nothing is undone
    assert result["undone"] == [] and "still ACTIVE" in result["state"]


async def test_declining_a_step_pauses_and_rerun_continues(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", confirm=lambda step, text: step != "store", test_delay=0)
    assert exc.value.step == "store" and "declined by the operator" in exc.value.message
    assert stored_config(ctx, "prod-aws")["accessKeyId"] == conn.key_id
    rot = await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    assert rot.done and rot.results[0].step == "store"


async def test_interrupted_create_is_detected_and_abort_deletes_the_stray_key(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    rot = rotation.start(ctx, "sm:prod-aws")
    await rotation.advance(ctx, rot)  # inspect
    assisted.mark_step(ctx, rot, "create", assisted.STARTED, "CreateAccessKey sent")
    moto_aws.client("iam").create_access_key(UserName=conn.user)  # the call went through, then the process died
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:prod-aws", test_delay=0)
    assert "ROTATION_STRAY_KEY" in exc.value.message and "--abort" in (exc.value.hint or "")
    result = await rotation.abort(ctx, "sm:prod-aws")
    assert result["ok"] and result["undone"][0].startswith("new key AK")
    assert iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}


async def test_abort_before_store_deletes_the_new_key(ctx, aws_conn, moto_aws):
    conn = aws_conn("prod-aws")
    with pytest.raises(rotation.RotationStopped):
        await rotation.rotate(ctx, "sm:prod-aws", confirm=lambda step, text: step != "test", test_delay=0)
    assert len(iam_keys(moto_aws, conn.user)) == 2
    result = await rotation.abort(ctx, "sm:prod-aws")
    assert result["ok"] and iam_keys(moto_aws, conn.user) == {conn.key_id: "Active"}
    with pytest.raises(AptuiError) as exc:
        await rotation.abort(ctx, "sm:prod-aws")
    assert exc.value.code == "ROTATION_NOT_FOUND"


async def test_aws_secret_items_are_not_rotated_by_aptui(ctx, aws_conn):
    aws_conn("prod-aws")
    with pytest.raises(AptuiError) as exc:
        await rotation.rotate(ctx, "aws-secret:prod-aws/prod/api")
    assert exc.value.code == "ROTATION_UNSUPPORTED" and "rotation mark" in exc.value.hint


async def test_read_only_refuses_rotation(ctx, aws_conn):
    aws_conn("prod-aws")
    ctx.settings.read_only = True
    with pytest.raises(AptuiError) as exc:
        await rotation.rotate(ctx, "sm:prod-aws")
    assert exc.value.code == "READ_ONLY"
