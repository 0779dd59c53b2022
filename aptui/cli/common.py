"""Shared CLI plumbing: the per-process context, --json, secret input, confirmation, async."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from aptui import passphrase
from aptui.errors import AptuiError, Exit, usage


@dataclass
class CliState:
    read_only: bool = False
    _ctx: Any = field(default=None, repr=False)

    def context(self):
        if self._ctx is None:
            from aptui.services.context import Context

            self._ctx = Context(passphrase=passphrase.prompt, read_only=self.read_only)
            self._ctx.on_warning = _print_warning
        return self._ctx


def _print_warning(text: str) -> None:
    from aptui.untrusted import visible

    sys.stderr.write(f"aptui: warning: {visible(text)}\n")
    sys.stderr.flush()


def tampered_rows(rows: list[dict[str, Any]], what: str) -> int:
    """Rows whose seal does not verify (``integrity: tampered``): one STORE_TAMPERED line each on
    stderr, and exit 3, so a listing never shows a row changed outside aptui as if it were fine."""
    from aptui.untrusted import visible

    bad = [r for r in rows if r.get("integrity") == "tampered"]
    for r in bad:
        sys.stderr.write(f"aptui: STORE_TAMPERED: {what} {visible(str(r.get('name')))} ({r.get('id')}) was changed "
                         "outside aptui (its seal does not verify); none of its credentials will be used. "
                         "Run `aptui store check`; restore from a backup, or remove and re-add it\n")
    return Exit.STORE if bad else Exit.OK


def app_context():
    """The services Context of this CLI invocation."""
    ctx = click.get_current_context()
    state = ctx.find_object(CliState)
    if state is None:
        state = CliState()
        ctx.obj = state
    return state.context()


def json_option(func: Callable) -> Callable:
    """Add ``--json`` to a command; the value arrives as ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")(func)


def run_async(coro):
    """Run a coroutine from a CLI command; live provider clients are closed before the loop ends."""

    async def main():
        try:
            return await coro
        finally:
            registry = sys.modules.get("aptui.providers.registry")
            if registry is not None:
                await registry.release()

    return asyncio.run(main())


def read_secret(label: str, *, env: str | None = None, allow_empty: bool = False) -> str:
    """A secret from an environment variable, stdin (when piped) or a hidden prompt. Never argv."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise env_missing(env, label)
    elif not sys.stdin.isatty():
        value = sys.stdin.readline()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    else:
        import getpass

        value = getpass.getpass(f"{label} (hidden): ")
    if not value and not allow_empty:
        raise usage(f"empty value for {label}")
    return value


def env_missing(var: str, label: str) -> AptuiError:
    """An unset variable named on the command line. A value typed where the NAME belongs (an easy
    slip with --set-env / --key-env / --value-env) is masked, not repeated."""
    from aptui.masking import name_or_mask

    shown = name_or_mask(var)
    hint = None if shown == var else "give the NAME of an environment variable that holds the value, not the value"
    return usage(f"environment variable {shown} is not set (for {label})", hint=hint)


def stdin_has_data() -> bool:
    return not sys.stdin.isatty()


def confirm(prompt: str, *, yes: bool) -> None:
    """Ask before a destructive action; ``--yes`` skips. Without a terminal, ``--yes`` is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise usage(f"{prompt} — refusing without confirmation", hint="pass --yes to confirm non-interactively")
    from aptui.untrusted import visible

    if not click.confirm(visible(prompt), default=False):
        raise AptuiError("CANCELLED", "cancelled; nothing was changed", exit_code=Exit.FAILED)


def yes_option(func: Callable) -> Callable:
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(func)


def report_crash(exc: BaseException, as_json: bool) -> int:
    """An unexpected exception: one line naming its type only (its text could hold a value).

    ``APTUI_DEBUG=1`` adds a traceback on stderr: no locals, known secrets scrubbed (aptui.crash)."""
    from aptui import crash
    from aptui.cli.output import fail

    if crash.debug_enabled():
        sys.stderr.write(crash.traceback_text(exc))
    err = AptuiError("INTERNAL", crash.one_line(exc), exit_code=Exit.FAILED)
    return fail(err, as_json)
