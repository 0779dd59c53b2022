"""The CLI against a real OpenBao: sm add/test in every namespace, ref test/resolve/scan (masked and
revealed), missing key/path, wrong secret id, a policy without sys/mounts, KV v1, the cache."""

from __future__ import annotations

import json

import pytest

from tests.hermetic.wire import Forwarder

MOUNTS_DENIED = ("Permission denied. make sure the app role policies has the necessary permissions "
                 "Request failed with status code 403")


def add(run_cli, openbao, role, name="vault-bao", url=None, *extra):
    cfg = openbao.config(role, url=url)
    args = ["sm", "add", "--provider", "hashicorp", "--name", name, "--set", f"url={cfg['url']}",
            "--set-env", "roleId=RID", "--set-env", "secretId=SID", *extra, "--json"]
    if role.namespace:
        args[args.index("--json"):args.index("--json")] = ["--set", f"namespace={role.namespace}"]
    return run_cli(*args, env={"RID": role.role_id, "SID": role.secret_id})


def ref(cid: str, path: str) -> str:
    return "{{" + cid + "|ap_sep_v1|" + path + "}}"


@pytest.mark.parametrize("namespace", ["", "team-a", "team-a/child"])
def test_sm_add_and_test_in_every_namespace(openbao, bao_role, run_cli, namespace):
    role = bao_role(namespace.replace("/", "-") or "root", namespace=namespace)
    openbao.write_kv2("secret", "ns-probe", {"where": f"in {namespace or 'root'}"}, namespace=namespace)
    added = add(run_cli, openbao, role)
    assert added.code == 0, added.out
    cid = added.json["connection"]["id"]
    assert added.json["connection"]["connection"] == {"configured": True, "connected": True}
    tested = run_cli("sm", "test", "vault-bao", "--json")
    assert tested.code == 0 and tested.json["ok"] is True
    shown = run_cli("ref", "test", ref(cid, "secret/data/ns-probe/where"), "--reveal", "--json")
    assert shown.code == 0 and shown.json["value"] == f"in {namespace or 'root'}"


def test_sm_add_shows_the_servers_reason_and_the_lockout(openbao, bao_role, run_cli):
    role = bao_role()
    role.secret_id = "00000000-0000-0000-0000-000000000000"
    refused = add(run_cli, openbao, role)
    assert refused.code == 1
    err = refused.json["error"]
    assert err["code"] == "SECRET_MANAGER_CONNECTION_FAILED" and err["message"] == "Request failed with status code 400"
    assert err["hint"].startswith("invalid role or secret ID;")  # the server's own reason
    assert "lock the role out" in err["hint"] and "nothing was saved" in err["hint"]
    text = add(run_cli, openbao, role, "vault-bao", None)
    assert "invalid role or secret ID" in text.out
    assert run_cli("sm", "list", "--json").json["data"] == []


def test_ref_test_resolve_and_scan_masked_and_revealed(openbao, bao_role, run_cli, tmp_path):
    role = bao_role()
    openbao.write_kv2("secret", "cli/app", {"api_key": "bao-api-key-value-1", "db": "bao-db-pass-2"})
    cid = add(run_cli, openbao, role).json["connection"]["id"]
    masked = run_cli("ref", "test", ref(cid, "secret/data/cli/app/api_key"))
    assert masked.code == 0 and "bao-api-key-value-1" not in masked.out and "resolves" in masked.out
    revealed = run_cli("ref", "test", ref(cid, "secret/data/cli/app/api_key"), "--reveal", "--json")
    assert revealed.json["value"] == "bao-api-key-value-1"
    doc = tmp_path / "conn.json"
    doc.write_text(json.dumps({"auth": {"key": ref(cid, "secret/data/cli/app/api_key"),
                                        "db": ref(cid, "secret/data/cli/app/db")}, "plain": "x"}))
    resolved = run_cli("ref", "resolve", str(doc), "--json")
    assert resolved.code == 0, resolved.out
    assert "bao-api-key-value-1" not in resolved.out and "bao-db-pass-2" not in resolved.out
    clear = run_cli("ref", "resolve", str(doc), "--reveal")
    assert clear.code == 0 and "bao-api-key-value-1" in clear.out and "bao-db-pass-2" in clear.out
    scanned = run_cli("ref", "scan", str(tmp_path), "--json")
    assert scanned.code == 0, scanned.out
    assert "bao-api-key-value-1" not in scanned.out and scanned.out.count(cid) >= 2


