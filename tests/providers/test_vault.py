"""HashiCorp Vault client against the Vault double (real HTTP, Vault's wire format)."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers import vault as vault_mod
from aptui.providers.errors import CONNECTION_FAILED, GET_SECRET_FAILED
from aptui.providers.vault import MOUNTS_DENIED, V1_NOTE, VaultProvider
from tests.doubles._http import closed_port_url
from tests.providers.helpers import assert_clean, cases_with_values, fast, reason, ticks_during, value

ROLE_ID = "role-id-7f3a9c0e-visible-nowhere"
SECRET_ID = "secret-id-b1d2e3f4-visible-nowhere"


def setup(double, **role_kw) -> VaultProvider:
    role_id, secret_id = double.add_approle("app", role_id=ROLE_ID, secret_id=SECRET_ID, **role_kw)
    return VaultProvider(double.config(role_id, secret_id, role_kw.get("namespace")), fast(),
                         connection_id="vaultConn000000000001")


async def test_check_logs_in_and_reads_sys_mounts(vault_double):
    p = setup(vault_double)
    await p.check()
    assert vault_double.counts() == {"POST /v1/auth/approle/login": 1, "GET /v1/sys/mounts": 1}
    login, mounts = vault_double.requests
    assert login.json() == {"role_id": ROLE_ID, "secret_id": SECRET_ID}
    assert mounts.header("X-Vault-Token", ) and mounts.header("X-Vault-Request") == "true"
    assert mounts.header("X-Vault-Namespace") is None
    await p.aclose()


async def test_wrong_credentials(vault_double):
    vault_double.add_approle("app", role_id=ROLE_ID, secret_id=SECRET_ID)
    p = VaultProvider(vault_double.config(ROLE_ID, "wrong-secret-id-zzz"), fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    err = info.value
    assert err.code == CONNECTION_FAILED and err.exit_code == Exit.FAILED
    assert err.message == "Request failed with status code 400"
    assert err.hint.startswith("invalid role or secret ID; aptui will not retry this secret id")
    assert "5 refused logins" in err.hint and "lock the role out" in err.hint
    assert err.params == {"provider": "hashicorp"}
    assert_clean(err, ROLE_ID, "wrong-secret-id-zzz")
    assert vault_double.count("/v1/auth/approle/login") == 1  # 400 is not retried


async def test_fetch_with_wrong_credentials_raises_connection_failed_like_upstream(vault_double):
    p = VaultProvider(vault_double.config("nobody", "nothing-here"), fast())
    with pytest.raises(AptuiError) as info:
        await p.fetch_many(["secret/data/keys/k"])
    assert info.value.code == CONNECTION_FAILED


async def test_no_token_received(vault_double):
    p = setup(vault_double)
    vault_double.fail_next(1, 200, path="/v1/auth/approle/login", body={"auth": None, "data": None})
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.message == "No token received"


async def test_sys_mounts_denied(vault_double):
    p = setup(vault_double, read_mounts=False)
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED
    assert info.value.message == MOUNTS_DENIED + "Request failed with status code 403"
    assert info.value.message == ("Permission denied. make sure the app role policies has the necessary "
                                  "permissions Request failed with status code 403")
    with pytest.raises(AptuiError) as info2:  # as upstream: every fetch fails the same way
        await p.fetch_many(["secret/data/keys/k"])
    assert info2.value.message.startswith("Permission denied.")


async def test_unreachable(vault_double):
    p = VaultProvider({"url": closed_port_url() + "/", "roleId": ROLE_ID, "secretId": SECRET_ID}, fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.UNREACHABLE
    assert info.value.message.startswith("connection refused (http://127.0.0.1:")
    assert_clean(info.value, ROLE_ID, SECRET_ID)


@pytest.mark.parametrize("url", ["vault.example.com:8200", "ftp://vault.example.com", "http://"])
async def test_invalid_url(url):
    p = VaultProvider({"url": url, "roleId": ROLE_ID, "secretId": SECRET_ID}, fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.FAILED
    assert info.value.message.startswith("invalid Vault URL")


async def test_timeout_does_not_block_the_loop(vault_double):
    p = setup(vault_double)
    p.options.timeout = 0.3
    vault_double.delay = 2.0
    result, ticks = await ticks_during(p.check())
    assert isinstance(result, AptuiError) and result.exit_code == Exit.UNREACHABLE
    assert result.message.startswith("timed out after 0.3s")
    assert ticks >= 5


@pytest.mark.parametrize("status", [429, 500, 503, 412])
async def test_transient_failures_are_retried(vault_double, status):
    vault_double.put("secret", "keys", {"k": "v"})
    p = setup(vault_double)
    vault_double.fail_next(2, status, path="/v1/secret/data/keys")
    assert value((await p.fetch_many(["secret/data/keys/k"]))["secret/data/keys/k"]) == "v"
    assert vault_double.count("/v1/secret/data/keys") == 3


async def test_retries_are_bounded(vault_double):
    p = setup(vault_double)
    vault_double.fail_next(99, 503, path="/v1/auth/approle/login", body={"errors": ["Vault is sealed"]})
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.message == "Request failed with status code 503"
    assert info.value.hint == "Vault is sealed"
    assert vault_double.count("/v1/auth/approle/login") == 4  # retries=3 → 4 attempts


async def test_missing_secret_and_missing_key(vault_double):
    vault_double.put("secret", "keys", {"present": "x"})
    p = setup(vault_double)
    res = await p.fetch_many(["secret/data/nothing/k", "secret/data/keys/absent"])
    err = res["secret/data/nothing/k"].error
    assert err.code == GET_SECRET_FAILED and err.exit_code == Exit.FAILED
    assert err.message == "[secret/data/nothing/k] Request failed with status code 404"
    assert err.params["request"] == {"connectionId": "vaultConn000000000001", "path": "secret/data/nothing/k",
                                     "url": f"{vault_double.url}/v1/secret/data/nothing"}
    assert reason(res["secret/data/keys/absent"]) == "[secret/data/keys/absent] No secret found at requested path"


@pytest.mark.parametrize("falsy", ["", 0, False, None])
async def test_falsy_values_are_not_found(vault_double, falsy):
    vault_double.put("secret", "keys", {"k": falsy})
    p = setup(vault_double)
    assert reason((await p.fetch_many(["secret/data/keys/k"]))["secret/data/keys/k"]) == \
        "[secret/data/keys/k] No secret found at requested path"


@pytest.mark.parametrize(("raw", "shown"), [(42, "42"), (True, "true"), ({"a": 1}, '{"a":1}'), ([], "[]"),
                                            ({}, "{}")])
async def test_non_string_values_returned_as_json_text(vault_double, raw, shown):
    vault_double.put("secret", "keys", {"k": raw})
    res = (await setup(vault_double).fetch_many(["secret/data/keys/k"]))["secret/data/keys/k"]
    assert value(res) == shown
    assert res.upstream_ok and any("non-string value" in n for n in res.notes)


async def test_keys_of_one_secret_share_one_read(vault_double):
    vault_double.put("secret", "app", {"a": "1", "b": "2", "c": "3"})
    p = setup(vault_double)
    paths = ["secret/data/app/a", "secret/data/app/b", "secret/data/app/c", "secret/data/app/a"]
    res = await p.fetch_many(paths)
    assert [value(res[x]) for x in ("secret/data/app/a", "secret/data/app/b", "secret/data/app/c")] == ["1", "2", "3"]
    assert vault_double.count("/v1/secret/data/app") == 1


async def test_soft_deleted_version_and_missing_data_segment_hints(vault_double):
    vault_double.put("secret", "old", {"k": "v"})
    vault_double.soft_delete("secret", "old")
    vault_double.put("secret", "new", {"k": "v"})
    res = await setup(vault_double).fetch_many(["secret/data/old/k", "secret/new/k"])
    old = res["secret/data/old/k"].error
    assert old.message == "[secret/data/old/k] Request failed with status code 404"
    assert "version 1 was deleted at" in old.hint
    new = res["secret/new/k"].error
    assert new.message == "[secret/new/k] Request failed with status code 404"
    assert "KV v2 mount" in new.hint and "secret/data/" in new.hint


async def test_trailing_slash_asks_for_empty_field_like_upstream(vault_double):
    vault_double.put("secret", "keys", {"k": "v"})
    res = (await setup(vault_double).fetch_many(["secret/data/keys/"]))["secret/data/keys/"]
    assert reason(res) == "[secret/data/keys/] No secret found at requested path"


async def test_invalid_path_is_validation(vault_double):
    res = (await setup(vault_double).fetch_many(["secret/key"]))["secret/key"]
    assert res.error.code == "VALIDATION"
    assert res.error.message == "Wrong path format . should be mount/data/path/key. got secret/key"


async def test_namespace_header_on_every_request(vault_double):
    vault_double.enable_kv("secret", version=2, namespace="team-a")
    vault_double.put("secret", "keys", {"k": "ns-value"}, namespace="team-a")
    vault_double.put("secret", "keys", {"k": "root-value"})
    p = setup(vault_double, namespace="team-a")
    await p.check()
    assert value((await p.fetch_many(["secret/data/keys/k"]))["secret/data/keys/k"]) == "ns-value"
    assert vault_double.requests and all(r.header("X-Vault-Namespace") == "team-a" for r in vault_double.requests)


async def test_namespace_missing_means_bad_login(vault_double):
    vault_double.add_approle("app", role_id=ROLE_ID, secret_id=SECRET_ID, namespace="team-a")
    p = VaultProvider(vault_double.config(ROLE_ID, SECRET_ID), fast())  # no namespace
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.hint.startswith("invalid role or secret ID;")


async def test_kv_v1_is_a_labelled_extension(vault_double):
    vault_double.enable_kv("kv", version=1)
    vault_double.put("kv", "myapp", {"password": "v1-value", "empty": ""})
    res = await setup(vault_double).fetch_many(["kv/myapp/password", "kv/myapp/empty", "kv/myapp/none"])
    ok = res["kv/myapp/password"]
    assert value(ok) == "v1-value"
    assert ok.upstream_ok is False and V1_NOTE in ok.notes
    assert "No secret found at requested path" in ok.notes[0]
    assert reason(res["kv/myapp/empty"]) == "[kv/myapp/empty] No secret found at requested path"
    assert res["kv/myapp/none"].error.hint.startswith("KV v1 mount")
    assert vault_double.count("/v1/kv/myapp") == 1


async def test_kv_v1_detected_through_ui_mounts_when_sys_mounts_lacks_it(vault_double, monkeypatch):
    vault_double.enable_kv("kv", version=1)
    vault_double.put("kv", "myapp", {"password": "v1-value"})
    p = setup(vault_double)
    await p.check()
    p._mounts = {}  # e.g. a policy that lists only some mounts
    res = (await p.fetch_many(["kv/myapp/password"]))["kv/myapp/password"]
    assert value(res) == "v1-value" and not res.upstream_ok
    assert vault_double.count("/v1/sys/internal/ui/mounts/kv/myapp") == 1


async def test_token_reused_across_calls(vault_double):
    vault_double.put("secret", "keys", {"k": "v"})
    p = setup(vault_double)
    for _ in range(3):
        await p.fetch_many(["secret/data/keys/k"])
    assert vault_double.logins == 1 and p.logins == 1
    assert vault_double.count("/v1/sys/mounts") == 1


async def test_relogin_when_token_expired_server_side(vault_double):
    vault_double.put("secret", "keys", {"k": "v"})
    p = setup(vault_double)
    await p.fetch_many(["secret/data/keys/k"])
    vault_double.expire_tokens()
    assert value((await p.fetch_many(["secret/data/keys/k"]))["secret/data/keys/k"]) == "v"
    assert vault_double.logins == 2
    assert vault_double.count("/v1/auth/token/lookup-self") == 1


async def test_relogin_before_lease_ends(vault_double, monkeypatch):
    vault_double.put("secret", "keys", {"k": "v"})
    p = setup(vault_double, token_ttl=60)
    now = [1000.0]
    monkeypatch.setattr(vault_mod.time, "monotonic", lambda: now[0])
    await p.fetch_many(["secret/data/keys/k"])
    now[0] += 50  # inside the lease minus the margin (60 - 6)
    await p.fetch_many(["secret/data/keys/k"])
    assert vault_double.logins == 1
    now[0] += 5  # past 54 s: log in again before Vault would refuse the token
    await p.fetch_many(["secret/data/keys/k"])
    assert vault_double.logins == 2


async def test_policy_denial_is_not_mistaken_for_expiry(vault_double):
    vault_double.put("secret", "keys", {"k": "v"})
    vault_double.put("secret", "other", {"k": "v"})
    p = setup(vault_double, paths=["secret/data/keys"])
    res = await p.fetch_many(["secret/data/keys/k", "secret/data/other/k"])
    assert value(res["secret/data/keys/k"]) == "v"
    assert reason(res["secret/data/other/k"]) == "[secret/data/other/k] Request failed with status code 403"
    assert res["secret/data/other/k"].error.hint == "1 error occurred: * permission denied"
    assert vault_double.logins == 1


async def test_provider_text_is_scrubbed(vault_double):
    p = setup(vault_double)
    vault_double.fail_next(1, 400, path="/v1/auth/approle/login",
                           body={"errors": [f"secret id {SECRET_ID} for role {ROLE_ID} is bad\nsecond line"]})
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert_clean(info.value, ROLE_ID, SECRET_ID)
    assert "\n" not in info.value.hint


async def test_token_never_in_errors(vault_double):
    p = setup(vault_double)
    await p.check()
    token = p._token
    vault_double.fail_next(1, 500, path="/v1/secret/data/x", body={"errors": [f"token {token} rejected"]})
    p.options.retries = 0
    p._policy = vault_mod.RetryPolicy.from_options(p.options)
    res = (await p.fetch_many(["secret/data/x/k"]))["secret/data/x/k"]
    assert_clean(res.error, token, ROLE_ID, SECRET_ID)


@pytest.mark.parametrize("case", cases_with_values("hashicorp"), ids=lambda c: c["id"])
async def test_reference_cases_resolve(vault_double, case):
    for mount, tree in case["fixture"]["kv2"].items():
        _seed_kv2(vault_double, mount, "", tree)
    path = case["parsed"]["path"]
    assert value((await setup(vault_double).fetch_many([path]))[path]) == case["value"]
    assert vault_double.count(case["parsed"]["requestPath"]) == 1


def _seed_kv2(double, mount: str, prefix: str, tree: dict) -> None:
    """``{"keys": {"my-api-key": "v"}}`` → secret ``keys`` with field ``my-api-key``."""
    leaves = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    if leaves:
        double.put(mount, prefix, leaves)
    for k, v in tree.items():
        if isinstance(v, dict):
            _seed_kv2(double, mount, f"{prefix}/{k}".strip("/"), v)
