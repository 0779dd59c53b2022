"""The OpenBao fixture itself: layout, namespaces, AppRole, KV v1/v2, lockout unlock."""

from __future__ import annotations

from tests.doubles.openbao import NAMESPACES


def test_layout_in_every_namespace(openbao):
    for ns in NAMESPACES:
        role = openbao.approle("fixture-probe", namespace=ns)
        status, body = openbao.login(role)
        assert status == 200, body
        token = body["auth"]["client_token"]
        assert "activepieces" in body["auth"]["token_policies"]
        openbao.write_kv2("secret", "probe", {"k": f"v{ns}"}, namespace=ns)
        status, read = openbao.request("GET", "secret/data/probe", namespace=ns, token=token)
        assert status == 200 and read["data"]["data"]["k"] == f"v{ns}"
        status, mounts = openbao.request("GET", "sys/mounts", namespace=ns, token=token)
        assert status == 200 and mounts["kv/"]["options"]["version"] == "1"


def test_root_client_is_hermetic(openbao, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", "s.bogus")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = openbao.root_client("team-a")
    client.secrets.kv.v2.create_or_update_secret(path="rc", secret={"a": "b"}, mount_point="secret")
    got = client.secrets.kv.v2.read_secret_version(path="rc", mount_point="secret", raise_on_deleted_version=True)
    assert got["data"]["data"] == {"a": "b"}
