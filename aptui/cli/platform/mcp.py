"""`aptui platform mcp list|show|update|rotate` (project and platform MCP servers; a user session)."""

from __future__ import annotations

import base64
import os
from typing import Any

import click

from aptui.cli.common import app_context, confirm, json_option, yes_option
from aptui.cli.output import emit, line, print_json, table, write
from aptui.cli.platform.common import _run, profile_option, project_option
from aptui.cli.platform.group import platform_group
from aptui.errors import Exit, usage


@platform_group.group("mcp")
def mcp_group() -> None:
    """MCP servers (one per project, and the platform's). They need a signed-in user (aptui profile
    login); tokens are never shown except right after a rotation."""


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
@click.option("--platform", "platform_server", is_flag=True, help="The platform's own MCP server (admin).")
@json_option
def mcp_show_cmd(profile: str | None, project: str | None, platform_server: bool, as_json: bool) -> int:
    """One project's MCP server, or the platform's (token removed)."""
    from aptui.services import platform

    if platform_server:
        servers = [_run(lambda ctx: platform.mcp_platform_show(ctx, profile))]
    else:
        servers = _run(lambda ctx: platform.mcp_show(ctx, profile, project=project))

    def render() -> None:
        for s in servers:
            owner = f"project {s.get('projectId')}" if s.get("projectId") else "the platform"
            line(f"server {s.get('id')} of {owner}"
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
@click.option("--platform", "platform_server", is_flag=True, help="The platform's own MCP server (admin).")
@click.option("--copy", "copy_token", is_flag=True, help="Copy the new token to the clipboard (OSC 52) "
              "instead of printing it.")
@yes_option
@json_option
def mcp_rotate_cmd(profile: str | None, project: str | None, server_id: str | None, platform_server: bool,
                   copy_token: bool, yes: bool, as_json: bool) -> int:
    """Rotate an MCP server's token. The new token is shown once (or copied), then forgotten:
    it is never stored, logged or shown again. With --json it is in the field "new_token"."""
    from aptui.services import platform

    ctx = app_context()
    ctx.require_writable("mcp rotate")
    if copy_token and not _tty_available():
        raise usage("--copy needs a terminal (OSC 52 goes to /dev/tty); nothing was rotated")
    if not platform_server:
        notice = _run(lambda c: platform.mcp_rotate_notice(c, profile, project=project))
        if notice:
            write(f"note: {notice}\n", stderr=True)
    what = "the platform's MCP server" if platform_server else f"project {project or '(default project)'}"
    confirm(f"Rotate the MCP token of {what}? Clients using the old token stop working.", yes=yes)
    rotated = _run(lambda c: platform.rotate_mcp_token(c, profile, project=project, server_id=server_id,
                                                       platform_server=platform_server))
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
