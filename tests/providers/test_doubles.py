"""The doubles themselves, driven by real clients (hvac, httpx): the endpoints other areas rely on."""

from __future__ import annotations

import httpx
import hvac
import pytest

from tests.doubles._http import DoubleServer


def _hvac(double, token=None, namespace=None) -> hvac.Client:
    return hvac.Client(url=double.url, token=token, namespace=namespace)


def test_vault_approle_secret_id_lifecycle_with_hvac(vault_double):
    role_id, secret_id = vault_double.add_approle("app", manage_secret_ids=True, secret_id_ttl=3600)
    client = _hvac(vault_double)
    login = client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert login["auth"]["metadata"] == {"role_name": "app"} and client.is_authenticated()
    looked = client.auth.approle.read_secret_id(role_name="app", secret_id=secret_id)["data"]
    assert looked["secret_id_ttl"] == 3600 and looked["expiration_time"].endswith("Z")
    new = client.auth.approle.generate_secret_id(role_name="app")["data"]
    assert new["secret_id"] != secret_id
    by_accessor = client.auth.approle.read_secret_id_accessor(role_name="app",
                                                              secret_id_accessor=new["secret_id_accessor"])
    assert by_accessor["data"]["secret_id_accessor"] == new["secret_id_accessor"]
    client.auth.approle.destroy_secret_id_accessor(role_name="app", secret_id_accessor=looked["secret_id_accessor"])
    with pytest.raises(hvac.exceptions.InvalidRequest):
        _hvac(vault_double).auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert _hvac(vault_double).auth.approle.login(role_id=role_id, secret_id=new["secret_id"])["auth"]
    # unknown secret id: Vault answers 204 with no body (hashicorp/vault#24019)
    resp = client.adapter.post("/v1/auth/approle/role/app/secret-id/lookup", json={"secret_id": "nope"})
    assert resp.status_code == 204


def test_vault_secret_id_management_needs_policy(vault_double):
    role_id, secret_id = vault_double.add_approle("app")
    client = _hvac(vault_double)
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.approle.generate_secret_id(role_name="app")


def test_vault_kv2_versions_metadata_and_lookup_self(vault_double):
    role_id, secret_id = vault_double.add_approle("app", token_ttl=120)
    vault_double.put("secret", "svc", {"k": "1"})
    vault_double.put("secret", "svc", {"k": "2"})
    vault_double.soft_delete("secret", "svc")
    client = _hvac(vault_double)
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v2.read_secret_version(path="svc", mount_point="secret", raise_on_deleted_version=True)
    old = client.secrets.kv.v2.read_secret_version(path="svc", version=1, mount_point="secret",
                                                   raise_on_deleted_version=True)
    assert old["data"]["data"] == {"k": "1"}
    meta = client.secrets.kv.v2.read_secret_metadata(path="svc", mount_point="secret")["data"]
    assert meta["current_version"] == 2 and meta["versions"]["2"]["deletion_time"]
    me = client.auth.token.lookup_self()["data"]
    assert me["meta"] == {"role_name": "app"} and 0 < me["ttl"] <= 120
    vault_double.advance(121)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_self()


def test_vault_kv1_and_namespaces(vault_double):
    vault_double.enable_kv("kv", version=1, namespace="ns1")
    vault_double.put("kv", "app", {"p": "v"}, namespace="ns1")
    role_id, secret_id = vault_double.add_approle("app", namespace="ns1")
    client = _hvac(vault_double, namespace="ns1")
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert client.secrets.kv.v1.read_secret(path="app", mount_point="kv")["data"] == {"p": "v"}
    ui = client.adapter.get("/v1/sys/internal/ui/mounts/kv/app")
    assert ui["data"]["options"] == {"version": "1"} and ui["data"]["path"] == "kv/"
    mounts = client.sys.list_mounted_secrets_engines()
    assert mounts["kv/"]["options"]["version"] == "1" and "secret/" not in mounts  # root's mount
    other = _hvac(vault_double, token=client.token, namespace="ns2")
    with pytest.raises(hvac.exceptions.Forbidden):
        other.sys.list_mounted_secrets_engines()


def test_conjur_whoami_resources_and_batch_base64(conjur_double):
    conjur_double.add_host("host/app", "k")
    conjur_double.set_variable("db/pw", "p1", owner="team")
    conjur_double.set_variable("db/pw", "p2")
    conjur_double.set_variable("blob", b"\xff\x00")
    with httpx.Client(base_url=conjur_double.url) as c:
        raw = c.post("/authn/myorg/host%2Fapp/authenticate", content="k",
                     headers={"Accept-Encoding": "base64"}).text
        auth = {"Authorization": f'Token token="{raw}"'}
        assert c.get("/whoami", headers=auth).json()["username"] == "host/app"
        res = c.get("/resources/myorg/variable/db%2Fpw", headers=auth).json()
        assert res["secrets"] == [{"version": 1}, {"version": 2}] and res["annotations"][0]["name"] == "owner"
        assert c.get("/secrets/myorg/variable/db%2Fpw?version=1", headers=auth).content == b"p1"
        ids = "myorg%3Avariable%3Adb%2Fpw,myorg%3Avariable%3Ablob"
        assert c.get(f"/secrets?variable_ids={ids}", headers=auth).status_code == 406
        b64 = c.get(f"/secrets?variable_ids={ids}", headers={**auth, "Accept-Encoding": "base64"})
        assert b64.status_code == 200 and b64.json()["myorg:variable:blob"] == "/wA="
        assert c.get("/secrets?variable_ids=myorg%3Avariable%3Adb%2Fpw,", headers=auth).status_code == 422
        assert c.get("/whoami").status_code == 401


def test_double_fault_knobs():
    with DoubleServer() as d:
        d.fail_next(2, 503, path="/x")
        with httpx.Client(base_url=d.url) as c:
            assert [c.get("/x/1").status_code, c.get("/y").status_code, c.get("/x/2").status_code,
                    c.get("/x/3").status_code] == [503, 404, 503, 404]
        assert d.count("/x") == 3 and d.counts()["GET /y"] == 1
