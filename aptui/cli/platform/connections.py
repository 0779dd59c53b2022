"""`aptui platform connections list|upsert|delete` (app connections)."""

from __future__ import annotations

import sys
from typing import Any

import click

from aptui.cli.common import app_context, confirm, json_option, read_secret, yes_option
from aptui.cli.output import emit, line
from aptui.cli.platform.common import STATUS_CHOICE, _json_arg, _run, profile_option, project_option, stream
from aptui.cli.platform.group import platform_group
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret


@platform_group.group("connections")
def connections_group() -> None:
    """App connections (credentials of pieces)."""


CONNECTION_COLUMNS = (
    ("id", 21, lambda c: c.get("id")),
    ("name", 28, lambda c: c.get("displayName")),
    ("piece", 28, lambda c: c.get("pieceName")),
    ("status", 7, lambda c: c.get("status")),
    ("scope", 8, lambda c: c.get("scope")),
    ("sm-ref", 6, lambda c: "yes" if c.get("usingSecretManager") else ""),
    ("externalId", 30, lambda c: c.get("externalId")),
)


@connections_group.command("list")
@profile_option
@project_option
@click.option("--piece", "piece_name", default=None, help="Exact piece name, e.g. @activepieces/piece-slack.")
@click.option("--name", "display_name", default=None, help="Display name contains (case-insensitive).")
@click.option("--status", "status", multiple=True, type=STATUS_CHOICE, help="ACTIVE, MISSING or ERROR (repeatable).")
@click.option("--scope", type=click.Choice(["PROJECT", "PLATFORM"], case_sensitive=False), default=None)
@click.option("--tenant", default=None, help="Ever Gauzy tenant: metadata.tenantId equals (client-side).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after this many connections.")
@click.option("--page-size", type=click.IntRange(1, 100), default=100, show_default=True)
@json_option
def connections_list_cmd(profile: str | None, project: str | None, piece_name: str | None,
                         display_name: str | None, status: tuple[str, ...], scope: str | None, tenant: str | None,
                         limit: int | None, page_size: int, as_json: bool) -> int:
    """List a project's app connections (streamed page by page; never their values)."""
    from aptui.services import platform

    async def work(ctx) -> int:
        items = platform.iter_app_connections(
            ctx, profile, project=project, piece_name=piece_name, display_name=display_name,
            status=[s.upper() for s in status], scope=scope.upper() if scope else None, tenant=tenant,
            page_size=page_size, max_items=limit)
        return await stream(items, as_json=as_json, key="connections", columns=CONNECTION_COLUMNS,
                            empty="no connections")

    return _run(work)


def _read_value(value_env: str | None) -> Secret:
    if value_env:
        return Secret(read_secret("connection value", env=value_env))
    return Secret(read_secret("connection value"))


@connections_group.command("upsert")
@profile_option
@project_option
@click.option("--display-name", required=True)
@click.option("--piece-name", required=True, help="e.g. ever-gauzy or @activepieces/piece-slack.")
@click.option("--external-id", required=True, help="Upsert key within the project, e.g. gauzy-tenant-1-org-2.")
@click.option("--metadata", default=None, metavar="JSON", help='A JSON object, e.g. \'{"tenantId": "1"}\'.')
@click.option("--piece-version", default=None)
@click.option("--value-env", default=None, metavar="VAR", help="Read the secret value from this variable "
              "(else stdin or a hidden prompt).")
@click.option("--check-ref/--no-check-ref", default=None,
              help="Test a secret-manager reference value with the reference tester first "
                   "(default: yes when not asked interactively).")
@json_option
def connections_upsert_cmd(profile: str | None, project: str | None, display_name: str, piece_name: str,
                           external_id: str, metadata: str | None, piece_version: str | None,
                           value_env: str | None, check_ref: bool | None, as_json: bool) -> int:
    """Create or replace a SECRET_TEXT app connection (keyed by project + external id)."""
    from aptui.services import platform

    meta = _json_arg(metadata, "--metadata")
    ctx = app_context()
    ctx.require_writable("connection upsert")
    value = _read_value(value_env)
    do_check = False
    if platform.is_reference(value):
        available = platform.reference_tester_available()
        if check_ref is True and not available:
            raise usage("the reference tester is not available in this aptui", hint="use --no-check-ref")
        if check_ref is None:
            # interactive: offer the check; non-interactive: check whenever the tester exists
            check_ref = (click.confirm("The value is a secret-manager reference. Test it with the reference "
                                       "tester first?", default=True, err=True)
                         if available and sys.stdin.isatty() else available)
        do_check = bool(check_ref)

    async def work(ctx) -> dict[str, Any]:
        p = await platform.session(ctx, profile)
        pid = p.project(project)
        verdict = None
        if do_check:
            verdict = await platform.check_reference(ctx, value, pid)
            if not verdict["ok"]:
                err = verdict.get("error") or {}
                reason = err.get("message") or verdict.get("detail") or verdict.get("verdict")
                if verdict.get("suggested"):
                    reason = f"Activepieces needs the connection id form: {verdict['suggested']}"
                raise AptuiError(err.get("code") or "REFERENCE_NOT_RESOLVED",
                                 f"the reference would not resolve on the platform: {reason}; nothing was sent",
                                 hint="fix the reference, or pass --no-check-ref to upsert anyway")
        result = await platform.upsert_app_connection(
            ctx, p.profile, project=pid, external_id=external_id, display_name=display_name,
            piece_name=piece_name, value=value, metadata=meta, piece_version=piece_version)
        return {"ok": True, "connection": result, "referenceCheck": verdict}

    data = _run(work)
    conn = data["connection"]

    def render() -> None:
        if data["referenceCheck"]:
            line("reference checked: resolves")
        line(f"upserted {conn.get('displayName')} ({conn.get('id')}), status {conn.get('status')}"
             + (", uses a secret-manager reference" if conn.get("usingSecretManager") else ""))

    emit(as_json, data, render)
    return Exit.OK


@connections_group.command("delete")
@click.argument("connection_id")
@profile_option
@project_option
@yes_option
@json_option
def connections_delete_cmd(connection_id: str, profile: str | None, project: str | None, yes: bool,
                           as_json: bool) -> int:
    """Delete an app connection (flows using it will fail at run time)."""
    from aptui.services import platform

    ctx = app_context()
    ctx.require_writable("connection delete")
    prompt = f"Delete app connection {connection_id}?"
    if not yes and sys.stdin.isatty():
        found = _run(lambda c: platform.find_app_connection(c, profile, connection_id, project))
        if found is not None:
            flows = len(found.get("flowIds") or [])
            prompt = (f"Delete app connection {found.get('displayName')} ({connection_id}); "
                      f"{flows} flow(s) use it and will fail?")
    confirm(prompt, yes=yes)
    _run(lambda c: platform.delete_app_connection(c, profile, connection_id=connection_id, project=project))
    emit(as_json, {"ok": True, "deleted": connection_id}, lambda: line(f"deleted app connection {connection_id}"))
    return Exit.OK


# MCP -------------------------------------------------------------------------------------------------
