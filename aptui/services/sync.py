"""`aptui sync`: compare local secret-manager connections with the platform's, and push.

Matching is by name. A local connection missing on the platform is ``create``; one whose
provider, scope or projects differ is ``update``; a remote one with no local twin is ``extra``
(reported, never deleted); the rest are ``same``. Credentials cannot be compared — the platform
never returns them — so ``resend_credentials`` turns every ``same`` into an ``update`` (e.g. after
a rotation). Pushing sends the decrypted local config in the create/update body (the platform
tests it live and saves nothing on failure); the config is never printed, logged or audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aptui.activepieces import secret_managers as ap_sm
from aptui.errors import AptuiError, Exit
from aptui.services import platform
from aptui.services.context import Context
from aptui.store import connections as store_connections

CREATE, UPDATE, EXTRA, SAME = "create", "update", "extra", "same"
CREATED, UPDATED, FAILED = "created", "updated", "failed"


@dataclass
class SyncItem:
    """One name's comparison (and, after a push, its outcome)."""

    name: str
    change: str
    provider_id: str
    scope: str
    project_ids: list[str] = field(default_factory=list)
    local_id: str | None = None
    remote_id: str | None = None
    differences: list[str] = field(default_factory=list)
    outcome: str | None = None
    error: dict[str, Any] | None = None

    def describe(self) -> str:
        if self.change == CREATE:
            where = f" for {', '.join(self.project_ids)}" if self.scope == "PROJECT" else ""
            return f"create {self.name} ({self.provider_id}, {self.scope}{where})"
        if self.change == UPDATE:
            return f"update {self.name} ({'; '.join(self.differences) or 'resend credentials'})"
        if self.change == EXTRA:
            return f"extra on the platform: {self.name} ({self.provider_id}, {self.scope}) — left as is"
        return f"same: {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SyncPlan:
    profile: str
    items: list[SyncItem]
    pushed: bool = False

    def by_change(self, change: str) -> list[SyncItem]:
        return [i for i in self.items if i.change == change]

    @property
    def changes(self) -> list[SyncItem]:
        """What a push would do: creates and updates."""
        return [i for i in self.items if i.change in (CREATE, UPDATE)]

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.by_change(EXTRA)

    @property
    def ok(self) -> bool:
        return not any(i.outcome == FAILED for i in self.items)

    def summary(self) -> dict[str, int]:
        return {c: len(self.by_change(c)) for c in (CREATE, UPDATE, EXTRA, SAME)}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "profile": self.profile, "pushed": self.pushed, "in_sync": self.in_sync,
                "summary": self.summary(), "items": [i.to_dict() for i in self.items]}


def _differences(local: store_connections.Connection, remote: dict[str, Any]) -> list[str]:
    diffs = []
    if local.provider_id != remote.get("providerId"):
        diffs.append(f"provider {remote.get('providerId')} → {local.provider_id}")
    if local.scope != remote.get("scope"):
        diffs.append(f"scope {remote.get('scope')} → {local.scope}")
    if local.scope == "PROJECT":
        theirs = sorted(remote.get("projectIds") or [])
        if sorted(local.project_ids) != theirs:
            diffs.append(f"projects {','.join(theirs) or '-'} → {','.join(sorted(local.project_ids))}")
    return diffs


async def plan_sync(ctx: Context, profile: platform.ProfileRef = None, *,
                    resend_credentials: bool = False) -> SyncPlan:
    """Compare (read only). Items are ordered: creates, updates, extras, sames; by name."""
    p = await platform.session(ctx, profile)
    remote = await ap_sm.list_connections(p.client)
    local = store_connections.list_all(ctx.store)
    remote_by_name: dict[str, list[dict[str, Any]]] = {}
    for item in remote:
        remote_by_name.setdefault(str(item.get("name")), []).append(item)
    items: list[SyncItem] = []
    for conn in local:
        twins = remote_by_name.get(conn.name, [])
        base = {"name": conn.name, "provider_id": conn.provider_id, "scope": conn.scope,
                "project_ids": list(conn.project_ids), "local_id": conn.id}
        if not twins:
            items.append(SyncItem(change=CREATE, **base))
            continue
        twin = twins[0]
        diffs = _differences(conn, twin)
        if len(twins) > 1:
            diffs.append(f"{len(twins)} platform connections share this name; the first ({twin.get('id')}) is used")
        change = UPDATE if diffs or resend_credentials else SAME
        items.append(SyncItem(change=change, remote_id=twin.get("id"), differences=diffs, **base))
    local_names = {c.name for c in local}
    for name, twins in remote_by_name.items():
        if name not in local_names:
            for twin in twins:
                items.append(SyncItem(name=name, change=EXTRA, provider_id=str(twin.get("providerId")),
                                      scope=str(twin.get("scope")), project_ids=list(twin.get("projectIds") or []),
                                      remote_id=twin.get("id")))
    order = {CREATE: 0, UPDATE: 1, EXTRA: 2, SAME: 3}
    items.sort(key=lambda i: (order[i.change], i.name))
    return SyncPlan(profile=p.profile.name, items=items)


async def push_sync(ctx: Context, plan: SyncPlan, profile: platform.ProfileRef = None, *,
                    on_progress: Callable[[int, int, SyncItem], None] | None = None) -> SyncPlan:
    """Apply the plan's creates and updates one by one; a failure is recorded and the rest go on."""
    ctx.require_writable("sync push")
    p = await platform.session(ctx, profile or plan.profile)
    todo = plan.changes
    for n, item in enumerate(todo, start=1):
        try:
            config = store_connections.auth(ctx.store, item.local_id or "")
            body = platform.build_secret_manager_body(provider_id=item.provider_id, name=item.name,
                                                      scope=item.scope, project_ids=item.project_ids,
                                                      config=config)
            if item.change == CREATE:
                created = await ap_sm.create(p.client, body)
                item.remote_id = created.get("id")
                item.outcome = CREATED
            else:
                await ap_sm.update(p.client, item.remote_id or "", body)
                item.outcome = UPDATED
            ctx.audit(f"platform.sync.{item.change}", item.name, "ok", f"remote={item.remote_id}")
        except AptuiError as err:
            item.outcome = FAILED
            item.error = err.to_dict()
            ctx.audit(f"platform.sync.{item.change}", item.name, "failed", err.code)
        if on_progress is not None:
            on_progress(n, len(todo), item)
    plan.pushed = True
    return plan


def exit_code(plan: SyncPlan) -> int:
    return Exit.OK if plan.ok else Exit.FAILED
