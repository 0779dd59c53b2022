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
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aptui.clock import iso, parse_iso, utc_now_iso
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret, mask
from aptui.services.context import Context
from aptui.services.rotation.items import API_KEY, AWS_SECRET, MCP_TOKEN, Item, find_item
from aptui.store import connections as store_conn
from aptui.store import rotation as store_rot

PLANS: dict[str, tuple[str, ...]] = {
    "aws": ("inspect", "create", "test", "store", "publish", "retire"),
    "hashicorp": ("inspect", "create", "test", "store", "publish", "retire"),
    "cyberark-conjur": ("test", "store", "publish"),
    "onepassword": ("test", "store", "publish"),
    API_KEY: ("inspect", "create", "test", "store", "retire"),
    MCP_TOKEN: ("rotate",),
}
# Kinds whose provider issues the new credential but which also accept one the operator made.
GIVEN_PLANS: dict[str, tuple[str, ...]] = {API_KEY: ("test", "store", "retire")}
# The secret field a prompted rotation replaces.
PROMPT_FIELD = {"cyberark-conjur": "apiKey", "onepassword": "serviceAccountToken", API_KEY: "apiKey"}
TEST_ATTEMPTS = {"aws": 4}  # IAM is eventually consistent: a brand-new key may be refused for seconds
TEST_DELAY = 3.0
DONE, SKIPPED, STARTED, FAILED = "done", "skipped", "started", "failed"
STOPPED = "ROTATION_STOPPED"


class RotationStopped(AptuiError):
    """A step failed or was declined: names the step, the provider state and what to do next."""

    def __init__(self, item_id: str, step: str, reason: str, state: str, *, exit_code: int = Exit.FAILED,
                 hint: str | None = None, cause: AptuiError | None = None) -> None:
        self.step = step
        self.state = state
        self.cause = cause
        params: dict[str, Any] = {"item": item_id, "step": step, "state": state}
        if cause is not None:
            params["cause"] = cause.code
        super().__init__(STOPPED, f"{item_id}: stopped at step '{step}' ({reason}); {state}", exit_code=exit_code,
                         hint=hint or f"rerun `aptui rotation rotate {item_id}` to continue from this step, or add "
                                      "--abort to undo", params=params)


@dataclass
class StepResult:
    step: str
    outcome: str
    detail: str
    secret: Secret | None = None  # MCP only: the new token, returned once and never stored

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "outcome": self.outcome, "detail": self.detail}


@dataclass
class Rotation:
    """An assisted rotation in progress (or finished): the item and its persisted run."""

    item: Item
    run: store_rot.Run
    results: list[StepResult] = field(default_factory=list)

    @property
    def plan(self) -> list[str]:
        return list(self.run.data.get("plan", []))

    @property
    def next_step(self) -> str | None:
        return self.run.step if self.run.state == store_rot.ACTIVE else None

    @property
    def done(self) -> bool:
        return self.run.state == store_rot.DONE

    @property
    def facts(self) -> dict[str, Any]:
        return self.run.data.setdefault("facts", {})

    def status(self, step: str) -> str | None:
        return (self.run.data.get("steps", {}).get(step) or {}).get("status")

    def to_dict(self) -> dict[str, Any]:
        data = self.run.to_dict()
        data["plan"] = self.plan
        data["results"] = [r.to_dict() for r in self.results]
        return data


# -- starting, finding, describing -------------------------------------------------------------------

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


def state_text(rot: Rotation) -> str:
    """Where the provider and the store stand now (for error messages and the console)."""
    kind, f = rot.item.kind, rot.facts
    new = f.get("newKey") or f.get("newAccessor") or "the new credential"
    old = f.get("oldKey") or (f"secret ID (accessor {f['oldAccessor']})" if f.get("oldAccessor")
                              else "credential")
    if kind == MCP_TOKEN:
        return "the token was not rotated" if rot.status("rotate") != STARTED else \
            "the platform may or may not have rotated the token; rotate again to get one you can see"
    issued = kind in ("aws", "hashicorp") or "create" in rot.plan
    what_new = f"new {'secret ID' if kind == 'hashicorp' else 'key'} {new}" if issued else "the new credential"
    if rot.status("store") != DONE:
        if issued and rot.status("create") == DONE:
            return (f"{what_new} was created and is staged (encrypted) but not stored; the old "
                    f"{'secret ID' if kind == 'hashicorp' else 'key'} is still stored and active")
        if issued and rot.status("create") == STARTED:
            return ("the provider may have created a new credential that aptui could not record; the old one is "
                    "still stored and active")
        return "nothing was changed: the old credential is still stored and active"
    if rot.status("publish") not in (DONE, SKIPPED) and "publish" in rot.plan:
        return "aptui's store holds the tested new credential; the platform and the old credential are unchanged"
    if "retire" in rot.plan and rot.status("retire") != DONE:
        return f"the new credential is stored{' and on the platform' if rot.status('publish') == DONE else ''}; " \
               f"the old {old} is still ACTIVE"
    return "the rotation is complete"


