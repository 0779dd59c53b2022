"""The Vault provider against a real OpenBao: token expiry and re-login, the AppRole lockout (never
retrying a refused secret id, naming the lockout and the unlock path), exact upstream templates."""

from __future__ import annotations

import time

import pytest

from aptui.errors import AptuiError
from aptui.providers import errors as E
from aptui.providers.base import ProviderOptions
from aptui.providers.vault import MOUNTS_DENIED, NOT_RETRIED, VaultProvider
from tests.hermetic.wire import Forwarder


def fast() -> ProviderOptions:
    return ProviderOptions(timeout=5, retries=0, extra={"backoff_base": 0})


def wait_until_expired(openbao, token: str, limit: float = 15.0) -> None:
    """Poll the server (not a guess at the time) until it says the token is dead."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status, _ = openbao.request("GET", "auth/token/lookup-self", token=token)
        if status == 403:
            return
        time.sleep(0.1)
    raise AssertionError("the token did not expire")


@pytest.fixture
def forwarder(openbao):
    fwd = Forwarder(openbao.addr).start()
    yield fwd
    fwd.stop()


def logins(fwd) -> list[int]:
    return [x.status for x in fwd.exchanges if x.request.path == "/v1/auth/approle/login"]


async def test_expired_token_is_replaced_by_a_new_login(openbao, bao_role, forwarder):
    role = bao_role(token_ttl="1s")
    openbao.write_kv2("secret", "ttl/app", {"k": "ttl-value"})
    p = VaultProvider(openbao.config(role, url=forwarder.url), fast())
    try:
        first = await p.fetch_many(["secret/data/ttl/app/k"])
        assert first["secret/data/ttl/app/k"].value.reveal() == "ttl-value" and p.logins == 1
        token = p._token
        p._deadline = None  # pretend the lease was unknown: only Vault's 403 can tell
        wait_until_expired(openbao, token)
        again = await p.fetch_many(["secret/data/ttl/app/k"])
        assert again["secret/data/ttl/app/k"].value.reveal() == "ttl-value"
        assert p.logins == 2 and p._token != token
        probes = [x for x in forwarder.exchanges if x.request.path == "/v1/auth/token/lookup-self"]
        assert probes and probes[-1].status == 403  # the re-login followed Vault's verdict on the token
    finally:
        await p.aclose()


async def test_lease_end_logs_in_again_before_using_a_dead_token(openbao, bao_role, forwarder):
    role = bao_role(token_ttl="1s")
    openbao.write_kv2("secret", "ttl/lease", {"k": "v"})
    p = VaultProvider(openbao.config(role, url=forwarder.url), fast())
    try:
        await p.fetch_many(["secret/data/ttl/lease/k"])
        wait_until_expired(openbao, p._token)
        got = await p.fetch_many(["secret/data/ttl/lease/k"])
        assert got["secret/data/ttl/lease/k"].ok and p.logins == 2
        reads = [x.status for x in forwarder.exchanges if x.request.path == "/v1/secret/data/ttl/lease"]
        assert reads == [200, 200]  # no read was sent with the dead token
    finally:
        await p.aclose()


async def test_a_refused_secret_id_is_never_sent_again(openbao, bao_role, forwarder):
    role = bao_role()
    cfg = openbao.config(role, url=forwarder.url) | {"secretId": "11111111-2222-3333-4444-555555555555"}
    p = VaultProvider(cfg, fast())
    with pytest.raises(AptuiError) as first:
        await p.check()
    assert first.value.hint.startswith("invalid role or secret ID;") and "5 refused logins" in first.value.hint
    for _ in range(3):
        with pytest.raises(AptuiError) as again:
            await VaultProvider(cfg, fast()).check()
        assert again.value.message == NOT_RETRIED
    with pytest.raises(AptuiError) as fetch:
        await p.fetch_many(["secret/data/any/k"])
    assert fetch.value.message == NOT_RETRIED
    assert logins(forwarder) == [400]  # one refused login on the wire, whatever aptui was asked to do


async def test_lockout_after_five_refusals_is_named_with_its_unlock_path(openbao, bao_role, forwarder):
    role = bao_role()
    bad = openbao.config(role, url=forwarder.url) | {"secretId": "99999999-2222-3333-4444-555555555555"}
    with pytest.raises(AptuiError):
        await VaultProvider(bad, fast()).check()
    for n in range(4):  # four more refusals from elsewhere (another process, a colleague)
        status, _ = openbao.login(role, f"0000000{n}-0000-0000-0000-000000000000")
        assert status == 400
    good = VaultProvider(openbao.config(role, url=forwarder.url), fast())
    with pytest.raises(AptuiError) as locked:
        await good.check()  # the valid secret id, refused: the role is locked out
    err = locked.value
    assert err.message == "Request failed with status code 403"
    assert "locked out" in err.hint and "after 1 refused login" in err.hint
    assert "sys/locked-users/<approle mount accessor>/unlock/<role id>" in err.hint
    openbao.unlock(role)
    await VaultProvider(openbao.config(role, url=forwarder.url), fast()).check()


async def test_a_403_login_without_known_failures_still_names_the_lockout(openbao, bao_role):
    role = bao_role()
    for n in range(5):
        openbao.login(role, f"0000000{n}-1111-0000-0000-000000000000")
    with pytest.raises(AptuiError) as locked:
        await VaultProvider(openbao.config(role), fast()).check()
    assert locked.value.message == "Request failed with status code 403"
    assert "user lockout" in locked.value.hint and "unlock" in locked.value.hint
    openbao.unlock(role)


def test_templates_are_filled_exactly_also_with_an_empty_value():
    err = E.connection_failed("hashicorp", "", template=MOUNTS_DENIED)
    assert err.message == "Permission denied. make sure the app role policies has the necessary permissions "
    err = E.connection_failed("hashicorp", "Request failed with status code 403", template=MOUNTS_DENIED)
    assert err.message.endswith("permissions Request failed with status code 403")
    assert E.get_secret_failed("hashicorp", "a/b/c", "").message == "[a/b/c] "
