"""The Vault provider's reads and login against a real OpenBao (was: the Vault double): the check,
wrong credentials, sys/mounts denied, missing secret/key, falsy and non-string values, one read per
secret, soft delete and missing ``data/`` hints, namespaces, KV v1, token reuse and re-login, policy
denials, and the reference cases. The double keeps only what a real server cannot do."""

from __future__ import annotations

import uuid

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers import vault as vault_mod
from aptui.providers.errors import CONNECTION_FAILED, GET_SECRET_FAILED
from aptui.providers.vault import MOUNTS_DENIED, V1_NOTE, VaultProvider
from tests.hermetic.wire import Forwarder
from tests.providers.helpers import assert_clean, cases_with_values, fast, reason, value

CONN_ID = "vaultConn000000000001"


class Bao:
    """One test's view of the shared OpenBao: a forwarder that records, a unique role, a path prefix."""

    def __init__(self, openbao, fwd: Forwarder) -> None:
        self.server, self.fwd = openbao, fwd
        self.tag = uuid.uuid4().hex[:8]
        self.prefix = f"t{self.tag}"  # every test's secrets under secret/data/t<tag>/...

    def role(self, *, namespace: str = "", policies=("activepieces",), **kw):
        return self.server.approle(f"kv-{self.tag}", policies=list(policies), namespace=namespace, **kw)

    def provider(self, role, **cfg) -> VaultProvider:
        return VaultProvider(self.server.config(role, url=self.fwd.url) | cfg, fast(), connection_id=CONN_ID)

    def count(self, path: str) -> int:
        return sum(1 for x in self.fwd.exchanges if x.request.path == path)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for x in self.fwd.exchanges:
            key = f"{x.request.method} {x.request.path}"
            out[key] = out.get(key, 0) + 1
        return out

    def p(self, rest: str) -> str:
        return f"{self.prefix}/{rest}"


@pytest.fixture
def bao(openbao):
    fwd = Forwarder(openbao.addr).start()
    yield Bao(openbao, fwd)
    fwd.stop()


async def test_check_logs_in_and_reads_sys_mounts(bao):
    role = bao.role()
    p = bao.provider(role)
    await p.check()
    assert bao.counts() == {"POST /v1/auth/approle/login": 1, "GET /v1/sys/mounts": 1}
    login, mounts = (x.request for x in bao.fwd.exchanges)
    assert login.json() == {"role_id": role.role_id, "secret_id": role.secret_id}
    assert login.header("X-Vault-Token") is None
    assert mounts.header("X-Vault-Token") and mounts.header("X-Vault-Request") == "true"
    assert mounts.header("X-Vault-Namespace") is None
    await p.aclose()


async def test_wrong_credentials(bao):
    role = bao.role()
    p = bao.provider(role, secretId="wrong-secret-id-zzz")
    with pytest.raises(AptuiError) as info:
        await p.check()
    err = info.value
    assert err.code == CONNECTION_FAILED and err.exit_code == Exit.FAILED
    assert err.message == "Request failed with status code 400"
    assert err.hint.startswith("invalid role or secret ID; aptui will not retry this secret id")
    assert err.params == {"provider": "hashicorp"}
    assert_clean(err, role.role_id, "wrong-secret-id-zzz")
    assert bao.count("/v1/auth/approle/login") == 1  # 400 is not retried
    with pytest.raises(AptuiError) as fetch:  # as upstream: a fetch with bad credentials fails the connection
        await bao.provider(role, roleId="nobody", secretId="nothing").fetch_many(["secret/data/keys/k"])
    assert fetch.value.code == CONNECTION_FAILED


async def test_sys_mounts_denied(bao):
    p = bao.provider(bao.role(policies=["no-mounts"]))
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED
    assert info.value.message == MOUNTS_DENIED + "Request failed with status code 403"
    with pytest.raises(AptuiError) as info2:  # as upstream: every fetch fails the same way
        await p.fetch_many(["secret/data/keys/k"])
    assert info2.value.message.startswith("Permission denied.")


