"""The `aptui platform` group and `platform info`."""

from __future__ import annotations

import click

from aptui.cli.common import json_option
from aptui.cli.output import emit, line
from aptui.cli.platform.common import _run, profile_option
from aptui.errors import Exit


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
