"""Prompted rotations (Conjur, 1Password through the fake provider; a profile's API key against the
Activepieces double) and MCP token rotation through the platform API (token returned once)."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError
from aptui.masking import Secret
from aptui.services import rotation
from aptui.services.rotation import items as rot_items
from aptui.store import connections as store_conn
from aptui.store import profiles as store_profiles
from aptui.store import rotation as store_rot
from tests.doubles.activepieces import DEFAULT_PROJECT

CONJUR = {"organizationAccountName": "acme", "loginId": "host/ci", "url": "https://conjur.local",
          "apiKey": "old-conjur-key-0001"}
NEW_KEY = "new-conjur-key-0002-canary"


async def test_conjur_prompted_rotation_tests_before_storing(ctx, fake_provider):
    conn = store_conn.create(ctx.store, provider_id="cyberark-conjur", name="conjur", config=CONJUR)
    fake_provider.required_config = {"apiKey": NEW_KEY}
    rot = await rotation.rotate(ctx, "sm:conjur", new_secret=Secret(NEW_KEY))
    assert rot.done and [r.step for r in rot.results] == ["test", "store", "publish"]
    assert store_conn.auth(ctx.store, conn)["apiKey"] == NEW_KEY
    assert fake_provider.checks[-1][1]["apiKey"] == NEW_KEY and fake_provider.checks[-1][0] == conn.id
    audit = " ".join(str(r) for r in ctx.store.query("SELECT * FROM audit_log"))
    assert NEW_KEY not in audit


async def test_a_refused_new_credential_is_not_stored(ctx, fake_provider):
    conn = store_conn.create(ctx.store, provider_id="onepassword", name="op",
                             config={"serviceAccountToken": "ops_old_token_value"})
    fake_provider.required_config = {"serviceAccountToken": "ops_the_right_one"}
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:op", new_secret=Secret("ops_a_wrong_token_canary"))
    err = exc.value
    assert err.step == "test" and "nothing was changed: the old credential is still stored and active" in err.message
    assert "ops_a_wrong_token_canary" not in err.one_line()
    assert store_conn.auth(ctx.store, conn)["serviceAccountToken"] == "ops_old_token_value"
    # a new value can replace the wrong one while the run has not passed its first step
    rot = await rotation.rotate(ctx, "sm:op", new_secret=Secret("ops_the_right_one"))
    assert rot.done and store_conn.auth(ctx.store, conn)["serviceAccountToken"] == "ops_the_right_one"


async def test_prompted_kinds_need_the_new_value(ctx):
    store_conn.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_x1"})
    with pytest.raises(AptuiError) as exc:
        rotation.start(ctx, "sm:op")
    assert exc.value.code == "ROTATION_NEEDS_SECRET"
    with pytest.raises(AptuiError) as exc:
        rotation.start(ctx, "sm:op", new_secret=Secret("ops_x1"))
    assert exc.value.code == "ROTATION_SAME_SECRET"
    with pytest.raises(AptuiError) as exc:
        rotation.start(ctx, "sm:op", new_secret=Secret("   "))
    assert exc.value.code == "VALIDATION"


async def test_profile_api_key_rotation_revokes_the_old_key(ctx, activepieces, ap_profile):
    old_key, new_key = activepieces.api_key, "sk-" + "N" * 40
    activepieces.issue_api_key("aptui 2026-11", value=new_key)
    steps = []
    rot = await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret(new_key),
                                confirm=lambda step, text: steps.append((step, text)) or True)
    assert rot.done and [r.step for r in rot.results] == ["test", "store", "retire"]
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == new_key
    assert store_rot.records(ctx.store, ap_profile.id)[0].event == "rotated"
    old_id = rot.facts["oldKeyId"]
    assert "revoke the old API key 'aptui operator' (" + old_id in steps[2][1]
    assert rot.results[2].detail == f"API key 'aptui operator' ({old_id}) revoked"
    assert old_key not in activepieces.api_keys and [r["displayName"] for r in activepieces.api_key_records] == [
        "aptui 2026-11"]
    [delete] = activepieces.calls("DELETE", "/v1/api-keys/")
    session = store_profiles.session_token(ctx.store, ap_profile).reveal()
    assert delete.path == f"/v1/api-keys/{old_id}" and delete.authorization == f"Bearer {session}"  # USER only
    [test] = [r for r in activepieces.calls("GET", "/v1/projects") if r.authorization == f"Bearer {new_key}"]
    assert test.query["limit"] == ["1"]  # the new key was tried on an API-key route
    audit = " ".join(str(r) for r in ctx.store.query("SELECT * FROM audit_log"))
    assert "rotation.retire" in audit and new_key not in audit and old_key not in audit


@pytest.mark.parametrize(("setup", "why"), [
    ("unlisted", "not among the platform's 0 API key(s)"),
    ("ambiguous", "2 listed keys end in the same 4 characters"),
    ("disabled", "FEATURE_DISABLED"),
])
async def test_profile_key_retire_is_skipped_when_the_old_key_is_not_identified(ctx, activepieces, ap_profile,
                                                                                  setup, why):
    new_key = "sk-" + "M" * 40
    activepieces.api_keys.add(new_key)
    if setup == "unlisted":
        activepieces.api_key_records.clear()
    elif setup == "ambiguous":
        activepieces.issue_api_key("twin", value="sk-" + "T" * 57 + activepieces.api_key[-4:])
    else:
        activepieces.features["apiKeys"] = False
    rot = await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret(new_key))
    assert rot.done and rot.results[2].outcome == "skipped" and why in rot.results[2].detail
    assert "revoke it yourself" in rot.results[2].detail
    assert activepieces.api_key in activepieces.api_keys and not activepieces.calls("DELETE", "/v1/api-keys")


async def test_profile_key_retire_failure_stops_with_both_keys_working_and_resumes(ctx, activepieces, ap_profile):
    new_key = "sk-" + "R" * 40
    activepieces.api_keys.add(new_key)
    ctx.settings.retries = 0
    activepieces.fault(r"/v1/api-keys/", method="DELETE", status=503, times=1)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret(new_key))
    assert exc.value.step == "retire" and "is still ACTIVE" in exc.value.message
    assert "the old API key 'aptui operator'" in exc.value.message
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == new_key
    assert activepieces.api_key in activepieces.api_keys
    rot = await rotation.rotate(ctx, "profile:ap-test")
    assert rot.done and [r.step for r in rot.results] == ["retire"] and rot.results[0].outcome == "done"
    assert activepieces.api_key not in activepieces.api_keys


async def test_platform_issues_the_new_api_key(ctx, activepieces, ap_profile):
    old_key = activepieces.api_key
    rot = await rotation.rotate(ctx, "profile:ap-test")
    assert rot.done and [r.step for r in rot.results] == ["inspect", "create", "test", "store", "retire"]
    [entry] = activepieces.api_key_records
    assert entry["displayName"].startswith("aptui ap-test 20") and entry["id"] == rot.facts["newKeyId"]
    new_key = store_profiles.api_key(ctx.store, ap_profile).reveal()
    assert new_key == entry["_value"] and old_key not in activepieces.api_keys
    [create] = activepieces.calls("POST", "/v1/api-keys")
    session = store_profiles.session_token(ctx.store, ap_profile).reveal()
    assert create.body == {"displayName": entry["displayName"]} and create.authorization == f"Bearer {session}"
    order = [(r.method, r.path, r.authorization) for r in activepieces.requests]
    created = order.index(("POST", "/v1/api-keys", f"Bearer {session}"))
    tested = order.index(("GET", "/v1/projects", f"Bearer {new_key}"))
    deleted = next(i for i, o in enumerate(order) if o[0] == "DELETE")
    assert created < tested < deleted  # create, test on an API-key route, (store), delete the old one
    assert not activepieces.response_problems
    trail = " ".join(str(r) for r in ctx.store.query("SELECT * FROM audit_log")) + str(rot.to_dict())
    assert new_key not in trail and "rotation.create" in trail
    assert store_rot.staged(ctx.store, rot.run) == {}  # the staged copy is gone once the run is done


@pytest.mark.parametrize("lost", ["reset", "201 without the value", "2xx not JSON", "staging write fails"])
async def test_issued_key_whose_value_was_lost_is_revoked(ctx, activepieces, ap_profile, monkeypatch, lost):
    from aptui.errors import store_error
    from aptui.services.rotation import assisted

    ctx.settings.retries = 0
    if lost == "reset":
        activepieces.fault(r"/v1/api-keys$", method="POST", reset=True, times=1)
    elif lost == "201 without the value":
        activepieces.fault(r"/v1/api-keys$", method="POST", status=201, body={"id": "x", "displayName": "y"}, times=1)
    elif lost == "2xx not JSON":
        activepieces.fault(r"/v1/api-keys$", method="POST", status=201, malformed=True, times=1)
    else:
        real = assisted.store_rot.save_run

        def failing(store, run, *, staged=None, clear_staged=False):
            if staged and "apiKey" in staged:
                raise store_error("STORE_DISK_FULL", "no space left for the store; nothing was written")
            return real(store, run, staged=staged, clear_staged=clear_staged)

        monkeypatch.setattr(assisted.store_rot, "save_run", failing)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-test")
    assert exc.value.step == "create"
    monkeypatch.undo()
    pending = rotation.pending(ctx, "profile:ap-test")
    if lost == "staging write fails":  # created, then revoked at once: its value was never kept
        assert [r["displayName"] for r in activepieces.api_key_records] == ["aptui operator"]
        made = None
    else:  # the platform made it (the double's fault stood in for the answer): resume must find it
        made = activepieces.issue_api_key(pending.facts["newKeyName"])
    rot = await rotation.rotate(ctx, "profile:ap-test")
    assert rot.done
    if made is not None:
        assert "1 key(s) left by the interrupted attempt revoked" in rot.results[0].detail
        assert made["_value"] not in activepieces.api_keys
    assert [r["id"] for r in activepieces.api_key_records] == [rot.facts["newKeyId"]]
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == activepieces.api_key_records[0]["_value"]


async def test_steps_driven_one_by_one_leave_no_session_with_the_revoked_key(ctx, activepieces, ap_profile):
    from aptui.services import platform

    assert await platform.list_projects(ctx)  # a session holding the old key
    rot = rotation.start(ctx, "profile:ap-test")
    while rot.next_step is not None:
        await rotation.advance(ctx, rot)
    assert activepieces.api_key not in activepieces.api_keys
    assert await platform.list_projects(ctx)  # would be 401 with the old session
    await platform.aclose(ctx)


async def test_own_key_replaces_a_platform_plan_that_created_nothing(ctx, activepieces, ap_profile):
    with pytest.raises(rotation.RotationStopped):
        await rotation.rotate(ctx, "profile:ap-test", confirm=lambda step, text: step != "create")
    new_key = activepieces.issue_api_key("made by hand")["_value"]
    rot = await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret(new_key))
    assert rot.done and rot.plan == ["test", "store", "retire"]
    assert not activepieces.calls("POST", "/v1/api-keys")
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == new_key


async def test_abort_after_create_revokes_the_unused_new_key(ctx, activepieces, ap_profile):
    declined = []

    def confirm(step, text):
        declined.append(step)
        return step != "test"

    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-test", confirm=confirm)
    assert exc.value.step == "test" and "staged (encrypted) but not stored" in exc.value.message
    [new] = [r for r in activepieces.api_key_records if r["displayName"] != "aptui operator"]
    assert declined == ["inspect", "create", "test"]
    result = await rotation.abort(ctx, "profile:ap-test")
    assert result["ok"] and result["undone"] == [f"new API key {new['id']} revoked"]
    assert [r["displayName"] for r in activepieces.api_key_records] == ["aptui operator"]
    assert new["_value"] not in activepieces.api_keys
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == activepieces.api_key


async def test_without_a_session_api_key_rotation_stops_before_changing_anything(ctx, activepieces, ap_key_profile):
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-key")
    assert exc.value.step == "inspect" and exc.value.params["cause"] == "ROTATION_NEEDS_SESSION"
    assert "nothing was changed" in exc.value.message and "signed-in platform admin" in exc.value.message
    assert "aptui profile login ap-key" in exc.value.one_line()
    assert not any(r.path.startswith("/v1/api-keys") for r in activepieces.requests)  # refused before sending
    assert store_profiles.api_key(ctx.store, ap_key_profile).reveal() == activepieces.api_key
    await rotation.abort(ctx, "profile:ap-key")


async def test_api_key_due_date_without_a_session_is_the_recorded_one(ctx, activepieces, ap_key_profile):
    item = {i.id: i for i in (await rot_items.list_items(ctx)).items}["profile:ap-key"]
    assert item.source == "recorded"
    assert any("needs a signed-in platform admin (aptui profile login ap-key)" in n for n in item.notes), item.notes
    assert not activepieces.calls("GET", "/v1/api-keys")


async def test_platform_without_api_key_management_stops_at_inspect(ctx, activepieces, ap_profile):
    activepieces.features["apiKeys"] = False
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-test")
    assert exc.value.step == "inspect" and exc.value.params["cause"] == "ROTATION_UNSUPPORTED"
    assert "FEATURE_DISABLED" in exc.value.message and "nothing was changed" in exc.value.message
    assert not activepieces.calls("POST", "/v1/api-keys")
    await rotation.abort(ctx, "profile:ap-test")


async def test_profile_key_rotation_refuses_the_key_in_use(ctx, activepieces, ap_profile):
    with pytest.raises(AptuiError) as exc:
        await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret(activepieces.api_key))
    assert exc.value.code == "ROTATION_SAME_SECRET"


async def test_profile_key_refused_by_the_platform_is_not_stored(ctx, activepieces, ap_profile):
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "profile:ap-test", new_secret=Secret("sk-" + "W" * 40))
    assert exc.value.step == "test" and "nothing was changed" in exc.value.message
    assert exc.value.params["cause"] in ("INVALID_API_KEY", "INVALID_BEARER_TOKEN", "AUTHENTICATION")
    assert store_profiles.api_key(ctx.store, ap_profile).reveal() == activepieces.api_key


async def test_mcp_rotation_returns_the_token_once(ctx, activepieces, ap_profile):
    item = f"mcp:ap-test/{DEFAULT_PROJECT}"
    steps = []
    rot = await rotation.rotate(ctx, item, on_step=steps.append)
    assert rot.done and len(steps) == 1
    token = steps[0].secret
    assert isinstance(token, Secret) and token.reveal() == activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert token.reveal() not in str(rot.to_dict())
    found = rotation.find_item(ctx, item)
    assert found.source == "recorded" and found.confidence == "medium"
    dump = " ".join(str(r) for r in ctx.store.query("SELECT * FROM rotation_runs"))
    dump += " ".join(str(r) for r in ctx.store.query("SELECT * FROM audit_log"))
    assert token.reveal() not in dump


async def test_mcp_rotation_failure_names_the_step(ctx, activepieces, ap_profile):
    activepieces.fault(rf"/v1/projects/{DEFAULT_PROJECT}/mcp-server/rotate", status=403, times=1)
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, f"mcp:ap-test/{DEFAULT_PROJECT}")
    assert exc.value.step == "rotate" and "the token was not rotated" in exc.value.message
    assert rotation.pending(ctx, f"mcp:ap-test/{DEFAULT_PROJECT}").next_step == "rotate"