async def test_missing_secret_and_missing_key(bao):
    bao.server.write_kv2("secret", bao.p("keys"), {"present": "x"})
    nothing, absent = f"secret/data/{bao.p('nothing')}/k", f"secret/data/{bao.p('keys')}/absent"
    res = await bao.provider(bao.role()).fetch_many([nothing, absent])
    err = res[nothing].error
    assert err.code == GET_SECRET_FAILED and err.exit_code == Exit.FAILED
    assert err.message == f"[{nothing}] Request failed with status code 404"
    assert err.params["request"] == {"connectionId": CONN_ID, "path": nothing,
                                     "url": f"{bao.fwd.url}/v1/secret/data/{bao.p('nothing')}"}
    assert reason(res[absent]) == f"[{absent}] No secret found at requested path"


@pytest.mark.parametrize("falsy", ["", 0, False, None])
async def test_falsy_values_are_not_found(bao, falsy):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": falsy})
    path = f"secret/data/{bao.p('keys')}/k"
    assert reason((await bao.provider(bao.role()).fetch_many([path]))[path]) == \
        f"[{path}] No secret found at requested path"


@pytest.mark.parametrize(("raw", "shown"), [(42, "42"), (True, "true"), ({"a": 1}, '{"a":1}'), ([], "[]"),
                                            ({}, "{}")])
async def test_non_string_values_returned_as_json_text(bao, raw, shown):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": raw})
    path = f"secret/data/{bao.p('keys')}/k"
    res = (await bao.provider(bao.role()).fetch_many([path]))[path]
    assert value(res) == shown
    assert res.upstream_ok and any("non-string value" in n for n in res.notes)


async def test_keys_of_one_secret_share_one_read(bao):
    bao.server.write_kv2("secret", bao.p("app"), {"a": "1", "b": "2", "c": "3"})
    base = f"secret/data/{bao.p('app')}"
    res = await bao.provider(bao.role()).fetch_many([f"{base}/a", f"{base}/b", f"{base}/c", f"{base}/a"])
    assert [value(res[f"{base}/{k}"]) for k in "abc"] == ["1", "2", "3"]
    assert bao.count(f"/v1/{base}") == 1


async def test_soft_deleted_version_and_missing_data_segment_hints(bao):
    bao.server.write_kv2("secret", bao.p("old"), {"k": "v"})
    bao.server.delete_kv2("secret", bao.p("old"))
    bao.server.write_kv2("secret", bao.p("new"), {"k": "v"})
    old, new = f"secret/data/{bao.p('old')}/k", f"secret/{bao.p('new')}/k"
    res = await bao.provider(bao.role()).fetch_many([old, new])
    assert res[old].error.message == f"[{old}] Request failed with status code 404"
    assert "version 1 was deleted at" in res[old].error.hint
    # The Activepieces policy covers secret/data/* only: a real server says 403, not 404.
    assert res[new].error.message == f"[{new}] Request failed with status code 403"
    assert "KV v2 mount" in res[new].error.hint and "secret/data/" in res[new].error.hint


async def test_trailing_slash_and_short_paths_like_upstream(bao):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "v"})
    p = bao.provider(bao.role())
    slash = f"secret/data/{bao.p('keys')}/"
    res = await p.fetch_many([slash, "secret/key"])
    assert reason(res[slash]) == f"[{slash}] No secret found at requested path"
    assert res["secret/key"].error.code == "VALIDATION"
    assert res["secret/key"].error.message == "Wrong path format . should be mount/data/path/key. got secret/key"


async def test_namespace_header_on_every_request(bao):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "ns-value"}, namespace="team-a")
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "root-value"})
    p = bao.provider(bao.role(namespace="team-a"))
    await p.check()
    path = f"secret/data/{bao.p('keys')}/k"
    assert value((await p.fetch_many([path]))[path]) == "ns-value"
    assert all(x.request.header("X-Vault-Namespace") == "team-a" for x in bao.fwd.exchanges)


async def test_namespace_missing_means_bad_login(bao):
    role = bao.role(namespace="team-a")
    p = bao.provider(role, namespace="")
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.hint.startswith("invalid role or secret ID;")


async def test_kv_v1_is_a_labelled_extension(bao):
    bao.server.write_kv1("kv", bao.p("myapp"), {"password": "v1-value", "empty": ""})
    base = f"kv/{bao.p('myapp')}"
    res = await bao.provider(bao.role()).fetch_many([f"{base}/password", f"{base}/empty", f"{base}/none"])
    ok = res[f"{base}/password"]
    assert value(ok) == "v1-value" and ok.upstream_ok is False and V1_NOTE in ok.notes
    assert reason(res[f"{base}/empty"]) == f"[{base}/empty] No secret found at requested path"
    assert res[f"{base}/none"].error.hint.startswith("KV v1 mount")
    assert bao.count(f"/v1/{base}") == 1


