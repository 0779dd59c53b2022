"""AWS access-key rotation steps: inspect, create, retire (deactivate), and abort's undo."""

from __future__ import annotations

import json
from datetime import timedelta

from aptui.clock import iso, parse_iso
from aptui.errors import AptuiError
from aptui.masking import mask
from aptui.services.context import Context
from aptui.services.rotation.run_state import (
    DONE,
    FAILED,
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


async def _aws_inspect(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import AwsIam

    config = store_conn.auth(ctx.store, connection_of(ctx, rot))
    iam = AwsIam(config, options_for(ctx, "aws"))
    try:
        ident = await iam.caller_identity()
        arn = ident.get("Arn", "")
        if ":user/" not in arn:
            raise AptuiError("ROTATION_UNSUPPORTED", "assisted rotation needs an IAM user's access key; these "
                             f"credentials are {arn.split(':')[-1].split('/')[0] or 'not a user'}",
                             hint="rotate the role's credentials yourself, then `aptui rotation mark`")
        keys = await iam.list_access_keys()
    finally:
        await close_client(iam)
    user = arn.rsplit("/", 1)[-1]
    old = next((k for k in keys if k.key_id == config.get("accessKeyId")), None)
    if old is None:
        raise AptuiError("ROTATION_PRECONDITION", f"iam:ListAccessKeys does not list the stored key for {user}",
                         hint="the stored key may be deleted already: update the connection with `aptui sm update`")
    others = [k for k in keys if k.key_id != old.key_id]
    if others:
        other = others[0]
        raise AptuiError("ROTATION_PRECONDITION",
                         f"IAM user {user} already has 2 access keys (the limit); the other one is "
                         f"{other.masked} ({other.status})",
                         hint="delete the key that is not in use (aws iam delete-access-key) and rerun")
    rot.facts.update({"user": user, "oldKey": old.masked, "oldCreated": iso(old.created) if old.created else None})
    mark_step(ctx, rot, "inspect", DONE, f"IAM user {user}; stored key {old.masked} ({old.status})",
          staged={"oldKeyId": old.key_id}, advance=True)
    return StepResult("inspect", DONE, f"IAM user {user}; stored key {old.masked} is {old.status}")


async def _aws_create(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import AwsIam

    staged = store_rot.staged(ctx.store, rot.run)
    config = store_conn.auth(ctx.store, connection_of(ctx, rot))
    iam = AwsIam(config, options_for(ctx, "aws"))
    try:
        if rot.status("create") == STARTED:  # an interrupted attempt: did it create a key we never recorded?
            keys = await iam.list_access_keys()
            started = parse_iso(rot.run.data["steps"]["create"]["at"]) - timedelta(minutes=1)
            stray = [k for k in keys if k.key_id != staged.get("oldKeyId") and k.created and k.created >= started]
            if stray:
                raise AptuiError("ROTATION_STRAY_KEY",
                                 f"an interrupted attempt created access key {stray[0].masked}, whose secret aptui "
                                 "never received",
                                 hint=f"`aptui rotation rotate {rot.item.id} --abort` deletes it; then start again")
        mark_step(ctx, rot, "create", STARTED, "CreateAccessKey sent")
        key_id, secret, _created = await iam.create_access_key()
    finally:
        await close_client(iam)
    new_config = dict(config, accessKeyId=key_id, secretAccessKey=secret.reveal())
    rot.facts["newKey"] = mask(key_id)
    try:
        mark_step(ctx, rot, "create", DONE, f"new key {mask(key_id)}", advance=True,
              staged={**staged, "newKeyId": key_id, "config": json.dumps(new_config, sort_keys=True)})
    except AptuiError as err:
        rolled = await _rollback_key(config, key_id, ctx)
        raise RotationStopped(rot.item.id, "create", f"{err.code}: {err.message}",
                              f"new key {mask(key_id)} created but not stored; "
                              + ("it was deleted again; " if rolled else "")
                              + "the old key is still stored and active",
                              exit_code=err.exit_code, cause=err,
                              hint=None if rolled else "delete the new key (aws iam delete-access-key) or rerun "
                                                       "once the store works") from None
    return StepResult("create", DONE, f"new access key {mask(key_id)} created and staged (encrypted)")


async def _rollback_key(config: dict[str, str], key_id: str, ctx: Context) -> bool:
    from aptui.providers.aws_iam import AwsIam

    iam = AwsIam(config, options_for(ctx, "aws"))
    try:
        await iam.delete_access_key(key_id)
        return True
    except Exception:
        return False
    finally:
        await close_client(iam)


async def _aws_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import INACTIVE, AwsIam

    staged = store_rot.staged(ctx.store, rot.run)
    old_id = staged.get("oldKeyId")
    if not old_id:
        raise AptuiError("ROTATION_STATE_LOST", "the old key id is missing from the run")
    config = store_conn.auth(ctx.store, connection_of(ctx, rot))  # the new key, stored by now
    iam = AwsIam(config, options_for(ctx, "aws"))
    try:
        mark_step(ctx, rot, "retire", STARTED, "UpdateAccessKey Inactive sent")
        await iam.set_key_status(old_id, INACTIVE)
    finally:
        await close_client(iam)
    mark_step(ctx, rot, "retire", DONE, f"old key {mask(old_id)} deactivated", advance=True)
    return StepResult("retire", DONE, f"old key {mask(old_id)} deactivated (not deleted: delete it once nothing "
                                      "uses it)")


async def _abort_aws(ctx: Context, rot: Rotation, config: dict[str, str], staged: dict[str, str],
                     undone: list[str], problems: list[str]) -> None:
    from aptui.providers.aws_iam import AwsIam

    targets: list[str] = []
    if staged.get("newKeyId"):
        targets.append(staged["newKeyId"])
    elif rot.status("create") in (STARTED, FAILED):
        iam = AwsIam(config, options_for(ctx, "aws"))
        try:
            keys = await iam.list_access_keys()
        finally:
            await close_client(iam)
        since = parse_iso(rot.run.data["steps"]["create"]["at"]) - timedelta(minutes=1)
        targets += [k.key_id for k in keys
                    if k.key_id != staged.get("oldKeyId") and k.created and k.created >= since]
    for key_id in targets:
        if await _rollback_key(config, key_id, ctx):
            undone.append(f"new key {mask(key_id)} deleted")
        else:
            problems.append(f"could not delete the new key {mask(key_id)}")
