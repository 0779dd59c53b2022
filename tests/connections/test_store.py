"""store.connections: encrypted auth, public config, scope semantics, rotation bookkeeping."""

from __future__ import annotations

import json

import pytest

from aptui.errors import AptuiError
from aptui.ids import is_ap_id
from aptui.store import connections as sc
from aptui.store.connections import Connection

AWS_CONFIG = {"accessKeyId": "AKIAEXAMPLE123456789", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
              "region": "eu-west-1"}


def test_create_encrypts_the_full_config(ctx):
    c = sc.create(ctx.store, provider_id="aws", name="prod", config=AWS_CONFIG)
    assert is_ap_id(c.id) and c.scope == "PLATFORM" and c.project_ids == []
    assert c.public_config == {"region": "eu-west-1"}  # accessKeyId is a secret field in fields.py
    raw = ctx.store.query("SELECT * FROM sm_connections WHERE id=?", (c.id,))[0]
    assert AWS_CONFIG["secretAccessKey"].encode() not in raw["auth"]
    assert AWS_CONFIG["secretAccessKey"] not in raw["public_config"]
    assert sc.auth(ctx.store, c) == AWS_CONFIG
    assert c.credential_set_at == c.created
    rot = ctx.store.query("SELECT * FROM rotation_records WHERE item_id=?", (c.id,))
    assert [(r["kind"], r["event"], r["source"]) for r in rot] == [("aws", "set", "recorded")]


def test_auth_is_bound_to_its_row(ctx):
    a = sc.create(ctx.store, provider_id="aws", name="a", config=AWS_CONFIG)
    b = sc.create(ctx.store, provider_id="aws", name="b", config={**AWS_CONFIG, "region": "us-east-1"})
    with ctx.store.transaction() as conn:
        blob = conn.execute("SELECT auth FROM sm_connections WHERE id=?", (a.id,)).fetchone()[0]
        conn.execute("UPDATE sm_connections SET auth=? WHERE id=?", (blob, b.id))
    with pytest.raises(AptuiError) as e:
        sc.auth(ctx.store, b)
    assert e.value.code == "STORE_FIELD_TAMPERED" and e.value.exit_code == 3


def test_names_unique_and_lookup(ctx):
    c = sc.create(ctx.store, provider_id="aws", name="prod", config=AWS_CONFIG)
    with pytest.raises(AptuiError) as e:
        sc.create(ctx.store, provider_id="aws", name="prod", config=AWS_CONFIG)
    assert e.value.code == "DUPLICATE_NAME" and e.value.exit_code == 2
    assert sc.find(ctx.store, "prod").id == c.id == sc.find(ctx.store, c.id).id
    with pytest.raises(AptuiError) as e:
        sc.find(ctx.store, "nope")
    assert e.value.code == "ENTITY_NOT_FOUND"


def test_project_scope_needs_a_project(ctx):
    with pytest.raises(AptuiError) as e:
        sc.create(ctx.store, provider_id="aws", name="p", config=AWS_CONFIG, scope="PROJECT")
    assert e.value.message == "Please select at least one project" and e.value.exit_code == 2
    with pytest.raises(AptuiError):
        sc.create(ctx.store, provider_id="aws", name="p", config=AWS_CONFIG, scope="GLOBAL")
    # PLATFORM ignores project ids, as upstream stores none for it
    c = sc.create(ctx.store, provider_id="aws", name="p", config=AWS_CONFIG, scope="platform", project_ids=["x"])
    assert c.scope == "PLATFORM" and c.project_ids == []


def test_serving_follows_upstream_query(ctx):
    plat = sc.create(ctx.store, provider_id="aws", name="plat", config=AWS_CONFIG)
    p12 = sc.create(ctx.store, provider_id="aws", name="p12", config=AWS_CONFIG, scope="PROJECT",
                    project_ids=["p1", "p2", "p1"])
    p3 = sc.create(ctx.store, provider_id="aws", name="p3", config=AWS_CONFIG, scope="PROJECT", project_ids=["p3"])
    assert p12.project_ids == ["p1", "p2"]

    def ids(x):
        return {c.id for c in sc.serving(ctx.store, x)}

    assert ids("p1") == {plat.id, p12.id}
    assert ids(["p1", "p2"]) == {plat.id, p12.id}
    assert ids(["p1", "p3"]) == {plat.id}          # must list ALL requested projects
    assert ids(None) == {plat.id, p12.id, p3.id}   # @> '[]' matches every PROJECT connection
    assert ids([]) == ids(None)


def test_update_tracks_secret_changes(ctx):
    c = sc.create(ctx.store, provider_id="aws", name="prod", config=AWS_CONFIG)
    same, changed = sc.update(ctx.store, c.id, config={**AWS_CONFIG, "region": "us-east-2"})
    assert changed == [] and same.credential_set_at == c.credential_set_at
    assert same.public_config == {"region": "us-east-2"}
    new, changed = sc.update(ctx.store, c.id, config={**AWS_CONFIG, "secretAccessKey": "rotated-secret-000"})
    assert changed == ["secretAccessKey"] and new.credential_set_at >= c.credential_set_at
    assert sc.auth(ctx.store, c.id)["secretAccessKey"] == "rotated-secret-000"
    assert len(ctx.store.query("SELECT * FROM rotation_records WHERE item_id=?", (c.id,))) == 2
    renamed, _ = sc.update(ctx.store, c.id, name="prod2", scope="PROJECT", project_ids=["p"], value_ttl=60)
    assert (renamed.name, renamed.scope, renamed.project_ids, renamed.value_ttl) == ("prod2", "PROJECT", ["p"], 60)
    back, _ = sc.update(ctx.store, c.id, scope="PLATFORM", project_ids=[], clear_ttls=True)
    assert back.scope == "PLATFORM" and back.project_ids == [] and back.value_ttl is None


def test_update_errors(ctx):
    a = sc.create(ctx.store, provider_id="aws", name="a", config=AWS_CONFIG)
    sc.create(ctx.store, provider_id="aws", name="b", config=AWS_CONFIG)
    with pytest.raises(AptuiError) as e:
        sc.update(ctx.store, a.id, name="b")
    assert e.value.code == "DUPLICATE_NAME"
    with pytest.raises(AptuiError) as e:
        sc.update(ctx.store, "missing", name="x")
    assert e.value.code == "ENTITY_NOT_FOUND"
    with pytest.raises(AptuiError) as e:
        sc.update(ctx.store, a.id, scope="PROJECT", project_ids=[])
    assert e.value.message == "Please select at least one project"


def test_delete_and_record_test(ctx):
    c = sc.create(ctx.store, provider_id="onepassword", name="op", config={"serviceAccountToken": "ops_abc"})
    sc.record_test(ctx.store, c.id, False, "SECRET_MANAGER_CONNECTION_FAILED: invalid token")
    got = sc.get(ctx.store, c.id)
    assert got.last_test_ok is False and "invalid token" in got.last_test_error and got.last_test_at
    sc.record_test(ctx.store, c.id, True)
    assert sc.get(ctx.store, c.id).last_test_error is None
    assert sc.delete(ctx.store, c.id) and not sc.delete(ctx.store, c.id)
    assert sc.list_all(ctx.store) == []


def test_unknown_provider(ctx):
    with pytest.raises(AptuiError):
        sc.create(ctx.store, provider_id="gcp", name="x", config={})


def test_connection_serves_is_pure():
    c = Connection("i", "aws", "n", "PROJECT", ["a"], {}, "t", "t")
    assert c.serves(["a"]) and not c.serves(["b"]) and c.serves(None)
    assert json.dumps(c.project_ids) == '["a"]'
