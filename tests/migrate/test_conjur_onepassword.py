"""Conjur (double: POST to the variable, update privilege, declared variables) and 1Password (the
SDK behind its interface, with the fake): plan, apply, verify, denied write, rollback --purge."""

from __future__ import annotations

import json

import pytest

from tests.migrate.helpers import add_connection, make_sources

VARS = ("prod/connection-values/token", "prod/connection-values/auth", "prod/connection-values/password")


@pytest.fixture
def conjur_world(ctx, conjur_double, tmp_path):
    src = make_sources(tmp_path / "deploy")
    src.yaml_file.unlink()
    for v in VARS:
        conjur_double.set_variable(v, None)  # declared in policy, no value yet
    conjur_double.set_variable(VARS[2], "old-db-password")
    key = conjur_double.add_host("host/migrator", updatable=set(VARS))
    conn = add_connection(ctx, "cyberark-conjur", conjur_double.config("host/migrator", key))
    ctx.close()
    return conn, src, conjur_double


def _plan(run_cli, conn, src, tmp_path):
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", str(src.json_file), "--to", conn.name, "--secret", "prod/{stem}", "--out",
                str(plan), "--json")
    assert r.code == 0, r.err
    return plan, r.json


def test_conjur_apply_verify_and_purge(run_cli, conjur_world, tmp_path):
    conn, src, double = conjur_world
    before = src.json_file.read_bytes()
    plan, out = _plan(run_cli, conn, src, tmp_path)
    assert {i["target"]["providerForm"] for i in out["items"]} == set(VARS)
    # the password variable already holds another value: refused unless the plan says overwrite
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1 and r.json["error"]["code"] == "MIGRATE_TARGET_CONFLICT"
    assert "overwrite" in r.json["error"]["hint"] and src.json_file.read_bytes() == before
    first = run_cli("migrate", "rollback", str(plan), "--yes", "--purge", "--json")
    assert first.code == 0, first.err
    assert "cannot remove" in {a["target"]: a["result"] for a in first.json["actions"]}[VARS[0]]
    doc = json.loads(plan.read_text())
    next(i for i in doc["items"] if i["location"] == "$.db.password")["overwrite"] = True
    plan.write_text(json.dumps(doc, indent=2))
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 0, r.out
    assert all(row["match"] for row in r.json["verification"])
    assert double.variables[VARS[0]].versions[-1][0].decode() == src.values["slack"]
    assert "{{" + conn.id + "|ap_sep_v1|prod/connection-values/token}}" in src.json_file.read_text()
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--purge", "--json")
    assert r.code == 0, r.err
    assert src.json_file.read_bytes() == before
    assert double.variables[VARS[2]].versions[-1][0] == b"old-db-password"
    results = {a["target"]: a["result"] for a in r.json["actions"]}
    assert results[VARS[2]] == "version 1's value written back as a new version"


def test_conjur_denied_and_undeclared(run_cli, conjur_world, tmp_path):
    conn, src, double = conjur_world
    double.identities["host/migrator"].updatable = {VARS[0]}  # no update on the others
    plan, _ = _plan(run_cli, conn, src, tmp_path)
    doc = json.loads(plan.read_text())
    for item in doc["items"]:
        item["overwrite"] = True
    plan.write_text(json.dumps(doc))
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1
    assert r.json["error"]["code"] == "SECRET_MANAGER_WRITE_FAILED" and "403" in r.json["error"]["message"]
    assert [s["status"] for s in r.json["steps"]][:2] == ["done", "failed"]
    del double.variables[VARS[1]]
    double.identities["host/migrator"].updatable = None
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json")
    assert r.code == 1 and "not declared in Conjur policy" in r.json["error"]["message"]


@pytest.fixture
def op_world(ctx, onepassword_fake, tmp_path):
    from aptui.providers.registry import make_provider
    from aptui.providers.writers import make_writer

    def providers(provider_id, config, options=None, *, connection_id=None):
        return make_provider(provider_id, config, options, connection_id=connection_id, backend=onepassword_fake)

    def writers(provider_id, config, options=None, *, connection_id=None):
        return make_writer(provider_id, config, options, connection_id=connection_id, backend=onepassword_fake)

    ctx.provider_factory, ctx.writer_factory = providers, writers
    onepassword_fake.add("prod", "slack", "existing", "kept-as-is")
    onepassword_fake.vaults.setdefault("ops", {})
    conn = add_connection(ctx, "onepassword", onepassword_fake.config())
    return conn, make_sources(tmp_path / "deploy"), onepassword_fake


async def test_onepassword_items_created_and_edited_then_purged(ctx, op_world):
    from aptui.services.migrate.apply import Migration, rollback
    from aptui.services.migrate.plan import build_plan

    conn, src, fake = op_world
    before = src.json_file.read_bytes()
    plan = build_plan(ctx, [src.json_file], to=conn.id, secret="prod/slack")
    assert {i["reference"] for i in plan.items} == {"{{" + conn.id + f"|ap_sep_v1|op://prod/slack/{k}}}}}"
                                                    for k in ("token", "auth", "password")}
    plan2 = build_plan(ctx, [src.yaml_file], to=conn.id, secret="ops/{stem}")
    outcome = await Migration(ctx, plan).run()
    assert outcome.ok, outcome.error
    assert all(r["match"] for r in outcome.verification)
    assert fake.vaults["prod"]["slack"] == {"existing": "kept-as-is", "token": src.values["slack"],
                                            "auth": src.values["github"], "password": src.values["db"]}
    outcome2 = await Migration(ctx, plan2).run()
    assert outcome2.ok, outcome2.error
    assert fake.vaults["ops"]["step-inputs"]["apiKey"] == src.values["openai"]
    await rollback(ctx, plan, purge=True)
    await rollback(ctx, plan2, purge=True)
    assert src.json_file.read_bytes() == before
    assert fake.vaults["prod"]["slack"] == {"existing": "kept-as-is"}
    assert "step-inputs" not in fake.vaults["ops"]


async def test_onepassword_write_denied_for_the_vault(ctx, op_world):
    from aptui.services.migrate.apply import Migration
    from aptui.services.migrate.plan import build_plan

    conn, src, fake = op_world
    fake.writable = {"ops"}
    before = src.json_file.read_bytes()
    plan = build_plan(ctx, [src.json_file], to=conn.id, secret="prod/slack")
    outcome = await Migration(ctx, plan).run()
    assert outcome.error is not None and outcome.error.code == "SECRET_MANAGER_WRITE_FAILED"
    assert "permission" in outcome.error.message and "prod/slack" in outcome.error.message
    assert src.json_file.read_bytes() == before
    assert fake.vaults["prod"]["slack"] == {"existing": "kept-as-is"}
