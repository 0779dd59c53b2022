"""Activepieces credentials: platform API-key rotation (with the user session) and the MCP token."""

from __future__ import annotations

import contextlib

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services.context import Context
from aptui.services.rotation.items import MCP_TOKEN
from aptui.services.rotation.run_state import DONE, FAILED, SKIPPED, STARTED, Rotation, StepResult, mark_step
from aptui.store import rotation as store_rot


def _key_client(ctx: Context, prof, key: str):
    """A client for ``prof``'s platform with ``key`` as its API key (not the session cache: that holds
    the old key) and the profile's user session, which the API-key routes need (§13)."""
    from aptui.services import profiles as profile_service

    return profile_service.client_for(ctx, prof, api_key=Secret(key))


def _profile_client(ctx: Context, rot: Rotation):
    """The rotated profile and a client with the key it holds now (old before ``store``, new after)."""
    from aptui.services import profiles as profile_service
    from aptui.store import profiles as store_profiles

    prof = store_profiles.require(ctx.store, rot.item.profile_id or "")
    return prof, _key_client(ctx, prof, profile_service.resolve_api_key(ctx, prof).reveal())


async def _api_key_test(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.store import profiles as store_profiles

    prof = store_profiles.require(ctx.store, rot.item.profile_id or "")
    key = store_rot.staged(ctx.store, rot.run).get("apiKey")
    if not key:
        raise AptuiError("ROTATION_STATE_LOST", "the staged new key is missing", hint="abort and start again")
    client = _key_client(ctx, prof, key)
    try:
        await client.get("/v1/projects", {"limit": 1})
        if "inspect" not in rot.plan:  # a key the operator gave: find the old entry now
            await _find_old_api_key(ctx, rot, prof, client, key)
    finally:
        await client.aclose()
    mark_step(ctx, rot, "test", DONE, "GET /v1/projects accepted the new key", advance=True)
    return StepResult("test", DONE, "the platform accepted the new key"
                      + (f"; the old key is {rot.facts['oldKey']}" if rot.facts.get("oldKeyId") else ""))


async def _api_key_inspect(ctx: Context, rot: Rotation, _delay) -> StepResult:
    prof, client = _profile_client(ctx, rot)
    try:
        err = await _find_old_api_key(ctx, rot, prof, client, None)
    finally:
        await client.aclose()
    if err is not None and err.code in ("USER_SESSION_REQUIRED", "SESSION_EXPIRED"):
        raise AptuiError("ROTATION_NEEDS_SESSION", f"nothing was changed: creating and revoking platform API keys "
                         f"needs a signed-in platform admin ({err.message})",
                         exit_code=Exit.USAGE,
                         hint=f"aptui profile login {prof.name}, then resume; or create the key in the platform's "
                              f"settings and give it with --secret-env VAR")
    if err is not None and getattr(err, "status", None) in (402, 403, 404):
        raise AptuiError("ROTATION_UNSUPPORTED", f"the platform does not manage API keys through its API "
                         f"({err.code}): create the new key in its settings and give it to aptui",
                         hint=f"aptui rotation rotate {rot.item.id} --abort, then again with --secret-env VAR")
    if err is not None:
        raise err
    lookup = rot.facts.get("oldKeyLookup", "")
    detail = f"the current key is {rot.facts['oldKey']}" if rot.facts.get("oldKeyId") else \
        f"the current key was not identified ({lookup}); it will have to be revoked by hand"
    mark_step(ctx, rot, "inspect", DONE, detail, advance=True)
    return StepResult("inspect", DONE, detail)


async def _api_key_create(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.activepieces import api_keys as ap_api_keys

    f = rot.facts
    prof, client = _profile_client(ctx, rot)
    removed = 0
    try:
        if rot.status("create") in (STARTED, FAILED) and f.get("newKeyName"):
            # An earlier attempt may have made a key whose value was never read (no answer, a bad
            # answer, or a failed write of the staged value): nobody can use it, so it is revoked.
            removed = await _revoke_named(client, f["newKeyName"])
        f["newKeyName"] = f"aptui {prof.name} {utc_now_iso()[:10]} {rot.run.id[:6]}"
        mark_step(ctx, rot, "create", STARTED, f"creating API key '{f['newKeyName']}'")
        entry, value = await ap_api_keys.create_api_key(client, f["newKeyName"])
        f["newKeyId"] = str(entry["id"])
        f["newKey"] = f"API key '{entry.get('displayName')}' ({entry['id']})"
        try:
            mark_step(ctx, rot, "create", DONE, f["newKey"], staged={"apiKey": value.reveal()}, advance=True)
        except AptuiError:
            with contextlib.suppress(AptuiError):  # not staged: revoke it now (resume sweeps it otherwise)
                await ap_api_keys.delete_api_key(client, f["newKeyId"])
            raise
    finally:
        await client.aclose()
    detail = f"{f['newKey']} created; the old key stays valid until retire" + (
        f" ({removed} key(s) left by the interrupted attempt revoked)" if removed else "")
    return StepResult("create", DONE, detail)


async def _revoke_named(client, name: str) -> int:
    """Revoke every listed key called ``name``; how many were revoked."""
    from aptui.activepieces import api_keys as ap_api_keys

    lost = await ap_api_keys.stray(client, name)
    for entry in lost:
        await ap_api_keys.delete_api_key(client, str(entry.get("id")))
    return len(lost)


async def _find_old_api_key(ctx: Context, rot: Rotation, prof, client, new_key: str | None) -> AptuiError | None:
    """Remember which ``GET /v1/api-keys`` entry is the key being replaced (for ``retire``); the
    listing's error, if any, is noted and returned."""
    from aptui.activepieces import api_keys as ap_api_keys
    from aptui.services import profiles as profile_service

    f = rot.facts
    for stale in ("oldKey", "oldKeyId", "oldKeyLookup"):
        f.pop(stale, None)
    try:
        old = profile_service.resolve_api_key(ctx, prof)
        keys = await ap_api_keys.list_api_keys(client)
    except AptuiError as err:
        f["oldKeyLookup"] = f"{err.code}: {err.message}"
        return err
    old_matches = ap_api_keys.matching(keys, old)
    if len(old_matches) == 1 and not (new_key and ap_api_keys.matching(old_matches, Secret(new_key))):
        entry = old_matches[0]
        f["oldKeyId"] = str(entry.get("id"))
        f["oldKey"] = f"API key '{entry.get('displayName')}' ({entry.get('id')})"
    elif old_matches:
        f["oldKeyLookup"] = f"{len(old_matches)} listed keys end in the same 4 characters"
    else:
        f["oldKeyLookup"] = f"not among the platform's {len(keys)} API key(s)"
    return None


async def _api_key_store(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.store import profiles as store_profiles

    key = store_rot.staged(ctx.store, rot.run).get("apiKey") or ""
    prof = store_profiles.require(ctx.store, rot.item.profile_id or "")
    with ctx.store.transaction():
        store_profiles.set_api_key(ctx.store, prof.name, Secret(key), source=f"aptui rotation {rot.run.id}")
        mark_step(ctx, rot, "store", DONE, "profile key replaced", advance=True)
    return StepResult("store", DONE, f"profile {prof.name} now uses the new key")


async def _api_key_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.activepieces import api_keys as ap_api_keys
    from aptui.activepieces.client import ApiError
    from aptui.services import platform

    f = rot.facts
    if not f.get("oldKeyId"):
        why = f.get("oldKeyLookup", "not looked up")
        mark_step(ctx, rot, "retire", SKIPPED, why, advance=True)
        return StepResult("retire", SKIPPED, f"the old key was not identified ({why}): revoke it yourself in the "
                                             "platform's API keys settings")
    _, client = _profile_client(ctx, rot)  # the new key: stored by now
    try:
        mark_step(ctx, rot, "retire", STARTED, f"revoking {f['oldKey']}")
        try:
            await ap_api_keys.delete_api_key(client, f["oldKeyId"])
            detail = f"{f['oldKey']} revoked"
        except ApiError as err:
            if err.status != 404:
                raise
            detail = f"{f['oldKey']} was already gone"
    finally:
        await client.aclose()
        await platform.aclose(ctx)  # open sessions still carry the revoked key: the next call opens anew
    mark_step(ctx, rot, "retire", DONE, detail, advance=True)
    return StepResult("retire", DONE, detail)


async def _mcp_rotate(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.services import platform

    again = rot.status("rotate") == STARTED
    mark_step(ctx, rot, "rotate", STARTED, "rotation sent")
    rotated = await platform.rotate_mcp_token(ctx, rot.item.profile_id, project=rot.item.project_id)
    store_rot.add_record(ctx.store, rot.item.record_key, MCP_TOKEN, store_rot.ROTATED, utc_now_iso(),
                         note=f"assisted rotation {rot.run.id}")
    mark_step(ctx, rot, "rotate", DONE, f"server {rotated.server.get('id')}", advance=True)
    detail = f"token of project {rotated.project_id} rotated" + (" (again: the interrupted attempt's token was "
                                                                   "never shown)" if again else "")
    return StepResult("rotate", DONE, detail, secret=rotated.token)


async def _abort_api_key(ctx: Context, rot: Rotation, undone: list[str], problems: list[str]) -> None:
    """Revoke the new key the platform issued (never stored, so never used)."""
    from aptui.activepieces import api_keys as ap_api_keys

    f = rot.facts
    if rot.status("create") not in (DONE, STARTED, FAILED) or not f.get("newKeyName"):
        return
    _, client = _profile_client(ctx, rot)
    targets = [f["newKeyId"]] if f.get("newKeyId") else []
    try:
        try:
            targets += [str(k.get("id")) for k in await ap_api_keys.stray(client, f["newKeyName"])
                        if str(k.get("id")) not in targets]
        except AptuiError as err:
            problems.append(f"could not list the platform's API keys to find the new one ({err.code})")
        for key_id in targets:
            try:
                await ap_api_keys.delete_api_key(client, key_id)
                undone.append(f"new API key {key_id} revoked")
            except AptuiError as err:
                if getattr(err, "status", None) != 404:
                    problems.append(f"could not revoke the new API key {key_id} ({err.code})")
    finally:
        await client.aclose()