async def test_kv_v1_detected_through_ui_mounts_when_sys_mounts_lacks_it(bao):
    bao.server.write_kv1("kv", bao.p("myapp"), {"password": "v1-value"})
    p = bao.provider(bao.role())
    await p.check()
    p._mounts = {}  # e.g. a policy that lists only some mounts
    path = f"kv/{bao.p('myapp')}/password"
    res = (await p.fetch_many([path]))[path]
    assert value(res) == "v1-value" and not res.upstream_ok
    assert bao.count(f"/v1/sys/internal/ui/mounts/kv/{bao.p('myapp')}") == 1


async def test_token_reused_across_calls(bao):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "v"})
    p = bao.provider(bao.role())
    for _ in range(3):
        await p.fetch_many([f"secret/data/{bao.p('keys')}/k"])
    assert p.logins == 1 and bao.count("/v1/auth/approle/login") == 1 and bao.count("/v1/sys/mounts") == 1


async def test_relogin_when_token_revoked_server_side(bao):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "v"})
    p = bao.provider(bao.role())
    path = f"secret/data/{bao.p('keys')}/k"
    await p.fetch_many([path])
    bao.server.call("POST", "auth/token/revoke", {"token": p._token})
    assert value((await p.fetch_many([path]))[path]) == "v"
    assert bao.count("/v1/auth/approle/login") == 2 and bao.count("/v1/auth/token/lookup-self") == 1


async def test_relogin_before_lease_ends(bao, monkeypatch):
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "v"})
    p = bao.provider(bao.role(token_ttl="60s"))
    now = [1000.0]
    monkeypatch.setattr(vault_mod.time, "monotonic", lambda: now[0])  # the injected clock
    path = f"secret/data/{bao.p('keys')}/k"
    await p.fetch_many([path])
    now[0] += 50  # inside the lease minus the margin (60 - 6)
    await p.fetch_many([path])
    assert bao.count("/v1/auth/approle/login") == 1
    now[0] += 5  # past 54 s: log in again before Vault would refuse the token
    await p.fetch_many([path])
    assert bao.count("/v1/auth/approle/login") == 2


async def test_policy_denial_is_not_mistaken_for_expiry(bao):
    name = f"only-keys-{bao.tag}"
    bao.server.write_policy(name, f'path "secret/data/{bao.p("keys")}" {{ capabilities = ["read"] }}\n'
                                  'path "sys/mounts" { capabilities = ["read"] }\n')
    bao.server.write_kv2("secret", bao.p("keys"), {"k": "v"})
    bao.server.write_kv2("secret", bao.p("other"), {"k": "v"})
    p = bao.provider(bao.role(policies=[name]))
    keys, other = f"secret/data/{bao.p('keys')}/k", f"secret/data/{bao.p('other')}/k"
    res = await p.fetch_many([keys, other])
    assert value(res[keys]) == "v"
    assert reason(res[other]) == f"[{other}] Request failed with status code 403"
    assert "permission denied" in res[other].error.hint
    assert bao.count("/v1/auth/approle/login") == 1


@pytest.mark.parametrize("case", cases_with_values("hashicorp"), ids=lambda c: c["id"])
async def test_reference_cases_resolve(bao, case):
    for mount, tree in case["fixture"]["kv2"].items():
        bao.server.enable_kv(mount, 2)
        _seed_kv2(bao.server, mount, "", tree)
    path = case["parsed"]["path"]
    assert value((await bao.provider(bao.role()).fetch_many([path]))[path]) == case["value"]
    assert bao.count(case["parsed"]["requestPath"]) == 1


def _seed_kv2(server, mount: str, prefix: str, tree: dict) -> None:
    """``{"keys": {"my-api-key": "v"}}`` → secret ``keys`` with field ``my-api-key``."""
    leaves = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    if leaves:
        server.write_kv2(mount, prefix, leaves)
    for k, v in tree.items():
        if isinstance(v, dict):
            _seed_kv2(server, mount, f"{prefix}/{k}".strip("/"), v)
