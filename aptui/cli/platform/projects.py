"""`aptui platform projects`."""

from __future__ import annotations

from aptui.cli.common import json_option
from aptui.cli.output import emit, line, table
from aptui.cli.platform.common import _run, profile_option
from aptui.cli.platform.group import platform_group
from aptui.errors import Exit


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
