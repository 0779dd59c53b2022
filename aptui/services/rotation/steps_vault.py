"""Vault AppRole secret-id rotation steps: inspect, create, retire (destroy by accessor)."""

from __future__ import annotations

import contextlib
import json

from aptui.errors import AptuiError
from aptui.services.context import Context
from aptui.services.rotation.run_state import (
    DONE,
    SKIPPED,
    STARTED,
    Rotation,
    RotationStopped,
    StepResult,
    close_client,
    connection_of,
    mark_step,
    options_for,
)
from aptui.store import connections as store_conn
from aptui.store import rotation as store_rot


async def _vault_inspect(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.vault_approle import VaultAppRole

    config = store_conn.auth(ctx.store, connection_of(ctx, rot))
    client = VaultAppRole(config, options_for(ctx, "hashicorp"))
    notes = []
    try:
        login = await client.login()
        role = login.role_name or ((await client.lookup_self(login.token)).get("meta") or {}).get("role_name")
        if not role:
            raise AptuiError("ROTATION_PRECONDITION", "Vault did not name the AppRole of this login")
        accessor = None
        try:
            info = await client.lookup_secret_id(login.token, role)
            accessor = info.accessor if info else None
            if info is None:
                notes.append("Vault does not know the stored secret ID")
        except AptuiError as err:
            if not getattr(err, "denied", False):
                raise
            notes.append("secret-id lookup denied: the old secret ID cannot be destroyed by aptui")
    finally:
        await close_client(client)
    sharing = _vault_sharing(ctx, rot, config)
    if sharing:
        notes.append(f"{len(sharing)} other local connection(s) use the same secret ID ({', '.join(sharing)}): "
                     "retiring it breaks them until they are updated with the new one")
    rot.facts.update({"role": role, "oldAccessor": accessor, "sharedWith": sharing})
    detail = f"role {role}; old accessor {accessor or 'unknown'}" + ("; " + "; ".join(notes) if notes else "")
    mark_step(ctx, rot, "inspect", DONE, detail, staged={"oldAccessor": accessor or ""}, advance=True)
    return StepResult("inspect", DONE, detail)


def _vault_sharing(ctx: Context, rot: Rotation, config: dict[str, str]) -> list[str]:
    """Names of the other local Vault connections holding the same role id and secret id."""
    names = []
    for other in store_conn.list_all(ctx.store):
        if other.id == rot.item.connection_id or other.provider_id != "hashicorp":
            continue
        try:
            cfg = store_conn.auth(ctx.store, other)
        except AptuiError:
            continue
        if cfg.get("secretId") == config.get("secretId") and cfg.get("roleId") == config.get("roleId"):
            names.append(other.name)
    return sorted(names)


async def _vault_create(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.vault_approle import VaultAppRole

    staged = store_rot.staged(ctx.store, rot.run)
    config = store_conn.auth(ctx.store, connection_of(ctx, rot))
    role = rot.facts.get("role") or ""
    client = VaultAppRole(config, options_for(ctx, "hashicorp"))
    try:
        login = await client.login()
        if not staged.get("oldAccessor"):
            # Resumed after a denied lookup (the policy may have been fixed since): learn the old
            # secret ID's accessor now, while the stored secret ID is still the old one.
            with contextlib.suppress(AptuiError):
                info = await client.lookup_secret_id(login.token, role)
                if info is not None and info.accessor:
                    staged = {**staged, "oldAccessor": info.accessor}
                    rot.facts["oldAccessor"] = info.accessor
                    store_rot.save_run(ctx.store, rot.run, staged=staged)
        mark_step(ctx, rot, "create", STARTED, "secret-id generation sent")
        secret_id, accessor = await client.generate_secret_id(login.token, role)
    finally:
        await close_client(client)
    new_config = dict(config, secretId=secret_id.reveal())
    rot.facts["newAccessor"] = accessor
    try:
        mark_step(ctx, rot, "create", DONE, f"new secret ID (accessor {accessor})", advance=True,
              staged={**staged, "newAccessor": accessor or "", "config": json.dumps(new_config, sort_keys=True)})
    except AptuiError as err:
        destroyed = await _destroy_accessor(ctx, config, role, accessor)
        raise RotationStopped(rot.item.id, "create", f"{err.code}: {err.message}",
                              f"new secret ID (accessor {accessor}) generated but not stored; "
                              + ("it was destroyed again; " if destroyed else "")
                              + "the old secret ID is still stored and valid", exit_code=err.exit_code, cause=err,
                              hint=None if destroyed else f"destroy accessor {accessor} in Vault or rerun") from None
    return StepResult("create", DONE, f"new secret ID generated (accessor {accessor}) and staged (encrypted)")


async def _destroy_accessor(ctx: Context, config: dict[str, str], role: str, accessor: str | None) -> bool:
    from aptui.providers.vault_approle import VaultAppRole

    if not accessor:
        return False
    client = VaultAppRole(config, options_for(ctx, "hashicorp"))
    try:
        login = await client.login()
        await client.destroy_accessor(login.token, role, accessor)
        return True
    except Exception:
        return False
    finally:
        await close_client(client)


async def _vault_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.vault_approle import VaultAppRole

    staged = store_rot.staged(ctx.store, rot.run)
    accessor = staged.get("oldAccessor")
    if not accessor:
        mark_step(ctx, rot, "retire", SKIPPED, "old accessor unknown", advance=True)
        return StepResult("retire", SKIPPED, "the old secret ID's accessor is unknown (lookup was denied): "
                                             "destroy the old secret ID in Vault")
    config = store_conn.auth(ctx.store, connection_of(ctx, rot))  # the new secret ID by now
    client = VaultAppRole(config, options_for(ctx, "hashicorp"))
    try:
        login = await client.login()
        mark_step(ctx, rot, "retire", STARTED, "secret-id-accessor/destroy sent")
        try:
            await client.destroy_accessor(login.token, rot.facts.get("role") or "", accessor)
        except AptuiError as err:
            if getattr(err, "denied", False):
                mark_step(ctx, rot, "retire", SKIPPED, "destroy not permitted", advance=True)
                return StepResult("retire", SKIPPED, f"not permitted to destroy the old secret ID: destroy accessor "
                                                     f"{accessor} in Vault (it stays valid until then)")
            if getattr(err, "status", None) == 404 and rot.status("retire") == STARTED:
                pass  # destroyed by the interrupted attempt
            else:
                raise
    finally:
        await close_client(client)
    mark_step(ctx, rot, "retire", DONE, f"old secret ID destroyed (accessor {accessor})", advance=True)
    return StepResult("retire", DONE, f"old secret ID destroyed (accessor {accessor})")
