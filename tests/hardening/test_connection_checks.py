"""``audit hardening`` lists Vault/Conjur connections that send credentials over plain http://, and
``sm add`` refuses such URLs except on loopback or with the lab flag ``allowHttp``."""

from __future__ import annotations

from pathlib import Path

from aptui.services.hardening.runner import HardeningOptions, audit_hardening
from aptui.store import connections as store_conn

GOOD_ENV = Path(__file__).parent / "fixtures" / "good.env"


async def test_plain_http_connections_are_reported(ctx):
    store_conn.create(ctx.store, provider_id="hashicorp", name="lab-vault",
                      config={"url": "http://vault.lab:8200", "roleId": "r", "secretId": "s", "allowHttp": "true"})
    store_conn.create(ctx.store, provider_id="hashicorp", name="local-vault",
                      config={"url": "http://127.0.0.1:8200", "roleId": "r", "secretId": "s"})
    store_conn.create(ctx.store, provider_id="cyberark-conjur", name="tls-conjur",
                      config={"url": "https://conjur.example.com", "organizationAccountName": "o",
                              "loginId": "host/x", "apiKey": "k"})
    report = await audit_hardening(ctx, HardeningOptions(env_file=GOOD_ENV, check_store=False))
    found = [f for f in report.findings if f.id == "connection.plain_http"]
    assert [(f.status, f.severity, f.location) for f in found] == [("open", "high", "lab-vault")]
    assert "allowHttp" in found[0].evidence and "vault.lab" in found[0].evidence


async def test_no_plain_http_is_an_ok_finding(ctx):
    store_conn.create(ctx.store, provider_id="hashicorp", name="tls-vault",
                      config={"url": "https://vault.example.com", "roleId": "r", "secretId": "s"})
    report = await audit_hardening(ctx, HardeningOptions(env_file=GOOD_ENV, check_store=False))
    found = [f for f in report.findings if f.id == "connection.plain_http"]
    assert [f.status for f in found] == ["ok"]


def test_sm_add_refuses_plain_http_unless_loopback_or_lab(run_cli):
    base = ["sm", "add", "--provider", "hashicorp", "--set-env", "roleId=R", "--set-env", "secretId=S", "--no-test"]
    env = {"R": "role-id", "S": "secret-id"}
    refused = run_cli(*base, "--name", "a", "--set", "url=http://vault.example.com:8200", "--json", env=env)
    assert refused.code == 2 and refused.json["error"]["code"] == "INSECURE_URL"
    assert "allowHttp" in refused.json["error"]["hint"]
    assert run_cli(*base, "--name", "b", "--set", "url=http://127.0.0.1:8200", env=env).code == 0
    lab = run_cli(*base, "--name", "c", "--set", "url=http://vault.lab:8200", "--set", "allowHttp=true", env=env)
    assert lab.code == 0, lab.err
    shown = run_cli("sm", "show", "c", "--json").json
    assert any("allowHttp" in n for n in shown["notes"])
    conjur = run_cli("sm", "add", "--provider", "cyberark-conjur", "--name", "d", "--set", "url=http://conjur.x",
                     "--set", "organizationAccountName=o", "--set", "loginId=host/a", "--set-env", "apiKey=S",
                     "--no-test", "--json", env=env)
    assert conjur.code == 2 and conjur.json["error"]["code"] == "INSECURE_URL"
