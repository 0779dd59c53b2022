"""Fixtures for the fault tests: the real peers behind the fault proxies, started once per module."""

from __future__ import annotations

import json

import pytest

from tests.faults.harness import SECRET_VALUE, Upstreams


@pytest.fixture(scope="module")
def upstreams(moto_server, activepieces_server):
    """moto (one secret), a Vault double (AppRole + KV v2 secret), a Conjur double (host + variable)
    and the Activepieces double (reset before and after; fails if it answered an invalid body)."""
    import boto3

    from tests.doubles.aws_moto import ADMIN_KEY, ADMIN_SECRET, REGION
    from tests.doubles.conjur import ConjurDouble
    from tests.doubles.vault import VaultDouble

    moto_server.reset()
    boto3.client("secretsmanager", endpoint_url=moto_server.endpoint, region_name=REGION,
                 aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_SECRET).create_secret(
        Name="fault/matrix", SecretString=json.dumps({"value": SECRET_VALUE}))
    vault = VaultDouble().start()
    conjur = ConjurDouble().start()
    activepieces_server.reset()
    try:
        role = vault.add_approle("fault")
        vault.put("secret", "fault/matrix", {"value": SECRET_VALUE})
        key = conjur.add_host("host/fault/ci")
        conjur.set_variable("fault/matrix/value", SECRET_VALUE)
        yield Upstreams(moto_server.endpoint, vault, role, conjur, key, activepieces_server)
        problems = list(activepieces_server.response_problems)
        assert not problems, f"the Activepieces double answered invalid bodies: {problems}"
    finally:
        vault.stop()
        conjur.stop()
        activepieces_server.reset()
        moto_server.reset()


from tests.tui.conftest import make_app  # noqa: E402, F401 - the console fixture, shared with tests/tui