def test_missing_key_and_missing_path(openbao, bao_role, run_cli):
    role = bao_role()
    openbao.write_kv2("secret", "cli/present", {"a": "1"})
    cid = add(run_cli, openbao, role).json["connection"]["id"]
    nokey = run_cli("ref", "test", ref(cid, "secret/data/cli/present/b"), "--json")
    assert nokey.code == 1
    assert nokey.json["error"]["message"] == "[secret/data/cli/present/b] No secret found at requested path"
    nopath = run_cli("ref", "test", ref(cid, "secret/data/cli/absent/a"), "--json")
    assert nopath.code == 1
    assert nopath.json["error"]["message"] == "[secret/data/cli/absent/a] Request failed with status code 404"
    short = run_cli("ref", "test", ref(cid, "secret/x"), "--json")
    assert short.json["error"]["message"] == "Wrong path format . should be mount/data/path/key. got secret/x"


def test_policy_without_sys_mounts(openbao, bao_role, run_cli):
    role = bao_role(policies=["no-mounts"])
    refused = add(run_cli, openbao, role)
    assert refused.code == 1 and refused.json["error"]["message"] == MOUNTS_DENIED
    assert "permission denied" in refused.json["error"]["hint"]
    saved = add(run_cli, openbao, role, "vault-bao", None, "--no-test")
    assert saved.code == 0
    tested = run_cli("sm", "test", "vault-bao", "--json")
    assert tested.code == 1 and tested.json["error"]["message"] == MOUNTS_DENIED


def test_kv_v1_is_read_as_a_labelled_extension(openbao, bao_role, run_cli):
    role = bao_role()
    openbao.write_kv1("kv", "legacy", {"token": "kv1-value"})
    cid = add(run_cli, openbao, role).json["connection"]["id"]
    got = run_cli("ref", "test", ref(cid, "kv/legacy/token"), "--reveal", "--json")
    assert got.code == 1 and got.json["value"] == "kv1-value"
    assert got.json["activepieces"]["resolves"] is False
    assert "KV v1" in got.out


def test_cache_serves_the_second_test_without_calling_openbao(openbao, bao_role, run_cli):
    role = bao_role()
    openbao.write_kv2("secret", "cli/cached", {"v": "cached-value"})
    fwd = Forwarder(openbao.addr).start()
    try:
        cid = add(run_cli, openbao, role, "vault-bao", fwd.url).json["connection"]["id"]
        first = run_cli("ref", "test", ref(cid, "secret/data/cli/cached/v"), "--json")
        assert first.code == 0 and first.json["cached"] is False
        before = len(fwd.exchanges)
        second = run_cli("ref", "test", ref(cid, "secret/data/cli/cached/v"), "--json")
        assert second.code == 0 and second.json["cached"] is True
        assert len(fwd.exchanges) == before
        status = run_cli("cache", "status", "--json")
        assert status.code == 0 and "vault-bao" in status.out
        assert run_cli("cache", "clear", "--connection", "vault-bao", "--yes").code == 0
        third = run_cli("ref", "test", ref(cid, "secret/data/cli/cached/v"), "--json")
        assert third.json["cached"] is False and len(fwd.exchanges) > before
    finally:
        fwd.stop()


def test_sm_update_shows_the_servers_reason(openbao, bao_role, run_cli):
    role = bao_role()
    assert add(run_cli, openbao, role).code == 0
    refused = run_cli("sm", "update", "vault-bao", "--secret", "secretId", "--json",
                      input="22222222-0000-0000-0000-000000000000\n")
    assert refused.code == 1, refused.out + refused.err
    err = refused.json["error"]
    assert err["hint"].startswith("invalid role or secret ID;") and "nothing was changed" in err["hint"]
    assert run_cli("sm", "test", "vault-bao").code == 0  # the stored secret id is untouched