# -- running -----------------------------------------------------------------------------------------

def _mark(ctx: Context, rot: Rotation, step: str, status: str, detail: str = "", *,
          staged: dict[str, str] | None = None, advance: bool = False, clear_staged: bool = False) -> None:
    """Record a step's status (and advance); if the write fails, the run in memory is left as the
    store still has it, so a later ``_stop`` cannot persist a step that never was."""
    before = (copy.deepcopy(rot.run.data), rot.run.step, rot.run.state, rot.run.error)
    steps = rot.run.data.setdefault("steps", {})
    steps[step] = {"status": status, "at": utc_now_iso(), "detail": detail}
    if advance:
        plan = rot.plan
        i = plan.index(step)
        rot.run.step = plan[i + 1] if i + 1 < len(plan) else None
        if rot.run.step is None:
            rot.run.state = store_rot.DONE
            clear_staged = True
        rot.run.error = None
    try:
        store_rot.save_run(ctx.store, rot.run, staged=staged, clear_staged=clear_staged)
    except BaseException:
        rot.run.data, rot.run.step, rot.run.state, rot.run.error = before
        raise


def _stop(ctx: Context, rot: Rotation, step: str, err: AptuiError | str) -> RotationStopped:
    cause = err if isinstance(err, AptuiError) else None
    reason = f"{err.code}: {err.message}" if isinstance(err, AptuiError) else str(err)
    steps = rot.run.data.setdefault("steps", {})
    previous = steps.get(step) or {}
    # A create/rotate call that got no answer may have happened: keep it "started" (checked on resume).
    unknown = previous.get("status") == STARTED and step in ("create", "rotate") and cause is not None and \
        (cause.exit_code == Exit.UNREACHABLE or cause.code == "ROTATION_STRAY_KEY"
         or getattr(cause, "outcome_unknown", False))
    steps[step] = {"status": STARTED if unknown else FAILED, "at": previous.get("at") or utc_now_iso(),
                   "detail": reason}
    rot.run.error = reason
    with contextlib.suppress(AptuiError):
        store_rot.save_run(ctx.store, rot.run)
    state = state_text(rot)
    ctx.audit(f"rotation.{step}", rot.item.id, "failed", f"run={rot.run.id}; {cause.code if cause else reason}")
    return RotationStopped(rot.item.id, step, reason, state,
                           exit_code=cause.exit_code if cause else Exit.FAILED, cause=cause)


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
        raise _stop(ctx, rot, step, err) from None
    except Exception as exc:  # a bug: never its text (it could hold a value)
        raise _stop(ctx, rot, step, AptuiError("INTERNAL", f"unexpected {type(exc).__name__}")) from None
    rot.results.append(result)
    ctx.audit(f"rotation.{step}", rot.item.id, result.outcome, f"run={rot.run.id}; {result.detail}")
    return result


Confirm = Callable[[str, str], "bool | Awaitable[bool]"]
OnStep = Callable[[StepResult], None]


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


# -- helpers for steps ---------------------------------------------------------------------------------

def _conn(ctx: Context, rot: Rotation):
    conn = store_conn.get(ctx.store, rot.item.connection_id or "")
    if conn is None:
        raise AptuiError("ENTITY_NOT_FOUND", f"the connection of {rot.item.id} no longer exists")
    return conn


def _staged_config(ctx: Context, rot: Rotation) -> dict[str, str]:
    staged = store_rot.staged(ctx.store, rot.run)
    if "config" not in staged:
        raise AptuiError("ROTATION_STATE_LOST", "the staged new credential is missing from the store",
                         hint="abort this rotation (--abort) and start again")
    return json.loads(staged["config"])


def _options(ctx: Context, provider_id: str):
    from aptui.services.connections import provider_options

    return provider_options(ctx, provider_id)


async def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        await client.aclose()


