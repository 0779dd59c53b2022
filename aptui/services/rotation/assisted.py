"""Assisted rotation: resumable steps, each confirmed and audited, crash-safe.

Plans by kind:
- ``aws``: inspect → create (new access key) → test → store → publish → retire (deactivate the old
  key, never delete it);
- ``hashicorp``: inspect → create (new secret ID for the role) → test → store → publish → retire
  (destroy the old secret ID by accessor, if the policy permits);
- ``cyberark-conjur``, ``onepassword``: (new value from a hidden prompt) → test → store → publish;
- ``activepieces-api-key``: inspect (find the old key's entry in ``GET /v1/api-keys`` by its last
  four characters) → create (``POST /v1/api-keys``: the platform issues the new key) → test → store →
  retire (revoke the old key with ``DELETE /v1/api-keys/:id``; skipped, with the reason, when the
  platform cannot say which entry it is). A key the operator created gives the shorter plan
  test (finding the old entry) → store → retire;
- ``mcp-token``: rotate through the platform API (the new token is returned once).

The run (``rotation_runs``) is written before and after every step; a provider-issued credential
is staged encrypted in the same moment it is received. The stored credential is replaced only
after the new one passed the test, and the old one is retired only after the platform has the new
one, so a failure at ANY step leaves the old credential stored and working. The error names the
step and the provider state; ``rotate`` again resumes at that step, ``abort`` undoes what can be
undone (deletes the unused new key / destroys the unused new secret ID).

Layout: this module is the engine (start, advance, rotate, abort, history, and the steps every
kind shares: test, store, publish); ``run_state`` holds the run and how a step is marked or
stopped; ``steps_aws``, ``steps_vault`` and ``steps_platform`` (API key, MCP token) hold each
kind's own steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sys
from collections.abc import Callable
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, usage
from aptui.masking import Secret, mask
from aptui.services.context import Context
from aptui.services.rotation.items import API_KEY, AWS_SECRET, MCP_TOKEN, Item, find_item
from aptui.services.rotation.run_state import (
    DONE,
    GIVEN_PLANS,
    PLANS,
    PROMPT_FIELD,
    SKIPPED,
    STARTED,
    TEST_ATTEMPTS,
    TEST_DELAY,
    Confirm,
    OnStep,
    Rotation,
    RotationStopped,
    StepResult,
    connection_of,
    mark_step,
    staged_config,
    state_text,
    stop_at,
)
from aptui.services.rotation.steps_aws import _abort_aws, _aws_create, _aws_inspect, _aws_retire, _rollback_key
from aptui.services.rotation.steps_platform import (
    _abort_api_key,
    _api_key_create,
    _api_key_inspect,
    _api_key_retire,
    _api_key_store,
    _api_key_test,
    _mcp_rotate,
)
from aptui.services.rotation.steps_vault import _destroy_accessor, _vault_create, _vault_inspect, _vault_retire
from aptui.store import connections as store_conn
from aptui.store import rotation as store_rot


def _plan_for(item: Item, *, given: bool = False) -> tuple[str, ...]:
    plan = GIVEN_PLANS.get(item.kind) if given else None
    plan = plan or PLANS.get(item.kind)
    if plan is None:
        if item.kind == AWS_SECRET:
            raise usage(f"{item.id} is rotated in AWS Secrets Manager (its rotation function), not by aptui",
                        code="ROTATION_UNSUPPORTED",
                        hint=f"after rotating it, record it: aptui rotation mark {item.id}")
        raise usage(f"aptui cannot rotate {item.id} ({item.kind})", code="ROTATION_UNSUPPORTED",
                    hint=f"rotate it yourself, then: aptui rotation mark {item.id}")
    return plan


def pending(ctx: Context, item_id: str) -> Rotation | None:
    """The rotation in progress for ``item_id`` (None when there is none)."""
    item = find_item(ctx, item_id)
    run = store_rot.active_run(ctx.store, item.record_key)
    return Rotation(item, run) if run else None


def needs_secret(item: Item) -> str | None:
    """The field a prompted rotation asks for (None when the provider issues the credential)."""
    return None if item.kind in GIVEN_PLANS else PROMPT_FIELD.get(item.kind)


def accepts_secret(item: Item) -> str | None:
    """The field an operator may give instead of letting the provider issue it (API keys), or must give."""
    return PROMPT_FIELD.get(item.kind)


def start(ctx: Context, item_id: str, *, new_secret: Secret | None = None, profile: str | None = None,
          publish: bool | None = None) -> Rotation:
    """Begin a rotation of ``item_id``, or return the one in progress (resumed where it stopped)."""
    ctx.require_writable("rotation rotate")
    item = find_item(ctx, item_id)
    plan = _plan_for(item, given=new_secret is not None)
    current = store_rot.active_run(ctx.store, item.record_key)
    if current is not None:
        changed = False
        if publish is not None and current.data.get("publish", True) != publish:
            current.data["publish"], changed = publish, True
        if profile is not None and current.data.get("facts", {}).get("profile") != profile:
            current.data.setdefault("facts", {})["profile"], changed = profile, True
        if changed:
            store_rot.save_run(ctx.store, current)
        run_plan = current.data.get("plan") or list(plan)
        rot_now = Rotation(item, current)
        if new_secret is not None and current.step == run_plan[0] and "create" not in run_plan:
            # Not begun yet: the operator may replace the credential typed before.
            store_rot.save_run(ctx.store, current, staged=_prompt_staged(ctx, item, new_secret))
        elif new_secret is not None and "create" in run_plan and rot_now.status("create") is None \
                and accepts_secret(item):
            # Nothing was created yet: the operator's own credential replaces the provider-issued plan.
            current.data["plan"], current.data["steps"] = list(plan), {}
            current.step = plan[0]
            store_rot.save_run(ctx.store, current, staged=_prompt_staged(ctx, item, new_secret))
        elif new_secret is not None:
            raise usage(f"a rotation of {item.id} is already at step '{current.step}'; it continues with the "
                        "credential given then", code="ROTATION_IN_PROGRESS",
                        hint=f"rerun without a new value to resume, or: aptui rotation rotate {item.id} --abort")
        return Rotation(item, current)
    field_name = needs_secret(item)
    if field_name and not new_secret:
        raise usage(f"rotating {item.id} needs the new {field_name}", code="ROTATION_NEEDS_SECRET",
                    hint="give it on stdin, through --secret-env VAR, or at the hidden prompt")
    if new_secret is not None and not accepts_secret(item):
        raise usage(f"{item.id}: the provider issues the new credential; do not give one")
    data = {"plan": list(plan), "steps": {}, "facts": {"profile": profile},
            "publish": True if publish is None else publish}
    staged = _prompt_staged(ctx, item, new_secret) if new_secret is not None else None
    with ctx.store.transaction():
        run = store_rot.create_run(ctx.store, item.record_key, item.kind, plan[0], data)
        if staged is not None:
            store_rot.save_run(ctx.store, run, staged=staged)
    ctx.audit("rotation.start", item.id, "ok", f"run={run.id}; plan={','.join(plan)}")
    return Rotation(item, run)


def _prompt_staged(ctx: Context, item: Item, value: Secret) -> dict[str, str]:
    text = value.reveal() if isinstance(value, Secret) else str(value)
    if not text.strip():
        raise usage("the new credential is empty")
    if item.kind == API_KEY:
        from aptui.services import profiles as profile_service
        from aptui.store import profiles as store_profiles

        prof = store_profiles.require(ctx.store, item.profile_id or "")
        current = None
        with contextlib.suppress(AptuiError):  # no key yet (nor AP_API_KEY): nothing to compare with
            current = profile_service.resolve_api_key(ctx, prof).reveal()
        if current == text:
            raise usage("the new API key is the one the profile already uses", code="ROTATION_SAME_SECRET")
        return {"apiKey": text}
    conn = store_conn.get(ctx.store, item.connection_id or "")
    if conn is None:
        raise usage(f"the connection of {item.id} no longer exists")
    config = store_conn.auth(ctx.store, conn)
    if config.get(PROMPT_FIELD[item.kind]) == text:
        raise usage("the new credential is the one already stored", code="ROTATION_SAME_SECRET")
    config[PROMPT_FIELD[item.kind]] = text
    return {"config": json.dumps(config, sort_keys=True)}


def describe(ctx: Context, rot: Rotation, step: str | None = None) -> str:
    """One line saying what ``step`` (default: the next one) will do, for the confirmation."""
    step = step or rot.next_step or ""
    f, item = rot.facts, rot.item
    user = f.get("user") or "the connection's IAM user"
    if item.kind == "aws":
        text = {
            "inspect": "check the connection's IAM identity and its access keys (read only)",
            "create": f"create a new access key for {user} (the old key stays active)",
            "test": "test the connection with the new key (ListSecrets, as Activepieces does)",
            "store": f"replace the key stored in aptui (old {f.get('oldKey', 'key')}) with the tested new key",
            "publish": _publish_text(ctx, rot),
            "retire": f"deactivate (not delete) the old access key {f.get('oldKey', '')} of {user}"
                      + _retire_warning(rot),
        }
    elif item.kind == "hashicorp":
        role = f.get("role") or "the connection's AppRole"
        text = {
            "inspect": "log in with the stored secret ID, find the role and the old secret ID's accessor (read only)",
            "create": f"generate a new secret ID for role {role} (the old one stays valid)",
            "test": "test the connection with the new secret ID (login + sys/mounts, as Activepieces does)",
            "store": "replace the secret ID stored in aptui with the tested new one",
            "publish": _publish_text(ctx, rot),
            "retire": (f"destroy the old secret ID (accessor {f['oldAccessor']})" if f.get("oldAccessor") else
                       "destroy the old secret ID: its accessor is unknown, so this step will be skipped")
                      + _retire_warning(rot),
        }
    elif item.kind == MCP_TOKEN:
        text = {"rotate": f"rotate the MCP token of project {item.project_id} (profile {item.profile}); the old "
                          "token stops working at once and the new one is shown once"}
    elif item.kind == API_KEY:
        text = {"inspect": "find the profile's current key among the platform's API keys (GET /v1/api-keys, read only)",
                "create": f"create a new platform API key for profile {item.profile} (POST /v1/api-keys; the old "
                          "key stays valid)",
                "test": f"test the new API key against profile {item.profile}'s platform (GET /v1/projects)",
                "store": f"replace the API key stored in profile {item.profile}",
                "retire": (f"revoke the old {f['oldKey']} on the platform (DELETE /v1/api-keys/:id): anything "
                           "else still using it stops working" if f.get("oldKeyId") else
                           "revoke the old API key: the platform did not say which entry it is "
                           f"({f.get('oldKeyLookup', 'not looked up')}), so this step will be skipped")}
    else:
        text = {"test": "test the connection with the new credential (as Activepieces does)",
                "store": "replace the credential stored in aptui with the tested new one",
                "publish": _publish_text(ctx, rot)}
    return text.get(step, step)


def _publish_text(ctx: Context, rot: Rotation) -> str:
    if not rot.run.data.get("publish", True):
        return "skip updating the platform (not requested)"
    return (f"update the platform's secret-manager connection {rot.item.id.removeprefix('sm:')} with the new "
            "credential (the platform tests it first and keeps the old one if it fails)")


def _retire_warning(rot: Rotation) -> str:
    if rot.status("publish") == SKIPPED:
        return "; WARNING: the platform was not updated, anything still using the old credential will fail"
    return ""


async def advance(ctx: Context, rot: Rotation, *, test_delay: float | None = None) -> StepResult:
    """Run the next step. Raises ``RotationStopped`` (persisted) when it fails."""
    ctx.require_writable("rotation rotate")
    step = rot.next_step
    if step is None:
        raise usage(f"the rotation of {rot.item.id} has no step left ({rot.run.state})")
    handler = _HANDLERS[(rot.item.kind if rot.item.kind in ("aws", "hashicorp", MCP_TOKEN, API_KEY) else "prompt",
                         step)]
    try:
        result = await handler(ctx, rot, test_delay)
    except RotationStopped:
        raise
    except AptuiError as err:
        raise stop_at(ctx, rot, step, err) from None
    except Exception as exc:  # a bug: never its text (it could hold a value)
        raise stop_at(ctx, rot, step, AptuiError("INTERNAL", f"unexpected {type(exc).__name__}")) from None
    rot.results.append(result)
    ctx.audit(f"rotation.{step}", rot.item.id, result.outcome, f"run={rot.run.id}; {result.detail}")
    return result


async def ask(confirm: Confirm, step: str, text: str) -> bool:
    """Call a confirmation callback; the console's is async (it waits for a modal's answer)."""
    answer = confirm(step, text)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


async def rotate(ctx: Context, item_id: str, *, confirm: Confirm | None = None, new_secret: Secret | None = None,
                 profile: str | None = None, publish: bool | None = None, on_step: OnStep | None = None,
                 test_delay: float | None = None) -> Rotation:
    """Start or resume, then run every remaining step; ``confirm(step, text)`` is asked before
    each one (False pauses the run: nothing more is changed, rerun to continue)."""
    rot = start(ctx, item_id, new_secret=new_secret, profile=profile, publish=publish)
    try:
        while rot.next_step is not None:
            step = rot.next_step
            if confirm is not None and not await ask(confirm, step, describe(ctx, rot, step)):
                ctx.audit(f"rotation.{step}", rot.item.id, "declined", f"run={rot.run.id}")
                raise RotationStopped(rot.item.id, step, "declined by the operator", state_text(rot),
                                      cause=AptuiError("CANCELLED", "declined by the operator"),
                                      hint=f"rerun `aptui rotation rotate {rot.item.id}` to continue, or add --abort")
            result = await advance(ctx, rot, test_delay=test_delay)
            if on_step is not None:
                on_step(result)
    finally:
        if "aptui.services.platform" in sys.modules:
            await sys.modules["aptui.services.platform"].aclose(ctx)
    return rot


async def _test_new(ctx: Context, rot: Rotation, delay: float | None) -> StepResult:
    from aptui.services.connections import live_check

    conn = connection_of(ctx, rot)
    new_config = staged_config(ctx, rot)
    attempts = TEST_ATTEMPTS.get(conn.provider_id, 1)
    wait = TEST_DELAY if delay is None else delay
    last: AptuiError | None = None
    for n in range(attempts):
        try:
            await live_check(ctx, conn.provider_id, new_config, connection_id=conn.id)
            last = None
            break
        except AptuiError as err:
            last = err
            if n + 1 < attempts and wait > 0:
                await asyncio.sleep(wait * (n + 1))
    if last is not None:
        raise last
    tries = f" (after {n + 1} attempts)" if n else ""
    mark_step(ctx, rot, "test", DONE, f"connection check passed{tries}", advance=True)
    return StepResult("test", DONE, f"the new credential passed the connection check{tries}")


async def _store_new(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.store.cache import cache_for

    conn = connection_of(ctx, rot)
    new_config = staged_config(ctx, rot)
    # the replaced credential stays staged (encrypted) until the run ends: an abort after this step
    # can put it back, the one way out that matches a platform which never got the new one
    staged = {**store_rot.staged(ctx.store, rot.run),
              "oldConfig": json.dumps(store_conn.auth(ctx.store, conn), sort_keys=True)}
    with ctx.store.transaction():
        _updated, changed = store_conn.update(ctx.store, conn.id, config=new_config, tested_ok=True)
        store_rot.add_record(ctx.store, conn.id, conn.provider_id, store_rot.ROTATED, utc_now_iso(),
                             note=f"assisted rotation {rot.run.id}")
        mark_step(ctx, rot, "store", DONE, "changed: " + (", ".join(changed) or "nothing"), staged=staged,
              advance=True)
    cache = cache_for(ctx.store)
    cache.invalidate(conn.id)
    from aptui.services.connections import ttls

    cache.set_status(conn.id, True, ttls(ctx, conn)[1])
    return StepResult("store", DONE, "the new credential is stored; the old one was replaced in aptui")


async def _publish(ctx: Context, rot: Rotation, _delay) -> StepResult:
    if not rot.run.data.get("publish", True):
        mark_step(ctx, rot, "publish", SKIPPED, "not requested", advance=True)
        return StepResult("publish", SKIPPED, "the platform was not updated (not requested)")
    from aptui.services import profiles as profile_service
    from aptui.services import sync

    conn = connection_of(ctx, rot)
    profile = rot.facts.get("profile")
    try:
        prof = profile_service.resolve_profile(ctx, profile)
        profile_service.resolve_api_key(ctx, prof)
    except AptuiError as err:
        if err.code not in ("PROFILE_MISSING", "API_KEY_MISSING"):
            raise
        mark_step(ctx, rot, "publish", SKIPPED, f"no Activepieces profile ({err.code})", advance=True)
        return StepResult("publish", SKIPPED, "no Activepieces profile: if the platform uses this credential, "
                                              "update it there before the old one is retired")
    mark_step(ctx, rot, "publish", STARTED, f"profile {prof.name}")
    plan = await sync.plan_sync(ctx, prof, resend_credentials=True)
    mine = next((i for i in plan.items if i.local_id == conn.id), None)
    if mine is None or mine.change not in (sync.UPDATE, sync.SAME):
        mark_step(ctx, rot, "publish", SKIPPED, f"no connection named {conn.name} on the platform", advance=True)
        return StepResult("publish", SKIPPED, f"the platform ({prof.name}) has no connection named {conn.name}")
    if mine.differences:
        raise AptuiError("ROTATION_PRECONDITION", f"the platform's connection {conn.name} differs from aptui's "
                         f"({'; '.join(mine.differences)}); aptui will not change its scope during a rotation",
                         hint="run `aptui sync` first, or rerun the rotation with --no-publish and update the "
                              "platform yourself")
    mine.change = sync.UPDATE
    result = await sync.push_sync(ctx, sync.SyncPlan(profile=plan.profile, items=[mine]), prof)
    if not result.ok:
        err = mine.error or {}
        raise AptuiError(str(err.get("code") or "PLATFORM_ERROR"), str(err.get("message") or "the update failed"),
                         hint="the platform keeps the old credential when its live test fails")
    mark_step(ctx, rot, "publish", DONE, f"platform connection {mine.remote_id} updated ({prof.name})", advance=True)
    return StepResult("publish", DONE, f"the platform's connection {conn.name} ({mine.remote_id}) now uses it")


_HANDLERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("aws", "inspect"): _aws_inspect, ("aws", "create"): _aws_create, ("aws", "test"): _test_new,
    ("aws", "store"): _store_new, ("aws", "publish"): _publish, ("aws", "retire"): _aws_retire,
    ("hashicorp", "inspect"): _vault_inspect, ("hashicorp", "create"): _vault_create,
    ("hashicorp", "test"): _test_new, ("hashicorp", "store"): _store_new, ("hashicorp", "publish"): _publish,
    ("hashicorp", "retire"): _vault_retire,
    ("prompt", "test"): _test_new, ("prompt", "store"): _store_new, ("prompt", "publish"): _publish,
    (API_KEY, "inspect"): _api_key_inspect, (API_KEY, "create"): _api_key_create,
    (API_KEY, "test"): _api_key_test, (API_KEY, "store"): _api_key_store, (API_KEY, "retire"): _api_key_retire,
    (MCP_TOKEN, "rotate"): _mcp_rotate,
}


def abort_options(ctx: Context, item_id: str) -> list[tuple[str, str]]:
    """How a stopped rotation can be aborted: ``[(mode, what it does)]`` for ``abort(mode=...)``.

    Before the store step there is one way (delete the unused new credential). After it, while the
    old credential is still active (not retired) and was kept staged, the old one can be put back in
    aptui and the new one deleted, matching a platform that never got it; or nothing is undone."""
    rot = pending(ctx, item_id)
    if rot is None:
        raise usage(f"no rotation of {item_id} is in progress", code="ROTATION_NOT_FOUND")
    what = "key" if rot.item.kind == "aws" else "secret ID"
    if rot.status("store") != DONE:
        return [("undo", f"delete the new {what} (never used); the old one stays stored and active")]
    options = []
    if rot.item.kind in ("aws", "hashicorp") and rot.status("retire") != DONE and \
            store_rot.staged(ctx.store, rot.run).get("oldConfig"):
        options.append(("restore", f"put the old {what} back in aptui and delete the new one (the platform "
                                   f"still has the old one)"))
    options.append(("keep", f"keep the new {what} in aptui; undo nothing ({state_text(rot)})"))
    return options


async def abort(ctx: Context, item_id: str, *, mode: str | None = None) -> dict[str, Any]:
    """Stop the rotation in progress. Before the new credential is stored, the provider-issued new
    credential is deleted/destroyed (it was never used); after that nothing is undone, unless
    ``mode="restore"`` (see ``abort_options``): the old credential back in aptui, the new one deleted."""
    ctx.require_writable("rotation abort")
    rot = pending(ctx, item_id)
    if rot is None:
        raise usage(f"no rotation of {item_id} is in progress", code="ROTATION_NOT_FOUND")
    undone: list[str] = []
    problems: list[str] = []
    staged = store_rot.staged(ctx.store, rot.run)
    stored = rot.status("store") == DONE
    if stored and mode == "restore":
        if mode not in {m for m, _ in abort_options(ctx, item_id)}:
            raise usage(f"the old credential of {item_id} cannot be put back (retired, or not kept)",
                        code="ROTATION_ABORT_UNAVAILABLE")
        await _restore_old(ctx, rot, staged, undone, problems)
    if not stored and rot.item.kind in ("aws", "hashicorp"):
        conn = connection_of(ctx, rot)
        config = store_conn.auth(ctx.store, conn)
        if rot.item.kind == "aws":
            await _abort_aws(ctx, rot, config, staged, undone, problems)
        else:
            role = rot.facts.get("role") or ""
            if staged.get("newAccessor"):
                if await _destroy_accessor(ctx, config, role, staged["newAccessor"]):
                    undone.append(f"new secret ID destroyed (accessor {staged['newAccessor']})")
                else:
                    problems.append(f"could not destroy the new secret ID (accessor {staged['newAccessor']})")
    if not stored and rot.item.kind == API_KEY and "create" in rot.plan:
        await _abort_api_key(ctx, rot, undone, problems)
    rot.run.state = store_rot.ABORTED
    rot.run.error = "; ".join(problems) or None
    store_rot.save_run(ctx.store, rot.run, clear_staged=True)
    left = state_text(rot) if stored else "the old credential is stored and active"
    if stored and mode == "restore" and not problems:
        left = "the old credential is back in aptui and active; the new one is deleted"
    ctx.audit("rotation.abort", rot.item.id, "ok" if not problems else "partial",
              f"run={rot.run.id}; " + ("; ".join(undone + problems) or "nothing to undo"))
    return {"ok": not problems, "item": rot.item.id, "run": rot.run.id, "undone": undone, "problems": problems,
            "state": left}


async def _restore_old(ctx: Context, rot: Rotation, staged: dict[str, str], undone: list[str],
                       problems: list[str]) -> None:
    """After store: the kept old credential back in aptui, then the new one deleted (with the old)."""
    from aptui.store.cache import cache_for

    conn = connection_of(ctx, rot)
    old_config = json.loads(staged["oldConfig"])
    store_conn.update(ctx.store, conn.id, config=old_config, tested_ok=True)
    store_rot.add_record(ctx.store, conn.id, conn.provider_id, store_rot.SET, utc_now_iso(),
                         note=f"old credential put back (rotation {rot.run.id} aborted)")
    cache_for(ctx.store).invalidate(conn.id)
    undone.append("old credential put back in aptui")
    if rot.item.kind == "aws" and staged.get("newKeyId"):
        if await _rollback_key(old_config, staged["newKeyId"], ctx):
            undone.append(f"new key {mask(staged['newKeyId'])} deleted")
        else:
            problems.append(f"could not delete the new key {mask(staged['newKeyId'])}")
    elif rot.item.kind == "hashicorp" and staged.get("newAccessor"):
        if await _destroy_accessor(ctx, old_config, rot.facts.get("role") or "", staged["newAccessor"]):
            undone.append(f"new secret ID destroyed (accessor {staged['newAccessor']})")
        else:
            problems.append(f"could not destroy the new secret ID (accessor {staged['newAccessor']})")


def history(ctx: Context, item_id: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """Recent runs (newest first), for ``rotation show`` and the console."""
    key = find_item(ctx, item_id).record_key if item_id else None
    return [r.to_dict() for r in store_rot.runs(ctx.store, key, limit=limit)]
