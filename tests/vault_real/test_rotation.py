"""Secret-id rotation and the incident runbook against a real OpenBao: the due date from the real
secret-id lookup, a new secret id created/tested/stored, the old one destroyed by accessor, the
policy it needs, a rotation resumed after a denied step, and local connections sharing a secret id."""

from __future__ import annotations

import json

import pytest

from aptui.clock import parse_iso
from aptui.services import incident, rotation
from aptui.store import connections as store_conn
from aptui.store import profiles as store_profiles
from aptui.store import rotation as store_rot
from tests.rotation.conftest import stored_config


async def test_due_date_comes_from_the_real_secret_id_lookup(ctx, openbao, bao_conn, rotation_policy):
    conn, role = bao_conn("vault-due", token_ttl="1h", secret_id_ttl="240h")
    openbao.approle(role.name, policies=["activepieces", rotation_policy(role.name)], secret_id_ttl="240h")
    store_conn.update(ctx.store, conn.id, config=openbao.config(role))
    report = await rotation.list_items(ctx)
    item = next(i for i in report.items if i.id == "sm:vault-due")
    real = openbao.lookup_secret_id(role)
    assert item.source == "observed:vault.secret-id-lookup"
    assert item.last_rotated == parse_iso(real["creation_time"])
    assert item.expires == parse_iso(real["expiration_time"]) and item.due == item.expires
    assert item.state == rotation.DUE_SOON  # 10 days left, inside the 14-day window


async def test_rotation_creates_tests_stores_and_destroys_the_old_by_accessor(ctx, openbao, bao_role,
                                                                              bao_conn, rotation_policy):
    role = bao_role()
    role = openbao.approle(role.name, policies=["activepieces", rotation_policy(role.name)])
    openbao.write_kv2("secret", "rot/app", {"k": "still-readable"})
    bao_conn("vault-rot", role)
    old = role.secret_id
    old_accessor = openbao.lookup_secret_id(role)["secret_id_accessor"]
    rot = await rotation.rotate(ctx, "sm:vault-rot", test_delay=0)
    assert rot.done and [r.step for r in rot.results] == ["inspect", "create", "test", "store", "publish", "retire"]
    new = stored_config(ctx, "vault-rot")["secretId"]
    assert new != old and openbao.lookup_secret_id(role, new) is not None
    assert openbao.lookup_secret_id(role, old) is None  # destroyed on the server
    assert openbao.login(role, old)[0] == 400 and openbao.login(role, new)[0] == 200
    assert f"old secret ID destroyed (accessor {old_accessor})" in rot.results[-1].detail
    rows = ctx.store.query("SELECT at, actor, action, target, outcome, detail FROM audit_log")
    audit = json.dumps([dict(r) for r in rows])
    assert old not in audit and new not in audit


async def test_destroy_not_permitted_is_skipped_with_a_note(ctx, openbao, bao_role, bao_conn):
    from tests.doubles.openbao import ACTIVEPIECES_POLICY, ROTATION_POLICY

    role = bao_role()
    no_destroy = "\n".join(line for line in ROTATION_POLICY.replace("{role}", role.name).splitlines()
                           if "secret-id-accessor/destroy" not in line)
    openbao.write_policy(f"nodestroy-{role.name}", ACTIVEPIECES_POLICY + no_destroy)
    role = openbao.approle(role.name, policies=[f"nodestroy-{role.name}"])
    bao_conn("vault-nd", role)
    rot = await rotation.rotate(ctx, "sm:vault-nd", test_delay=0)
    assert rot.done and rot.status("retire") == "skipped"
    assert "not permitted to destroy the old secret ID" in rot.results[-1].detail
    assert openbao.lookup_secret_id(role, role.secret_id) is not None  # still valid, as the note says


