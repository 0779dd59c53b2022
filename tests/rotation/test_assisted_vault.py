"""Assisted Vault AppRole rotation against the Vault double, for the failures a real server cannot be
made to give (injected 403/400 answers, an unreachable Vault) and abort. The full rotation, the denied
lookup, the resume after a fixed policy and the shared secret id run on OpenBao: tests/vault_real."""

from __future__ import annotations

import pytest

from aptui.errors import Exit
from aptui.services import rotation
from tests.rotation.conftest import stored_config


async def test_create_failure_then_resume(ctx, vault_conn, vault_double):
    _conn, _, old_secret = vault_conn("vault-pay", manage_secret_ids=True)
    vault_double.fail_next(10, 403, path="/v1/auth/approle/role/app/secret-id")
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:vault-pay", confirm=lambda s, t: True, test_delay=0)
    err = exc.value
    assert err.step in ("inspect", "create")
    assert stored_config(ctx, "vault-pay")["secretId"] == old_secret
    vault_double._faults.clear()
    rot = await rotation.rotate(ctx, "sm:vault-pay", test_delay=0)
    assert rot.done and stored_config(ctx, "vault-pay")["secretId"] != old_secret


async def test_test_failure_keeps_the_old_secret_id_and_abort_destroys_the_new(ctx, vault_conn, vault_double):
    _conn, _, old_secret = vault_conn("vault-pay", manage_secret_ids=True)
    with pytest.raises(rotation.RotationStopped):
        await rotation.rotate(ctx, "sm:vault-pay", confirm=lambda s, t: s != "test", test_delay=0)
    vault_double.fail_next(1, 400, path="/v1/auth/approle/login", body={"errors": ["invalid role or secret ID"]})
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:vault-pay", test_delay=0)
    err = exc.value
    assert err.step == "test" and "SECRET_MANAGER_CONNECTION_FAILED" in err.message
    assert "new secret ID" in err.message and "the old secret ID is still stored and active" in err.message
    assert stored_config(ctx, "vault-pay")["secretId"] == old_secret
    assert len(vault_double.role("app").secret_ids) == 2
    result = await rotation.abort(ctx, "sm:vault-pay")
    assert result["ok"] and result["undone"][0].startswith("new secret ID destroyed")
    assert set(vault_double.role("app").secret_ids) == {old_secret}


async def test_unreachable_vault_stops_with_exit_4(ctx, vault_conn, vault_double):
    vault_conn("vault-pay", manage_secret_ids=True)
    vault_double.stop()
    with pytest.raises(rotation.RotationStopped) as exc:
        await rotation.rotate(ctx, "sm:vault-pay", test_delay=0)
    assert exc.value.step == "inspect" and exc.value.exit_code == Exit.UNREACHABLE
    assert "connection refused" in exc.value.message
