"""HashiCorp Vault client against the Vault double, only for what a real server cannot be made to do: 5xx,
resets, malformed bodies, slow answers, injected error texts. Everything else runs against a real
OpenBao in ``tests/vault_real/``."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers import vault as vault_mod
from aptui.providers.errors import CONNECTION_FAILED
from aptui.providers.vault import VaultProvider
from tests.doubles._http import closed_port_url
from tests.providers.helpers import assert_clean, fast, ticks_during, value

ROLE_ID = "role-id-7f3a9c0e-visible-nowhere"
SECRET_ID = "secret-id-b1d2e3f4-visible-nowhere"


def setup(double, **role_kw) -> VaultProvider:
    role_id, secret_id = double.add_approle("app", role_id=ROLE_ID, secret_id=SECRET_ID, **role_kw)
    return VaultProvider(double.config(role_id, secret_id, role_kw.get("namespace")), fast(),
                         connection_id="vaultConn000000000001")


async def test_no_token_received(vault_double):
    p = setup(vault_double)
    vault_double.fail_next(1, 200, path="/v1/auth/approle/login", body={"auth": None, "data": None})
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.message == "No token received"


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


