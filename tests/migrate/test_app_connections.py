"""App connections on the Activepieces double: plan (scope first), apply (store, upsert, check), rollback."""

from __future__ import annotations

import json

import pytest

from tests.doubles.activepieces import DEFAULT_PROJECT
from tests.migrate.helpers import add_connection, make_sources, rand


@pytest.fixture
def app_world(ctx, moto_aws, activepieces, ap_profile, tmp_path):
    conn = add_connection(ctx, "aws", moto_aws.config(), scope="PROJECT", project_ids=[DEFAULT_PROJECT])
    other = add_connection(ctx, "aws", moto_aws.config(), name="elsewhere", scope="PROJECT",
                           project_ids=["proj" + rand(17)])
    app = activepieces.add_connection(project_id=DEFAULT_PROJECT, display_name="Slack (prod)",
                                      external_id="slack-prod", metadata={"team": "ops"})
    value = "xoxb-" + rand(12) + "-" + rand(24)
    activepieces.connection_values[app["id"]] = {"type": "SECRET_TEXT", "secret_text": value}
    ctx.close()
    return conn, other, app, value, activepieces, moto_aws


def _plan_app(run_cli, conn, value, tmp_path, *extra):
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", "--app-connection", "slack-prod", "--project", DEFAULT_PROJECT, "--value-env",
                "SLACK_VALUE", "--to", conn.name, "--secret", "prod/apps", "--out", str(plan), "--json", *extra,
                env={"SLACK_VALUE": value})
    return plan, r


def test_app_connection_plan_apply_verify_rollback(run_cli, app_world, tmp_path):
    conn, _other, app, value, double, moto = app_world
    plan, r = _plan_app(run_cli, conn, value, tmp_path)
    assert r.code == 0, r.err
    assert value not in plan.read_text() and value not in r.out
    ref = "{{" + conn.id + "|ap_sep_v1|prod/apps:slack-prod}}"
    assert r.json["appConnections"][0]["reference"] == ref
    # apply needs the value again (the plan has only its fingerprint)
    r = run_cli("migrate", "apply", str(plan), "--yes")
    assert r.code == 2 and "SLACK_VALUE" in r.err
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json", env={"SLACK_VALUE": "xoxb-" + rand(30)})
    assert r.code == 1 and r.json["error"]["code"] == "MIGRATE_SOURCE_CHANGED"
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json", env={"SLACK_VALUE": value})
    assert r.code == 0, r.out + r.err
    assert value not in r.out and value not in r.err
    assert json.loads(moto.client().get_secret_value(SecretId="prod/apps")["SecretString"]) == {"slack-prod": value}
    stored = next(c for c in double.connections if c["id"] == app["id"])
    assert double.connection_values[app["id"]] == {"type": "SECRET_TEXT", "secret_text": ref}
    assert stored["usingSecretManager"] is True and stored["status"] == "ACTIVE"
    assert stored["displayName"] == "Slack (prod)" and stored["metadata"] == {"team": "ops"}
    assert stored["externalId"] == "slack-prod"
    r = run_cli("migrate", "rollback", str(plan), "--yes", "--json")
    assert r.code == 0, r.err
    assert double.connection_values[app["id"]] == {"type": "SECRET_TEXT", "secret_text": value}
    assert value not in r.out


def test_scope_is_checked_first_with_activepieces_rule(run_cli, app_world, tmp_path):
    _conn, other, _app, value, double, _moto = app_world
    before = len(double.requests)
    plan, r = _plan_app(run_cli, other, value, tmp_path)
    assert r.code == 1
    assert r.json["error"]["code"] == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert r.json["error"]["message"] == "Connection is not accessible"
    assert not plan.exists() and len(double.requests) == before


def test_files_and_an_app_connection_in_one_plan(run_cli, app_world, tmp_path):
    conn, _other, app, value, double, _moto = app_world
    src = make_sources(tmp_path / "deploy")
    plan = tmp_path / "plan.json"
    r = run_cli("migrate", "plan", str(src.json_file), "--to", conn.name, "--project", DEFAULT_PROJECT,
                "--secret", "prod/{stem}", "--out", str(plan))
    assert r.code == 0, r.err
    _plan2, r = _plan_app(run_cli, conn, value, tmp_path, "--add-to", str(plan))
    assert r.code == 0, r.err
    r = run_cli("migrate", "apply", str(plan), "--yes", "--json", env={"SLACK_VALUE": value})
    assert r.code == 0, r.out
    kinds = [s["kind"] for s in r.json["steps"]]
    assert kinds == ["write", "write", "verify", "rewrite", "reverify", "upsert"]
    assert double.connection_values[app["id"]]["secret_text"].startswith("{{" + conn.id)
