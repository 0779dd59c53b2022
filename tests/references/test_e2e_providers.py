"""References resolved through the real provider clients against moto and the Vault/Conjur doubles."""

from __future__ import annotations

import pytest

from aptui.services import connections as conn_svc
from aptui.services import references as svc
from aptui.store.cache import cache_for
from tests.doubles.conjur import ConjurDouble


def ref(cid, path):
    return "{{" + cid + "|ap_sep_v1|" + path + "}}"


@pytest.fixture(autouse=True)
def fast_retries(ctx):
    ctx.settings.retries = 1
    ctx.settings.timeout = 3.0


async def test_aws_bulk_uses_batches_and_upstream_messages(ctx, moto_aws):
    for i in range(25):
        moto_aws.create_secret(f"app/{i}", {"k": f"v{i}", "n": 1})
    moto_aws.create_secret("app/not-json", "plain text")
    moto_aws.create_secret("app/binary", b"\x00\x01")
    moto_aws.create_secret("app/array", "[1, 2]")
    conn = await conn_svc.add(ctx, provider_id="aws", name="aws", config=moto_aws.config())
    cid = conn["id"]
    values = [(f"k{i}", ref(cid, f"app/{i}:k")) for i in range(25)]
    values += [("n", ref(cid, "app/0:n")), ("missing", ref(cid, "app/none:k")), ("text", ref(cid, "app/not-json:k")),
               ("bin", ref(cid, "app/binary:k")), ("arr", ref(cid, "app/array:k"))]
    results = {r.location: r for r in await svc.resolve_values(ctx, values)}
    assert all(results[f"k{i}"].value.reveal() == f"v{i}" for i in range(25))
    assert results["n"].error.message == "[app/0:n] Secret value for key n not found"
    assert results["missing"].error.code == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert results["missing"].error.message.startswith("[app/none:k] ")
    assert results["text"].error.message.startswith("[app/not-json:k] Unexpected token")
    assert results["bin"].error.message == ("[app/binary:k] Secret value is empty or binary "
                                            "(binary secrets are not supported)")
    assert results["arr"].error.message == "[app/array:k] Unexpected secret response from AWS"
    assert cache_for(ctx.store).stats([cid])[cid].entries == 25  # errors are never cached


async def test_aws_wrong_credentials(ctx, moto_aws):
    moto_aws.create_secret("app/x", {"k": "v"})
    moto_aws.enforce_auth()
    conn = await conn_svc.add(ctx, provider_id="aws", name="aws",
                              config=moto_aws.config("AKIAWRONG00000000000", "wrong-secret"), test_first=False)
    r = await svc.test_reference(ctx, ref(conn["id"], "app/x:k"))
    assert r.verdict == svc.ERROR and r.error.code == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert "wrong-secret" not in r.error.one_line()


async def test_vault_kv2_kv1_and_bad_login(ctx, openbao):
    ns = openbao.fresh_namespace()
    role = openbao.approle("app", namespace=ns)
    openbao.write_kv2("secret", "keys", {"api": "kv2-value", "empty": ""}, namespace=ns)
    openbao.write_kv1("kv", "app", {"password": "kv1-value"}, namespace=ns)
    conn = await conn_svc.add(ctx, provider_id="hashicorp", name="vault", config=openbao.config(role))
    cid = conn["id"]
    results = await svc.resolve_values(ctx, [
        (None, ref(cid, "secret/data/keys/api")),
        (None, ref(cid, "secret/data/keys/empty")),
        (None, ref(cid, "kv/app/password")),
        (None, ref(cid, "secret/key")),
    ])
    ok, empty, v1, invalid = results
    assert ok.verdict == svc.RESOLVES and ok.value.reveal() == "kv2-value"
    assert empty.error.message == "[secret/data/keys/empty] No secret found at requested path"
    assert v1.verdict == svc.ERROR and v1.value.reveal() == "kv1-value"  # aptui reads it, Activepieces fails
    assert v1.error.message == "[kv/app/password] No secret found at requested path"
    assert any(w.label == "aptui-extension" for w in v1.warnings)
    assert invalid.error.code == "VALIDATION"
    assert cache_for(ctx.store).get(cid, "kv/app/password", count=False) is None
    bad = await conn_svc.add(ctx, provider_id="hashicorp", name="vault-bad", test_first=False,
                             config=openbao.config(role) | {"secretId": "wrong-secret-id"})
    r = await svc.test_reference(ctx, ref(bad["id"], "secret/data/keys/api"))
    assert r.verdict == svc.ERROR and "wrong-secret-id" not in r.error.one_line()


