"""Shared pieces of `aptui platform`: --profile/--project options, the event-loop runner,
streamed output, JSON arguments."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click

from aptui.cli.common import app_context, run_async
from aptui.cli.output import dumps
from aptui.errors import AptuiError, Exit, usage
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


