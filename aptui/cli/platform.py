"""`aptui platform <noun> <verb>` (the Activepieces API) and `aptui sync`.

Every leaf takes ``--profile NAME`` and ``--json``. Long lists stream page by page (text rows or
one JSON document written as it goes), so 10,000 connections never sit in memory at once.
Secret values come from ``--value-env VAR``/``--set-env FIELD=VAR``, stdin or a hidden prompt.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click

from aptui.cli.common import app_context, confirm, json_option, read_secret, run_async, yes_option
from aptui.cli.output import dumps, emit, line, print_json, table, write
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret
from aptui.untrusted import visible

T = TypeVar("T")

STATUS_CHOICE = click.Choice(["ACTIVE", "MISSING", "ERROR"], case_sensitive=False)
RUN_STATUSES = ("FAILED", "QUOTA_EXCEEDED", "INTERNAL_ERROR", "PAUSED", "QUEUED", "RUNNING", "SUCCEEDED",
                "MEMORY_LIMIT_EXCEEDED", "TIMEOUT", "CANCELED", "LOG_SIZE_EXCEEDED")


def profile_option(func: Callable) -> Callable:
    return click.option("--profile", "profile", default=None, metavar="NAME",
                        help="Profile to use (default: APTUI_PROFILE, `profile use`, config).")(func)


def project_option(func: Callable) -> Callable:
    return click.option("--project", "project", default=None, metavar="ID",
                        help="Project id (default: the profile's default project).")(func)


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(ctx)`` on an event loop and close the platform clients afterwards."""
    from aptui.services import platform

    ctx = app_context()

    async def main() -> T:
        try:
            return await work(ctx)
        finally:
            await platform.aclose(ctx)

    return run_async(main())