async def test_vault_5xx_then_success(ctx, vault_double):
    role_id, secret_id = vault_double.add_approle("app")
    vault_double.put("secret", "keys", {"api": "kv2-value"})
    conn = await conn_svc.add(ctx, provider_id="hashicorp", name="vault",
                              config=vault_double.config(role_id, secret_id))
    vault_double.fail_next(1, 503, path="/v1/secret/data/keys")
    r = await svc.test_reference(ctx, ref(conn["id"], "secret/data/keys/api"))
    assert r.verdict == svc.RESOLVES and r.value.reveal() == "kv2-value"


async def test_conjur(ctx, conjur_double):
    api_key = conjur_double.add_host("host/app/ci")
    conjur_double.set_variable("prod/db/password", "conjur-pass")
    conjur_double.set_variable("prod/db/user", "app")
    conn = await conn_svc.add(ctx, provider_id="cyberark-conjur", name="conjur",
                              config=conjur_double.config("host/app/ci", api_key))
    cid = conn["id"]
    results = await svc.resolve_values(ctx, [(None, ref(cid, "prod/db/password")), (None, ref(cid, "prod/db/user")),
                                             (None, ref(cid, "prod/db/missing"))])
    assert [r.verdict for r in results] == [svc.RESOLVES, svc.RESOLVES, svc.ERROR]
    assert results[0].value.reveal() == "conjur-pass"
    assert results[2].error.message.startswith("[prod/db/missing] ")
    assert results[0].parsed["requestPath"] == "/secrets/{account}/variable/prod%2Fdb%2Fpassword"


async def test_conjur_tls_difference_is_labelled(ctx):
    double = ConjurDouble().start(tls=True)
    try:
        api_key = double.add_host("host/app/ci")
        double.set_variable("v", "x")
        conn = await conn_svc.add(ctx, provider_id="cyberark-conjur", name="conjur", test_first=False,
                                  config=double.config("host/app/ci", api_key))
        r = await svc.test_reference(ctx, ref(conn["id"], "v"))
        assert r.verdict == svc.ERROR
        assert any(w.label == "upstream-difference" and "TLS" in w.message for w in r.warnings)
        ctx.settings.conjur_verify_tls = False  # as Activepieces: no verification
        r = await svc.test_reference(ctx, ref(conn["id"], "v"))
        assert r.verdict == svc.RESOLVES and r.value.reveal() == "x"
    finally:
        double.stop()


async def test_onepassword_through_the_provider_interface(ctx, onepassword_fake):
    from aptui.providers.registry import make_provider

    def factory(provider_id, config, options=None, *, connection_id=None):
        return make_provider(provider_id, config, options, connection_id=connection_id, backend=onepassword_fake)

    ctx.provider_factory = factory
    onepassword_fake.add("prod", "db", "password", "op-secret")
    conn = await conn_svc.add(ctx, provider_id="onepassword", name="1p", config=onepassword_fake.config())
    cid = conn["id"]
    results = await svc.resolve_values(ctx, [(None, ref(cid, "op://prod/db/password")),
                                             (None, ref(cid, "op://prod/db/missing")),
                                             (None, ref(cid, "op://prod/db"))])
    assert results[0].verdict == svc.RESOLVES and results[0].value.reveal() == "op-secret"
    assert results[1].error.code == "SECRET_MANAGER_GET_SECRET_FAILED"
    assert results[1].error.message.startswith("[op://prod/db/missing] ")
    assert results[2].error.message == "Wrong secret reference format. Expected: op://vault/item/field"
    with pytest.raises(Exception) as e:
        await conn_svc.add(ctx, provider_id="onepassword", name="1p-bad", config={"serviceAccountToken": "ops_bad"})
    assert e.value.code == "SECRET_MANAGER_CONNECTION_FAILED" and "ops_bad" not in e.value.one_line()


async def test_vault_token_is_reused_across_resolutions_and_dropped_on_update(ctx, vault_double):
    role_id, secret_id = vault_double.add_approle("app")
    vault_double.put("secret", "keys", {"a": "one", "b": "two"})
    conn = await conn_svc.add(ctx, provider_id="hashicorp", name="vault",
                              config=vault_double.config(role_id, secret_id))
    cid = conn["id"]
    base = vault_double.successful_logins
    for key in ("a", "b"):  # cache off: each call reaches Vault
        r = await svc.test_reference(ctx, ref(cid, f"secret/data/keys/{key}"), use_cache=False)
        assert r.verdict == svc.RESOLVES
    assert vault_double.successful_logins == base + 1  # one login, token reused
    await conn_svc.update(ctx, cid, set_fields={"secretId": secret_id}, test_first=False)
    r = await svc.test_reference(ctx, ref(cid, "secret/data/keys/a"), use_cache=False)
    assert r.verdict == svc.RESOLVES
    # Re-setting the same config keeps the live client; no extra login needed.
    assert vault_double.successful_logins == base + 1
    conn_svc.remove(ctx, cid)
    from aptui.providers import registry

    assert cid not in registry.live_connections()
