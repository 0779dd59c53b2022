"""`aptui platform runs list|retry` (bulk retry with explicit ids, per-run fallback)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from aptui.cli.common import app_context, confirm, json_option, yes_option
from aptui.cli.output import emit, line, table, write
from aptui.cli.platform.common import RUN_STATUSES, _run, profile_option, project_option, stream
from aptui.cli.platform.group import platform_group
from aptui.errors import Exit, usage


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