# -- streaming output --------------------------------------------------------------------------


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else visible(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


async def stream(items: AsyncIterator[dict[str, Any]], *, as_json: bool, key: str,
                 columns: Sequence[tuple[str, int, Callable[[dict[str, Any]], Any]]],
                 empty: str) -> int:
    """Print items as they arrive: fixed-width rows, or ``{"<key>": [...], "count": n}`` in JSON.

    An error mid-list still ends a valid document (``"ok": false`` and the error) in JSON mode.
    """
    out = sys.stdout
    count = 0
    if as_json:
        out.write('{"' + key + '": [')
    else:
        out.write("  ".join(_cell(name, width).ljust(width) for name, width, _ in columns).rstrip() + "\n")
    try:
        async for item in items:
            if as_json:
                out.write(("\n  " if count == 0 else ",\n  ") + dumps(item, indent=None))
            else:
                out.write("  ".join(_cell(get(item), width).ljust(width) for _, width, get in columns).rstrip()
                          + "\n")
            count += 1
            if count % 200 == 0:
                out.flush()
    except AptuiError as err:
        if not as_json:
            out.flush()
            raise
        out.write(("\n" if count else "") + f'], "count": {count}, "ok": false, "error": '
                  + dumps(err.to_dict(), indent=None) + "}\n")
        out.flush()
        sys.stderr.write(f"aptui: {err.one_line()}\n")
        return err.exit_code
    if as_json:
        out.write(("\n" if count else "") + f'], "count": {count}, "ok": true}}\n')
    elif count == 0:
        out.write(f"({empty})\n")
    out.flush()
    return Exit.OK


def _json_arg(text: str | None, label: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise usage(f"{label} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise usage(f"{label} must be a JSON object")
    return value


# -- the group ---------------------------------------------------------------------------------


@click.group("platform")
def platform_group() -> None:
    """The Activepieces platform of a profile: projects, app connections, MCP, secret managers,
    flow runs, pieces."""


@platform_group.command("info")
@profile_option
@json_option
def info_cmd(profile: str | None, as_json: bool) -> int:
    """Server version and edition (GET /v1/flags)."""
    from aptui.services import platform

    data = _run(lambda ctx: platform.server_info(ctx, profile))
    emit(as_json, data, lambda: line(f"{data['profile']}: {data['url']} — Activepieces "
                                     f"{data['server_version'] or '(version unknown)'} ({data['edition'] or '?'})"))
    return Exit.OK


# projects ---------------------------------------------------------------------------------------


@platform_group.group("projects")
def projects_group() -> None:
    """Projects the API key can see."""


@projects_group.command("list")
@profile_option
@json_option
def projects_list_cmd(profile: str | None, as_json: bool) -> int:
    """List projects."""
    from aptui.services import platform

    rows = _run(lambda ctx: platform.list_projects(ctx, profile))
    emit(as_json, {"projects": rows, "count": len(rows)},
         lambda: table(["id", "name", "externalId", "type"],
                       [(p.get("id"), p.get("displayName"), p.get("externalId") or "", p.get("type") or "")
                        for p in rows]) if rows else line("(no projects)"))
    return Exit.OK


# app connections ---------------------------------------------------------------------------------


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


@platform_group.group("mcp")
def mcp_group() -> None:
    """MCP servers (one per project; tokens are never shown except right after a rotation)."""


def _mcp_rows(servers: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for s in servers:
        if "error" in s:
            rows.append((s.get("projectId"), "", "", f"error: {s['error']['code']}", ""))
            continue
        tools = s.get("disabledTools")
        rows.append((s.get("projectId"), s.get("id"), s.get("name") or s.get("type") or "",
                     ", ".join(tools) if tools else "(none)", s.get("updated") or ""))
    return rows


@mcp_group.command("list")
@profile_option
@click.option("--project", "projects", multiple=True, metavar="ID", help="Project id (repeatable; default: all).")
@json_option
def mcp_list_cmd(profile: str | None, projects: tuple[str, ...], as_json: bool) -> int:
    """MCP servers of projects (tokens removed)."""
    from aptui.services import platform

    servers = _run(lambda ctx: platform.mcp_servers(ctx, profile, projects=list(projects)))
    emit(as_json, {"servers": servers, "count": len(servers)},
         lambda: table(["project", "server", "type/name", "disabled tools", "updated"], _mcp_rows(servers)))
    return Exit.FAILED if any("error" in s for s in servers) else Exit.OK


@mcp_group.command("show")
@profile_option
@project_option
@json_option
def mcp_show_cmd(profile: str | None, project: str | None, as_json: bool) -> int:
    """One project's MCP server (token removed)."""
    from aptui.services import platform

    servers = _run(lambda ctx: platform.mcp_show(ctx, profile, project=project))

    def render() -> None:
        for s in servers:
            line(f"server {s.get('id')} of project {s.get('projectId')}"
                 + (f" ({s['name']})" if s.get("name") else f" ({s.get('type')})"))
            tools = s.get("disabledTools")
            line(f"  disabled tools: {', '.join(tools) if tools else '(none)'}")
            line(f"  updated: {s.get('updated')}")
            line("  token: (hidden; rotate to get a new one)")

    emit(as_json, {"servers": servers}, render)
    return Exit.OK


@mcp_group.command("update")
@profile_option
@project_option
@click.option("--disable", multiple=True, metavar="TOOL", help="Disable a tool (repeatable).")
@click.option("--enable", multiple=True, metavar="TOOL", help="Enable a tool again (repeatable).")
@click.option("--disabled-tools", default=None, metavar="LIST",
              help="Replace the whole list (comma-separated; '' enables every tool).")
@click.option("--name", default=None, help="Rename (older platforms with named MCP servers).")
@click.option("--server", "server_id", default=None, help="Server id (older platforms with several per project).")
@json_option
def mcp_update_cmd(profile: str | None, project: str | None, disable: tuple[str, ...], enable: tuple[str, ...],
                   disabled_tools: str | None, name: str | None, server_id: str | None, as_json: bool) -> int:
    """Change which tools an MCP server exposes."""
    from aptui.services import platform

    full = None if disabled_tools is None else [t.strip() for t in disabled_tools.split(",") if t.strip()]
    if full is not None and (disable or enable):
        raise usage("--disabled-tools replaces the list; do not combine it with --disable/--enable")
    server = _run(lambda ctx: platform.mcp_update(ctx, profile, project=project, disable=list(disable),
                                                  enable=list(enable), disabled_tools=full, name=name,
                                                  server_id=server_id))
    tools = server.get("disabledTools")
    emit(as_json, {"ok": True, "server": server},
         lambda: line(f"updated MCP server {server.get('id')}: disabled tools "
                      f"{', '.join(tools) if tools else '(none)'}"))
    return Exit.OK


def _osc52(text: str) -> None:
    """Copy to the terminal's clipboard (OSC 52; wrapped for tmux) through /dev/tty."""
    payload = base64.b64encode(text.encode()).decode()
    seq = f"\x1b]52;c;{payload}\x07"
    if os.environ.get("TMUX"):
        seq = f"\x1bPtmux;\x1b{seq}\x1b\\"
    with open("/dev/tty", "w") as tty:
        tty.write(seq)
        tty.flush()


def _tty_available() -> bool:
    try:
        with open("/dev/tty", "w"):
            return True
    except OSError:
        return False


@mcp_group.command("rotate")
@profile_option
@project_option
@click.option("--server", "server_id", default=None, help="Server id (older platforms with several per project).")
@click.option("--copy", "copy_token", is_flag=True, help="Copy the new token to the clipboard (OSC 52) "
              "instead of printing it.")
@yes_option
@json_option
def mcp_rotate_cmd(profile: str | None, project: str | None, server_id: str | None, copy_token: bool, yes: bool,
                   as_json: bool) -> int:
    """Rotate an MCP server's token. The new token is shown once (or copied), then forgotten:
    it is never stored, logged or shown again. With --json it is in the field "new_token"."""
    from aptui.services import platform

    ctx = app_context()
    ctx.require_writable("mcp rotate")
    if copy_token and not _tty_available():
        raise usage("--copy needs a terminal (OSC 52 goes to /dev/tty); nothing was rotated")
    confirm(f"Rotate the MCP token of project {project or '(default project)'}? Clients using the old token "
            "stop working.", yes=yes)
    rotated = _run(lambda c: platform.rotate_mcp_token(c, profile, project=project, server_id=server_id))
    if copy_token:
        _osc52(rotated.token.reveal())
    if as_json:
        data = {"ok": True, **rotated.to_dict(), "copied": copy_token}
        if not copy_token:
            data["new_token"] = rotated.token.reveal()
        print_json(data)
    else:
        line(f"rotated the MCP token of project {rotated.project_id} (server {rotated.server.get('id')})")
        if copy_token:
            line("the new token was copied to the clipboard; it is not shown and not stored")
        else:
            write(f"new token (shown once, not stored): {rotated.token.reveal()}\n")
    return Exit.OK


# secret managers ---------------------------------------------------------------------------------------


@platform_group.group("secret-managers")
def sm_group() -> None:
    """The platform's secret-manager connections (Enterprise) and its secret cache."""


SM_COLUMNS = ("id", "name", "provider", "scope", "projects", "configured", "connected")


def _sm_row(s: dict[str, Any]) -> tuple[Any, ...]:
    conn = s.get("connection") or {}
    return (s.get("id"), s.get("name"), s.get("providerId"), s.get("scope"), ",".join(s.get("projectIds") or []),
            "yes" if conn.get("configured") else "no", "yes" if conn.get("connected") else "no")


@sm_group.command("list")
@profile_option
@click.option("--project", default=None, metavar="ID", help="Only connections serving this project.")
@json_option
def sm_list_cmd(profile: str | None, project: str | None, as_json: bool) -> int:
    """List the platform's secret-manager connections (never their credentials)."""
    from aptui.services import platform

    rows = _run(lambda ctx: platform.list_remote_secret_managers(ctx, profile, project=project))
    emit(as_json, {"connections": rows, "count": len(rows)},
         lambda: table(SM_COLUMNS, [_sm_row(s) for s in rows]) if rows else line("(no secret-manager connections)"))
    return Exit.OK


def _collect_config(provider_id: str, sets: Sequence[str], set_envs: Sequence[str]) -> dict[str, Any]:
    """Non-secret fields from --set, secret ones from --set-env or stdin/prompt (never argv)."""
    from aptui.masking import name_or_mask
    from aptui.providers.fields import PROVIDERS

    spec = PROVIDERS.get(provider_id)
    if spec is None:
        raise usage(f"unknown provider {provider_id!r}", hint="one of: " + ", ".join(PROVIDERS))
    config: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise usage(f"--set expects FIELD=VALUE, got {name_or_mask(item)!r}")
        field = spec.field(key)
        if field is None:
            names = [f.name for f in spec.fields]
            raise usage(f"unknown field {name_or_mask(key, names)!r} for {provider_id}", hint="fields: "
                        + ", ".join(names))
        if field.secret:
            raise usage(f"{key} is a secret field: it must not be given on the command line",
                        hint=f"use --set-env {key}=VAR, or stdin")
        config[key] = value
    for item in set_envs:
        key, sep, var = item.partition("=")
        if not sep or spec.field(key) is None:
            raise usage(f"--set-env expects FIELD=ENV_VAR with a field of {provider_id}, got "
                        f"{name_or_mask(item, [f'{f.name}=' for f in spec.fields])!r}")
        config[key] = Secret(read_secret(key, env=var))
    for field in spec.fields:
        if field.secret and field.name not in config and not field.optional:
            config[field.name] = Secret(read_secret(f"{spec.display_name} {field.display_name}"))
    return config


def _sm_options(func: Callable) -> Callable:
    for opt in reversed([
        click.option("--provider", "provider_id", default=None,
                     type=click.Choice(["aws", "hashicorp", "cyberark-conjur", "onepassword"])),
        click.option("--name", default=None),
        click.option("--scope", type=click.Choice(["PLATFORM", "PROJECT"], case_sensitive=False), default="PLATFORM",
                     show_default=True),
        click.option("--project", "projects", multiple=True, metavar="ID", help="For PROJECT scope (repeatable)."),
        click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A non-secret config field."),
        click.option("--set-env", "set_envs", multiple=True, metavar="FIELD=VAR",
                     help="A config field read from an environment variable."),
        click.option("--from-local", "from_local", default=None, metavar="NAME",
                     help="Take provider, scope, projects and config from a local connection."),
    ]):
        func = opt(func)
    return func


def _sm_request(provider_id: str | None, name: str | None, scope: str, projects: Sequence[str],
                sets: Sequence[str], set_envs: Sequence[str], from_local: str | None) -> dict[str, Any]:
    if from_local:
        if provider_id or sets or set_envs:
            raise usage("--from-local takes everything from the local connection; drop --provider/--set/--set-env")
        from aptui.store import connections as store_connections

        ctx = app_context()
        local = store_connections.find(ctx.store, from_local)
        return {"provider_id": local.provider_id, "name": name or local.name, "scope": local.scope,
                "project_ids": list(local.project_ids), "config": store_connections.auth(ctx.store, local)}
    if not provider_id or not name:
        raise usage("--provider and --name are required (or --from-local NAME)")
    return {"provider_id": provider_id, "name": name, "scope": scope.upper(), "project_ids": list(projects),
            "config": _collect_config(provider_id, sets, set_envs)}


@sm_group.command("create")
@profile_option
@_sm_options
@json_option
def sm_create_cmd(profile: str | None, provider_id: str | None, name: str | None, scope: str,
                  projects: tuple[str, ...], sets: tuple[str, ...], set_envs: tuple[str, ...],
                  from_local: str | None, as_json: bool) -> int:
    """Create a secret-manager connection on the platform (tested live by the platform first)."""
    from aptui.services import platform

    app_context().require_writable("secret-manager create")
    req = _sm_request(provider_id, name, scope, projects, sets, set_envs, from_local)
    item = _run(lambda ctx: platform.create_remote_secret_manager(ctx, profile, **req))
    emit(as_json, {"ok": True, "connection": item},
         lambda: line(f"created {item.get('name')} ({item.get('id')}) on the platform"))
    return Exit.OK


@sm_group.command("update")
@click.argument("connection_id")
@profile_option
@_sm_options
@json_option
def sm_update_cmd(connection_id: str, profile: str | None, provider_id: str | None, name: str | None, scope: str,
                  projects: tuple[str, ...], sets: tuple[str, ...], set_envs: tuple[str, ...],
                  from_local: str | None, as_json: bool) -> int:
    """Replace a platform secret-manager connection's settings and credentials."""
    from aptui.services import platform

    app_context().require_writable("secret-manager update")
    req = _sm_request(provider_id, name, scope, projects, sets, set_envs, from_local)
    item = _run(lambda ctx: platform.update_remote_secret_manager(ctx, profile, connection_id=connection_id, **req))
    emit(as_json, {"ok": True, "connection": item},
         lambda: line(f"updated {item.get('name')} ({connection_id}) on the platform"))
    return Exit.OK


@sm_group.command("delete")
@click.argument("connection_id")
@profile_option
@yes_option
@json_option
def sm_delete_cmd(connection_id: str, profile: str | None, yes: bool, as_json: bool) -> int:
    """Delete a platform secret-manager connection (references to it stop resolving)."""
    from aptui.services import platform

    app_context().require_writable("secret-manager delete")
    confirm(f"Delete secret-manager connection {connection_id} on the platform? References to it stop resolving.",
            yes=yes)
    _run(lambda ctx: platform.delete_remote_secret_manager(ctx, profile, connection_id=connection_id))
    emit(as_json, {"ok": True, "deleted": connection_id}, lambda: line(f"deleted {connection_id} on the platform"))
    return Exit.OK


@sm_group.command("clear-cache")
@profile_option
@click.option("--connection", "connection_id", default=None, metavar="ID", help="Only this connection's entries.")
@yes_option
@json_option
def sm_clear_cache_cmd(profile: str | None, connection_id: str | None, yes: bool, as_json: bool) -> int:
    """Clear the platform's secret cache (all, or one connection): the next runs fetch fresh values."""
    from aptui.services import platform

    app_context().require_writable("remote cache clear")
    confirm(f"Clear the platform's secret cache for {connection_id or 'every connection'}?", yes=yes)
    data = _run(lambda ctx: platform.clear_remote_cache(ctx, profile, connection_id))
    emit(as_json, data, lambda: line(f"cleared the platform's secret cache ({connection_id or 'all connections'})"))
    return Exit.OK


# flow runs -----------------------------------------------------------------------------------------------


@platform_group.group("runs")
def runs_group() -> None:
    """Flow runs: list, and retry failed ones."""


RUN_COLUMNS = (
    ("id", 21, lambda r: r.get("id")),
    ("flow", 21, lambda r: r.get("flowId")),
    ("status", 10, lambda r: r.get("status")),
    ("created", 24, lambda r: r.get("created")),
    ("failed step", 40, lambda r: ((r.get("failedStep") or {}).get("name") or "")
     + (f": {(r.get('failedStep') or {}).get('errorMessage')}" if (r.get("failedStep") or {}).get("errorMessage")
        else "")),
)


def _time_window(since: str | None, after: str | None, before: str | None) -> tuple[str | None, str | None]:
    from aptui.clock import iso, parse_iso, utc_now
    from aptui.config import parse_duration

    if since and after:
        raise usage("--since and --after exclude each other")
    if since:
        from datetime import timedelta

        after = iso(utc_now() - timedelta(seconds=parse_duration(since)))
    for label, value in (("--after", after), ("--before", before)):
        if value:
            try:
                parse_iso(value)
            except ValueError:
                raise usage(f"{label} is not an ISO-8601 time: {value!r}", hint="e.g. 2026-11-20T10:00:00Z") from None
    return after, before


def _run_filters(func: Callable) -> Callable:
    for opt in reversed([
        click.option("--status", "status", multiple=True, type=click.Choice(RUN_STATUSES, case_sensitive=False),
                     help="Run status (repeatable)."),
        click.option("--flow", "flow_ids", multiple=True, metavar="ID", help="Flow id (repeatable)."),
        click.option("--since", default=None, metavar="DURATION", help="Created in the last DURATION (e.g. 2h, 1d)."),
        click.option("--after", default=None, metavar="ISO", help="Created at or after."),
        click.option("--before", default=None, metavar="ISO", help="Created at or before."),
        click.option("--failed-step", "failed_step", default=None, metavar="NAME", help="Failed at this step."),
    ]):
        func = opt(func)
    return func


@runs_group.command("list")
@profile_option
@project_option
@_run_filters
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after this many runs.")
@json_option
def runs_list_cmd(profile: str | None, project: str | None, status: tuple[str, ...], flow_ids: tuple[str, ...],
                  since: str | None, after: str | None, before: str | None, failed_step: str | None,
                  limit: int | None, as_json: bool) -> int:
    """List flow runs, newest first (streamed)."""
    from aptui.services import platform

    created_after, created_before = _time_window(since, after, before)

    async def work(ctx) -> int:
        items = platform.iter_flow_runs(ctx, profile, project=project, status=[s.upper() for s in status],
                                        flow_ids=list(flow_ids), created_after=created_after,
                                        created_before=created_before, failed_step_name=failed_step,
                                        max_items=limit)
        return await stream(items, as_json=as_json, key="runs", columns=RUN_COLUMNS, empty="no runs")

    return _run(work)


@runs_group.command("retry")
@click.argument("run_ids", nargs=-1)
@profile_option
@project_option
@_run_filters
@click.option("--strategy", type=click.Choice(["FROM_FAILED_STEP", "ON_LATEST_VERSION"], case_sensitive=False),
              default="FROM_FAILED_STEP", show_default=True)
@click.option("--rate", type=click.FloatRange(0.01, 100.0), default=2.0, show_default=True,
              help="At most this many retries per second.")
@click.option("--max", "max_runs", type=click.IntRange(1), default=None, help="Retry at most this many runs.")
@click.option("--dry-run", is_flag=True, help="List what would be retried; change nothing.")
@yes_option
@json_option
def runs_retry_cmd(run_ids: tuple[str, ...], profile: str | None, project: str | None, status: tuple[str, ...],
                   flow_ids: tuple[str, ...], since: str | None, after: str | None, before: str | None,
                   failed_step: str | None, strategy: str, rate: float, max_runs: int | None, dry_run: bool,
                   yes: bool, as_json: bool) -> int:
    """Retry runs (RUN_IDS, or those matching the filters; default status FAILED), one by one at
    --rate per second, with a per-run outcome. A retry that gets no answer is reported as
    "unknown" and never resent. Exit 1 if any run failed, is unknown or was not attempted."""
    from aptui.services import platform

    created_after, created_before = _time_window(since, after, before)
    ctx = app_context()
    if not dry_run:
        ctx.require_writable("runs retry")
    kwargs = {"project": project, "run_ids": list(run_ids) or None, "status": [s.upper() for s in status] or None,
              "flow_ids": list(flow_ids) or None, "created_after": created_after, "created_before": created_before,
              "failed_step_name": failed_step, "strategy": strategy.upper(), "max_runs": max_runs}
    if not dry_run and not yes:
        preview = _run(lambda c: platform.retry_runs(c, profile, dry_run=True, **kwargs))
        n = preview.count(platform.WOULD_RETRY)
        if n == 0:
            emit(as_json, preview.to_dict(), lambda: line("nothing to retry"))
            return Exit.OK
        ids = ", ".join(o.run_id for o in preview.outcomes if o.outcome == platform.WOULD_RETRY)
        confirm(f"Retry {n} run(s) with {strategy.upper()} ({ids if n <= 10 else str(n) + ' runs'})?", yes=False)
        kwargs["run_ids"] = [o.run_id for o in preview.outcomes if o.outcome == platform.WOULD_RETRY]
    show_progress = not as_json and sys.stderr.isatty()

    def progress(done: int, total: int, outcome: platform.RunOutcome) -> None:
        if show_progress:
            write(f"\r[{done}/{total}] {outcome.run_id} {outcome.outcome}   ", stderr=True)
            sys.stderr.flush()

    report = _run(lambda c: platform.retry_runs(c, profile, dry_run=dry_run, rate_per_second=rate,
                                                on_progress=progress, **kwargs))
    if show_progress:
        sys.stderr.write("\n")

    def render() -> None:
        if not report.outcomes:
            line("no runs matched")
            return
        table(["run", "flow", "status", "outcome", "detail"],
              [(o.run_id, o.flow_id or "", o.status or "", o.outcome,
                f"{o.code}: {o.message}" if o.code else (o.message or o.new_status or ""))
               for o in report.outcomes])
        line(("dry run: " if report.dry_run else "") + ", ".join(f"{v} {k}" for k, v in report.summary().items()))

    emit(as_json, report.to_dict(), render)
    return platform.retry_exit_code(report)


# pieces ---------------------------------------------------------------------------------------------------


@platform_group.group("pieces")
def pieces_group() -> None:
    """Installed pieces."""


@pieces_group.command("list")
@profile_option
@project_option
@click.option("--search", default=None)
@click.option("--include-hidden", is_flag=True)
@click.option("--private", "private_only", is_flag=True, help="Only private/custom pieces of the platform.")
@json_option
def pieces_list_cmd(profile: str | None, project: str | None, search: str | None, include_hidden: bool,
                    private_only: bool, as_json: bool) -> int:
    """List installed pieces and their versions; private (custom) ones are marked."""
    from aptui.services import platform

    rows = _run(lambda ctx: platform.list_pieces(ctx, profile, project=project, include_hidden=include_hidden,
                                                 search=search, private_only=private_only))
    emit(as_json, {"pieces": rows, "count": len(rows)},
         lambda: table(["name", "version", "type", "package", "private"],
                       [(p.get("name"), p.get("version"), p.get("pieceType"), p.get("packageType"),
                         "yes" if p["private"] else "") for p in rows]) if rows else line("(no pieces)"))
    return Exit.OK


# sync -----------------------------------------------------------------------------------------------------


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