# -- AWS -----------------------------------------------------------------------------------------------

async def _aws_inspect(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import AwsIam

    config = store_conn.auth(ctx.store, _conn(ctx, rot))
    iam = AwsIam(config, _options(ctx, "aws"))
    try:
        ident = await iam.caller_identity()
        arn = ident.get("Arn", "")
        if ":user/" not in arn:
            raise AptuiError("ROTATION_UNSUPPORTED", "assisted rotation needs an IAM user's access key; these "
                             f"credentials are {arn.split(':')[-1].split('/')[0] or 'not a user'}",
                             hint="rotate the role's credentials yourself, then `aptui rotation mark`")
        keys = await iam.list_access_keys()
    finally:
        await _close(iam)
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
    _mark(ctx, rot, "inspect", DONE, f"IAM user {user}; stored key {old.masked} ({old.status})",
          staged={"oldKeyId": old.key_id}, advance=True)
    return StepResult("inspect", DONE, f"IAM user {user}; stored key {old.masked} is {old.status}")


async def _aws_create(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import AwsIam

    staged = store_rot.staged(ctx.store, rot.run)
    config = store_conn.auth(ctx.store, _conn(ctx, rot))
    iam = AwsIam(config, _options(ctx, "aws"))
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
        _mark(ctx, rot, "create", STARTED, "CreateAccessKey sent")
        key_id, secret, _created = await iam.create_access_key()
    finally:
        await _close(iam)
    new_config = dict(config, accessKeyId=key_id, secretAccessKey=secret.reveal())
    rot.facts["newKey"] = mask(key_id)
    try:
        _mark(ctx, rot, "create", DONE, f"new key {mask(key_id)}", advance=True,
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

    iam = AwsIam(config, _options(ctx, "aws"))
    try:
        await iam.delete_access_key(key_id)
        return True
    except Exception:
        return False
    finally:
        await _close(iam)


async def _test_new(ctx: Context, rot: Rotation, delay: float | None) -> StepResult:
    from aptui.services.connections import live_check

    conn = _conn(ctx, rot)
    new_config = _staged_config(ctx, rot)
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
    _mark(ctx, rot, "test", DONE, f"connection check passed{tries}", advance=True)
    return StepResult("test", DONE, f"the new credential passed the connection check{tries}")


async def _store_new(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.store.cache import cache_for

    conn = _conn(ctx, rot)
    new_config = _staged_config(ctx, rot)
    # the replaced credential stays staged (encrypted) until the run ends: an abort after this step
    # can put it back, the one way out that matches a platform which never got the new one
    staged = {**store_rot.staged(ctx.store, rot.run),
              "oldConfig": json.dumps(store_conn.auth(ctx.store, conn), sort_keys=True)}
    with ctx.store.transaction():
        _updated, changed = store_conn.update(ctx.store, conn.id, config=new_config, tested_ok=True)
        store_rot.add_record(ctx.store, conn.id, conn.provider_id, store_rot.ROTATED, utc_now_iso(),
                             note=f"assisted rotation {rot.run.id}")
        _mark(ctx, rot, "store", DONE, "changed: " + (", ".join(changed) or "nothing"), staged=staged,
              advance=True)
    cache = cache_for(ctx.store)
    cache.invalidate(conn.id)
    from aptui.services.connections import ttls

    cache.set_status(conn.id, True, ttls(ctx, conn)[1])
    return StepResult("store", DONE, "the new credential is stored; the old one was replaced in aptui")


async def _publish(ctx: Context, rot: Rotation, _delay) -> StepResult:
    if not rot.run.data.get("publish", True):
        _mark(ctx, rot, "publish", SKIPPED, "not requested", advance=True)
        return StepResult("publish", SKIPPED, "the platform was not updated (not requested)")
    from aptui.services import profiles as profile_service
    from aptui.services import sync

    conn = _conn(ctx, rot)
    profile = rot.facts.get("profile")
    try:
        prof = profile_service.resolve_profile(ctx, profile)
        profile_service.resolve_api_key(ctx, prof)
    except AptuiError as err:
        if err.code not in ("PROFILE_MISSING", "API_KEY_MISSING"):
            raise
        _mark(ctx, rot, "publish", SKIPPED, f"no Activepieces profile ({err.code})", advance=True)
        return StepResult("publish", SKIPPED, "no Activepieces profile: if the platform uses this credential, "
                                              "update it there before the old one is retired")
    _mark(ctx, rot, "publish", STARTED, f"profile {prof.name}")
    plan = await sync.plan_sync(ctx, prof, resend_credentials=True)
    mine = next((i for i in plan.items if i.local_id == conn.id), None)
    if mine is None or mine.change not in (sync.UPDATE, sync.SAME):
        _mark(ctx, rot, "publish", SKIPPED, f"no connection named {conn.name} on the platform", advance=True)
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
    _mark(ctx, rot, "publish", DONE, f"platform connection {mine.remote_id} updated ({prof.name})", advance=True)
    return StepResult("publish", DONE, f"the platform's connection {conn.name} ({mine.remote_id}) now uses it")


async def _aws_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.aws_iam import INACTIVE, AwsIam

    staged = store_rot.staged(ctx.store, rot.run)
    old_id = staged.get("oldKeyId")
    if not old_id:
        raise AptuiError("ROTATION_STATE_LOST", "the old key id is missing from the run")
    config = store_conn.auth(ctx.store, _conn(ctx, rot))  # the new key, stored by now
    iam = AwsIam(config, _options(ctx, "aws"))
    try:
        _mark(ctx, rot, "retire", STARTED, "UpdateAccessKey Inactive sent")
        await iam.set_key_status(old_id, INACTIVE)
    finally:
        await _close(iam)
    _mark(ctx, rot, "retire", DONE, f"old key {mask(old_id)} deactivated", advance=True)
    return StepResult("retire", DONE, f"old key {mask(old_id)} deactivated (not deleted: delete it once nothing "
                                      "uses it)")


# -- Vault ---------------------------------------------------------------------------------------------

async def _vault_inspect(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.vault_approle import VaultAppRole

    config = store_conn.auth(ctx.store, _conn(ctx, rot))
    client = VaultAppRole(config, _options(ctx, "hashicorp"))
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
        await _close(client)
    sharing = _vault_sharing(ctx, rot, config)
    if sharing:
        notes.append(f"{len(sharing)} other local connection(s) use the same secret ID ({', '.join(sharing)}): "
                     "retiring it breaks them until they are updated with the new one")
    rot.facts.update({"role": role, "oldAccessor": accessor, "sharedWith": sharing})
    detail = f"role {role}; old accessor {accessor or 'unknown'}" + ("; " + "; ".join(notes) if notes else "")
    _mark(ctx, rot, "inspect", DONE, detail, staged={"oldAccessor": accessor or ""}, advance=True)
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
    config = store_conn.auth(ctx.store, _conn(ctx, rot))
    role = rot.facts.get("role") or ""
    client = VaultAppRole(config, _options(ctx, "hashicorp"))
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
        _mark(ctx, rot, "create", STARTED, "secret-id generation sent")
        secret_id, accessor = await client.generate_secret_id(login.token, role)
    finally:
        await _close(client)
    new_config = dict(config, secretId=secret_id.reveal())
    rot.facts["newAccessor"] = accessor
    try:
        _mark(ctx, rot, "create", DONE, f"new secret ID (accessor {accessor})", advance=True,
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
    client = VaultAppRole(config, _options(ctx, "hashicorp"))
    try:
        login = await client.login()
        await client.destroy_accessor(login.token, role, accessor)
        return True
    except Exception:
        return False
    finally:
        await _close(client)


async def _vault_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.providers.vault_approle import VaultAppRole

    staged = store_rot.staged(ctx.store, rot.run)
    accessor = staged.get("oldAccessor")
    if not accessor:
        _mark(ctx, rot, "retire", SKIPPED, "old accessor unknown", advance=True)
        return StepResult("retire", SKIPPED, "the old secret ID's accessor is unknown (lookup was denied): "
                                             "destroy the old secret ID in Vault")
    config = store_conn.auth(ctx.store, _conn(ctx, rot))  # the new secret ID by now
    client = VaultAppRole(config, _options(ctx, "hashicorp"))
    try:
        login = await client.login()
        _mark(ctx, rot, "retire", STARTED, "secret-id-accessor/destroy sent")
        try:
            await client.destroy_accessor(login.token, rot.facts.get("role") or "", accessor)
        except AptuiError as err:
            if getattr(err, "denied", False):
                _mark(ctx, rot, "retire", SKIPPED, "destroy not permitted", advance=True)
                return StepResult("retire", SKIPPED, f"not permitted to destroy the old secret ID: destroy accessor "
                                                     f"{accessor} in Vault (it stays valid until then)")
            if getattr(err, "status", None) == 404 and rot.status("retire") == STARTED:
                pass  # destroyed by the interrupted attempt
            else:
                raise
    finally:
        await _close(client)
    _mark(ctx, rot, "retire", DONE, f"old secret ID destroyed (accessor {accessor})", advance=True)
    return StepResult("retire", DONE, f"old secret ID destroyed (accessor {accessor})")


# -- prompted credentials, API keys, MCP ------------------------------------------------------------------

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
    _mark(ctx, rot, "test", DONE, "GET /v1/projects accepted the new key", advance=True)
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
    _mark(ctx, rot, "inspect", DONE, detail, advance=True)
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
        _mark(ctx, rot, "create", STARTED, f"creating API key '{f['newKeyName']}'")
        entry, value = await ap_api_keys.create_api_key(client, f["newKeyName"])
        f["newKeyId"] = str(entry["id"])
        f["newKey"] = f"API key '{entry.get('displayName')}' ({entry['id']})"
        try:
            _mark(ctx, rot, "create", DONE, f["newKey"], staged={"apiKey": value.reveal()}, advance=True)
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
        _mark(ctx, rot, "store", DONE, "profile key replaced", advance=True)
    return StepResult("store", DONE, f"profile {prof.name} now uses the new key")


async def _api_key_retire(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.activepieces import api_keys as ap_api_keys
    from aptui.activepieces.client import ApiError
    from aptui.services import platform

    f = rot.facts
    if not f.get("oldKeyId"):
        why = f.get("oldKeyLookup", "not looked up")
        _mark(ctx, rot, "retire", SKIPPED, why, advance=True)
        return StepResult("retire", SKIPPED, f"the old key was not identified ({why}): revoke it yourself in the "
                                             "platform's API keys settings")
    _, client = _profile_client(ctx, rot)  # the new key: stored by now
    try:
        _mark(ctx, rot, "retire", STARTED, f"revoking {f['oldKey']}")
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
    _mark(ctx, rot, "retire", DONE, detail, advance=True)
    return StepResult("retire", DONE, detail)


async def _mcp_rotate(ctx: Context, rot: Rotation, _delay) -> StepResult:
    from aptui.services import platform

    again = rot.status("rotate") == STARTED
    _mark(ctx, rot, "rotate", STARTED, "rotation sent")
    rotated = await platform.rotate_mcp_token(ctx, rot.item.profile_id, project=rot.item.project_id)
    store_rot.add_record(ctx.store, rot.item.record_key, MCP_TOKEN, store_rot.ROTATED, utc_now_iso(),
                         note=f"assisted rotation {rot.run.id}")
    _mark(ctx, rot, "rotate", DONE, f"server {rotated.server.get('id')}", advance=True)
    detail = f"token of project {rotated.project_id} rotated" + (" (again: the interrupted attempt's token was "
                                                                   "never shown)" if again else "")
    return StepResult("rotate", DONE, detail, secret=rotated.token)


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


# -- abort ---------------------------------------------------------------------------------------------

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
        conn = _conn(ctx, rot)
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


async def _abort_aws(ctx: Context, rot: Rotation, config: dict[str, str], staged: dict[str, str],
                     undone: list[str], problems: list[str]) -> None:
    from aptui.providers.aws_iam import AwsIam

    targets: list[str] = []
    if staged.get("newKeyId"):
        targets.append(staged["newKeyId"])
    elif rot.status("create") in (STARTED, FAILED):
        iam = AwsIam(config, _options(ctx, "aws"))
        try:
            keys = await iam.list_access_keys()
        finally:
            await _close(iam)
        since = parse_iso(rot.run.data["steps"]["create"]["at"]) - timedelta(minutes=1)
        targets += [k.key_id for k in keys
                    if k.key_id != staged.get("oldKeyId") and k.created and k.created >= since]
    for key_id in targets:
        if await _rollback_key(config, key_id, ctx):
            undone.append(f"new key {mask(key_id)} deleted")
        else:
            problems.append(f"could not delete the new key {mask(key_id)}")


async def _restore_old(ctx: Context, rot: Rotation, staged: dict[str, str], undone: list[str],
                       problems: list[str]) -> None:
    """After store: the kept old credential back in aptui, then the new one deleted (with the old)."""
    from aptui.store.cache import cache_for

    conn = _conn(ctx, rot)
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

