"""`aptui sync`: local secret-manager connections against the platform's (push needs a user session)."""

from __future__ import annotations

import click

from aptui.cli.common import app_context, confirm, json_option, yes_option
from aptui.cli.output import emit, line, write
from aptui.cli.platform.common import _run, profile_option
from aptui.errors import Exit


@click.command("sync")
@profile_option
@click.option("--push", is_flag=True, help="Create/update the platform's connections from the local ones.")
@click.option("--resend-credentials", is_flag=True,
              help="Also push connections that look the same (credentials cannot be compared).")
@yes_option
@json_option
def sync_cmd(profile: str | None, push: bool, resend_credentials: bool, yes: bool, as_json: bool) -> int:
    """Compare local secret-manager connections with the platform's (by name: missing, different,
    extra) and, with --push, apply creates and updates after a confirmation listing each change.
    Extra platform connections are never deleted. Exit 1 when out of sync (without --push) or when
    a push failed."""
    from aptui.services import sync

    ctx = app_context()
    if push:
        ctx.require_writable("sync push")

    async def work(c) -> sync.SyncPlan:
        return await sync.plan_sync(c, profile, resend_credentials=resend_credentials)

    plan = _run(work)
    if push and plan.changes:
        listing = "\n".join("  " + i.describe() for i in plan.changes)
        if not as_json or not yes:
            write(f"changes to push to profile {plan.profile}:\n{listing}\n", stderr=True)
        confirm(f"Push these {len(plan.changes)} change(s)?", yes=yes)
        plan = _run(lambda c: sync.push_sync(c, plan, profile))

    def render() -> None:
        s = plan.summary()
        line(f"profile {plan.profile}: {s['create']} missing on the platform, {s['update']} different, "
             f"{s['extra']} extra on the platform, {s['same']} the same")
        for item in plan.items:
            if item.change == sync.SAME:
                continue
            text = "  " + item.describe()
            if item.outcome:
                text += f" → {item.outcome}"
                if item.error:
                    text += f" ({item.error['code']}: {item.error['message']})"
            line(text)
        if not push and plan.changes:
            line("run `aptui sync --push` to apply the creates and updates")

    emit(as_json, plan.to_dict(), render)
    if push:
        return sync.exit_code(plan)
    return Exit.OK if plan.in_sync else Exit.FAILED