async def test_resumed_rotation_looks_the_old_accessor_up_again(ctx, openbao, bao_role, bao_conn, rotation_policy):
    role = bao_role()
    conn, _ = bao_conn("vault-resume", role)  # plain Activepieces policy: no secret-id rights
    old = role.secret_id
    with pytest.raises(rotation.RotationStopped) as stopped:
        await rotation.rotate(ctx, "sm:vault-resume", test_delay=0)
    assert stopped.value.step == "create" and "403" in stopped.value.message
    inspect = store_rot.runs(ctx.store, conn.id)[0].data["steps"]["inspect"]["detail"]
    assert "secret-id lookup denied" in inspect
    # The operator grants the rotation policy (tokens carry policies by name: the next login has it).
    openbao.approle(role.name, policies=["activepieces", rotation_policy(role.name)])
    openbao.call("POST", f"auth/approle/role/{role.name}/secret-id", {})  # the role's settings are unchanged
    rot = await rotation.rotate(ctx, "sm:vault-resume", test_delay=0)
    assert rot.done and rot.status("retire") == "done"
    assert openbao.lookup_secret_id(role, old) is None  # the old secret id does not stay valid
    assert stored_config(ctx, "vault-resume")["secretId"] != old


async def test_other_connections_sharing_the_secret_id_are_named(ctx, openbao, bao_role, bao_conn, rotation_policy):
    role = bao_role()
    role = openbao.approle(role.name, policies=["activepieces", rotation_policy(role.name)])
    bao_conn("vault-a", role)
    bao_conn("vault-b", role)
    with pytest.raises(rotation.RotationStopped):
        await rotation.rotate(ctx, "sm:vault-a", confirm=lambda step, text: step == "inspect", test_delay=0)
    rot = rotation.pending(ctx, "sm:vault-a")
    detail = rot.run.data["steps"]["inspect"]["detail"]
    assert "1 other local connection(s) use the same secret ID (vault-b)" in detail
    await rotation.abort(ctx, "sm:vault-a")


async def test_incident_runbook_with_a_vault_credential(ctx, openbao, bao_role, bao_conn, rotation_policy,
                                                        activepieces, tmp_path):
    from aptui.masking import Secret
    from tests.doubles.activepieces import store_session
    from tests.incident.scenario import PROJECTS

    role = bao_role()
    role = openbao.approle(role.name, policies=["activepieces", rotation_policy(role.name)])
    openbao.write_kv2("secret", "inc/slack", {"token": "vault-canary-token-0001"})
    conn, _ = bao_conn("vault-inc", role)
    refs = tmp_path / "flows"
    refs.mkdir()
    reference = "{{" + conn.id + "|ap_sep_v1|secret/data/inc/slack/token}}"
    (refs / "slack.json").write_text(json.dumps({"auth": {"token": reference}}))
    store_profiles.create(ctx.store, "prod", activepieces.url, api_key=Secret(activepieces.api_key),
                          default_project=PROJECTS[0], make_default=True)
    # publish: the platform's secret managers are USER-only routes
    store_session(ctx.store, "prod", activepieces.session_token())
    old = role.secret_id
    inc = incident.start(ctx, "sm:vault-inc", scan=[str(refs)], title="Vault secret id leaked", rate=10)
    done = await incident.run(ctx, inc.id, incident.Decisions(contain="rotate", confirm=lambda s, t: True,
                                                               test_delay=0))
    assert done.state == "closed", json.dumps(done.data["steps"], default=str)[:2000]
    steps = done.data["steps"]
    assert steps["verify"]["result"]["connection"]["ok"] is True
    assert [r["location"] for r in steps["scope"]["result"]["references"]] == ["$.auth.token"]
    assert openbao.lookup_secret_id(role, old) is None  # contained: the leaked secret id is dead
    new = stored_config(ctx, "vault-inc")["secretId"]
    assert openbao.login(role, new)[0] == 200
    export = json.dumps(done.data, default=str)
    assert old not in export and new not in export and "vault-canary-token-0001" not in export
