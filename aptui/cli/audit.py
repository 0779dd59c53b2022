"""`aptui audit log` (the local audit trail); hardening and pieces reviews live here too."""

from __future__ import annotations

import click

from aptui.cli.common import app_context, json_option
from aptui.cli.output import emit, table
from aptui.errors import Exit


@click.group("audit")
def audit_group() -> None:
    """The local audit log, and audits of an Activepieces deployment."""


@audit_group.command("log")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--filter", "contains", default=None, help="Case-insensitive text to look for.")
@json_option
def log_cmd(limit: int, contains: str | None, as_json: bool) -> int:
    """Show the local audit log, newest first."""
    from aptui.store import audit

    rows = audit.recent(app_context().store, limit=limit, contains=contains)
    emit(as_json, {"entries": rows},
         lambda: table(["at", "actor", "action", "target", "outcome", "detail"],
                       [(r["at"], r["actor"], r["action"], r["target"], r["outcome"], r["detail"] or "")
                        for r in rows]))
    return Exit.OK
