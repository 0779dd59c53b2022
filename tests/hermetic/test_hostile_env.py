"""A hostile environment: an operator's machine full of ambient credentials and a proxy (issue 14).

HOME holds a *valid* ``~/.vault-token`` (the OpenBao root token), ``~/.aws/credentials`` and an
``~/.aws/config`` whose profiles send AWS elsewhere; the environment has ``VAULT_TOKEN``,
``VAULT_ADDR``, ``VAULT_NAMESPACE``, ``VAULT_CLIENT_CERT``/``KEY``, ``AWS_PROFILE``,
``AWS_ENDPOINT_URL*``, ambient AWS keys, ``OP_SERVICE_ACCOUNT_TOKEN``, ``CONJUR_*``, CA variables
and ``HTTP(S)_PROXY``/``ALL_PROXY`` at a recording proxy. Every provider's connection test and a
reference run through the real CLI (a subprocess, so import-time reads count too). On the wire only
the connection's own credentials go, and only to the connection's own URL; the proxy sees nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.doubles.aws_moto import ADMIN_KEY, ADMIN_SECRET
from tests.hermetic.wire import Forwarder, RecordingProxy

AMBIENT_AWS_KEY = "AKIAAMBIENT000000000"
AMBIENT_OP_TOKEN = "ops_ambient_token_from_the_environment_0000"
AMBIENT_CONJUR_KEY = "ambient-conjur-api-key-0000"
BOGUS_VAULT_TOKEN = "s.bogusAmbientVaultToken000000"


@pytest.fixture
def proxy():
    p = RecordingProxy()
    yield p
    p.stop()


def make_hostile(monkeypatch, proxy: RecordingProxy, *, vault_token_file: str, vault_token_env: str | None) -> Path:
    home = Path(os.environ["HOME"])
    (home / ".vault-token").write_text(vault_token_file)
    aws = home / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "credentials").write_text(f"[default]\naws_access_key_id = {AMBIENT_AWS_KEY}\n"
                                     "aws_secret_access_key = ambient-secret\n"
                                     f"[ambient]\naws_access_key_id = {AMBIENT_AWS_KEY}\n"
                                     "aws_secret_access_key = ambient-secret\n")
    (aws / "config").write_text(f"[default]\nendpoint_url = {proxy.url}\nregion = eu-west-3\n"
                                f"[profile ambient]\nendpoint_url = {proxy.url}\nregion = eu-west-3\n"
                                f"ca_bundle = {home / 'no-such-ca.pem'}\n")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "VAULT_ADDR": proxy.url, "VAULT_NAMESPACE": "team-a", "BAO_ADDR": proxy.url,
        "VAULT_CLIENT_CERT": str(home / "no-such-cert.pem"), "VAULT_CLIENT_KEY": str(home / "no-such-key.pem"),
        "VAULT_CACERT": str(home / "no-such-ca.pem"),
        "AWS_PROFILE": "ambient", "AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url,
        "AWS_ACCESS_KEY_ID": AMBIENT_AWS_KEY, "AWS_SECRET_ACCESS_KEY": "ambient-secret",
        "AWS_CA_BUNDLE": str(home / "no-such-ca.pem"), "AWS_DEFAULT_REGION": "eu-west-3",
        "OP_SERVICE_ACCOUNT_TOKEN": AMBIENT_OP_TOKEN,
        "CONJUR_AUTHN_API_KEY": AMBIENT_CONJUR_KEY, "CONJUR_APPLIANCE_URL": proxy.url,
        "CONJUR_AUTHN_LOGIN": "host/ambient", "CONJUR_ACCOUNT": "ambient",
        "REQUESTS_CA_BUNDLE": str(home / "no-such-ca.pem"), "CURL_CA_BUNDLE": str(home / "no-such-ca.pem"),
        "SSL_CERT_FILE": str(home / "no-such-ca.pem"),
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = proxy.url
    if vault_token_env is not None:
        env["VAULT_TOKEN"] = vault_token_env
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return home


@pytest.mark.parametrize("token_source", ["env-bogus", "file-valid"])
def test_vault_uses_only_the_approle(openbao, proxy, run_cli, monkeypatch, token_source):
    """The root token in ~/.vault-token (and a bogus VAULT_TOKEN) never reaches the wire."""
    openbao.enable_kv("private", 2)
    openbao.write_kv2("private", "ops", {"k": "root-only"})
    openbao.write_kv2("secret", "hostile", {"k": "approle-value"})
    role = openbao.approle(f"hostile-{token_source}")
    fwd = Forwarder(openbao.addr).start()
    try:
        make_hostile(monkeypatch, proxy, vault_token_file=openbao.root_token,
                     vault_token_env=BOGUS_VAULT_TOKEN if token_source == "env-bogus" else None)
        added = run_cli("sm", "add", "--provider", "hashicorp", "--name", "v", "--set", f"url={fwd.url}",
                        "--set-env", "roleId=RID", "--set-env", "secretId=SID", "--json",
                        env={"RID": role.role_id, "SID": role.secret_id})
        assert added.code == 0, added.out + added.err
        cid = added.json["connection"]["id"]
        assert run_cli("sm", "test", "v").code == 0
        ok = run_cli("ref", "test", "{{" + cid + "|ap_sep_v1|secret/data/hostile/k}}", "--json")
        assert ok.code == 0 and ok.json["verdict"] == "resolves", ok.out
        # Outside the AppRole's policy: only the operator's root token could read it.
        denied = run_cli("ref", "test", "{{" + cid + "|ap_sep_v1|private/data/ops/k}}", "--json")
        assert denied.code == 1 and "status code 403" in denied.out, denied.out
        assert "root-only" not in denied.out
    finally:
        fwd.stop()
    issued = {x.json()["auth"]["client_token"] for x in fwd.exchanges
              if x.request.path == "/v1/auth/approle/login" and x.status == 200}
    assert issued, "no AppRole login reached the connection's URL"
    for x in fwd.exchanges:
        token = x.request.header("X-Vault-Token")
        if x.request.path == "/v1/auth/approle/login":
            assert token is None, "a token was sent with the AppRole login"
        else:
            assert token in issued, f"{x.request.path} carried a token the AppRole login did not issue"
        assert x.request.header("X-Vault-Namespace") is None  # the connection has none; VAULT_NAMESPACE ignored
    assert proxy.seen == []


def test_aws_uses_only_the_connection(moto_aws, aws_fault_proxy, proxy, run_cli, monkeypatch):
    moto_aws.create_secret("hostile/db", {"password": "aws-value"})
    make_hostile(monkeypatch, proxy, vault_token_file="hvs.unused", vault_token_env=None)
    added = run_cli("sm", "add", "--provider", "aws", "--name", "a", "--set", "region=us-east-1",
                    "--set", f"endpoint={aws_fault_proxy.url}", "--set-env", "accessKeyId=AK",
                    "--set-env", "secretAccessKey=SK", "--json", env={"AK": ADMIN_KEY, "SK": ADMIN_SECRET})
    assert added.code == 0, added.out + added.err
    cid = added.json["connection"]["id"]
    tested = run_cli("sm", "test", "a")
    assert tested.code == 0 and "not AWS" in tested.out
    ok = run_cli("ref", "test", "{{" + cid + "|ap_sep_v1|hostile/db:password}}", "--json")
    assert ok.code == 0 and ok.json["verdict"] == "resolves", ok.out
    assert {"ListSecrets", "GetSecretValue"} <= set(aws_fault_proxy.targets())
    for req in aws_fault_proxy.requests:
        auth = req.header("Authorization") or ""
        assert f"Credential={ADMIN_KEY}/" in auth and AMBIENT_AWS_KEY not in auth
        assert "/us-east-1/" in auth  # the connection's region, not AWS_DEFAULT_REGION or the profile's
    assert proxy.seen == []


def test_conjur_uses_only_the_connection(conjur_double, proxy, run_cli, monkeypatch):
    key = conjur_double.add_host("host/app/ci")
    conjur_double.set_variable("prod/db/password", "conjur-value")
    make_hostile(monkeypatch, proxy, vault_token_file="hvs.unused", vault_token_env=None)
    added = run_cli("sm", "add", "--provider", "cyberark-conjur", "--name", "c", "--set", f"url={conjur_double.url}",
                    "--set", "organizationAccountName=myorg", "--set", "loginId=host/app/ci",
                    "--set-env", "apiKey=KEY", "--json", env={"KEY": key})
    assert added.code == 0, added.out + added.err
    cid = added.json["connection"]["id"]
    assert run_cli("sm", "test", "c").code == 0
    ok = run_cli("ref", "test", "{{" + cid + "|ap_sep_v1|prod/db/password}}", "--json")
    assert ok.code == 0 and ok.json["verdict"] == "resolves", ok.out
    auths = [r for r in conjur_double.requests if r.path.endswith("/authenticate")]
    assert auths and all(r.body.decode() == key for r in auths)
    assert all("ambient" not in r.raw_path for r in conjur_double.requests)
    assert proxy.seen == []


async def test_onepassword_uses_only_the_connection_token(ctx, onepassword_fake, proxy, monkeypatch):
    from aptui.providers.onepassword import OnePasswordProvider

    make_hostile(monkeypatch, proxy, vault_token_file="hvs.unused", vault_token_env=None)
    onepassword_fake.add("prod", "db", "password", "op-value")
    seen: list[str] = []
    original = onepassword_fake.authenticate

    async def recording(token: str):
        seen.append(token)
        return await original(token)

    monkeypatch.setattr(onepassword_fake, "authenticate", recording)
    provider = OnePasswordProvider(onepassword_fake.config(), backend=onepassword_fake)
    await provider.check()
    got = await provider.fetch_many(["op://prod/db/password"])
    await provider.aclose()
    assert got["op://prod/db/password"].value.reveal() == "op-value"
    assert seen and set(seen) == {onepassword_fake.config()["serviceAccountToken"]}
    assert AMBIENT_OP_TOKEN not in seen
