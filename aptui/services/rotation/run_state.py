"""A rotation run's state: plans, step results, the persisted run, and how a step is marked or stopped."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aptui.clock import utc_now_iso
from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.services.context import Context
from aptui.services.rotation.items import API_KEY, MCP_TOKEN, Item
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


def mark_step(ctx: Context, rot: Rotation, step: str, status: str, detail: str = "", *,
          staged: dict[str, str] | None = None, advance: bool = False, clear_staged: bool = False) -> None:
    """Record a step's status (and advance); if the write fails, the run in memory is left as the
    store still has it, so a later ``stop_at`` cannot persist a step that never was."""
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


def stop_at(ctx: Context, rot: Rotation, step: str, err: AptuiError | str) -> RotationStopped:
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


Confirm = Callable[[str, str], "bool | Awaitable[bool]"]
OnStep = Callable[[StepResult], None]


def connection_of(ctx: Context, rot: Rotation):
    conn = store_conn.get(ctx.store, rot.item.connection_id or "")
    if conn is None:
        raise AptuiError("ENTITY_NOT_FOUND", f"the connection of {rot.item.id} no longer exists")
    return conn


def staged_config(ctx: Context, rot: Rotation) -> dict[str, str]:
    staged = store_rot.staged(ctx.store, rot.run)
    if "config" not in staged:
        raise AptuiError("ROTATION_STATE_LOST", "the staged new credential is missing from the store",
                         hint="abort this rotation (--abort) and start again")
    return json.loads(staged["config"])


def options_for(ctx: Context, provider_id: str):
    from aptui.services.connections import provider_options

    return provider_options(ctx, provider_id)


async def close_client(client: Any) -> None:
    with contextlib.suppress(Exception):
        await client.aclose()
