"""`aptui platform pieces list`."""

from __future__ import annotations

import click

from aptui.cli.common import json_option
from aptui.cli.output import emit, line, table
from aptui.cli.platform.common import _run, profile_option, project_option
from aptui.cli.platform.group import platform_group
from aptui.errors import Exit


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
