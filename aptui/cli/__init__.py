"""The non-interactive CLI. Subcommand modules load lazily so `aptui --version` stays fast."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys

import click

from aptui import __version__
from aptui.errors import AptuiError, Exit

# noun -> "module:attribute"; each module owns one noun.
COMMANDS: dict[str, str] = {
    "completion": "aptui.cli.completion:completion_cmd",
    "init": "aptui.cli.store:init_cmd",
    "store": "aptui.cli.store:store_group",
    "sm": "aptui.cli.sm:sm_group",
    "ref": "aptui.cli.ref:ref_group",
    "cache": "aptui.cli.cache:cache_group",
    "profile": "aptui.cli.profile:profile_group",
    "platform": "aptui.cli.platform:platform_group",
    "sync": "aptui.cli.platform:sync_cmd",
    "rotation": "aptui.cli.rotation:rotation_group",
    "incident": "aptui.cli.incident:incident_group",
    "audit": "aptui.cli.audit:audit_group",
    "migrate": "aptui.cli.migrate:migrate_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        for name, target in self.lazy.items():
            if importlib.util.find_spec(target.split(":")[0]) is not None:
                names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                if exc.name == module:
                    return None
                raise
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=COMMANDS, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="aptui")
@click.option("--read-only", is_flag=True, help="Hide and refuse every mutating action (TUI and CLI).")
@click.option("--no-mouse", is_flag=True, help="Console: do not capture the mouse.")
@click.option("--high-contrast", is_flag=True, help="Console: high-contrast theme.")
@click.pass_context
def cli(ctx: click.Context, read_only: bool, no_mouse: bool, high_contrast: bool) -> int | None:
    """aptui: operator console for self-hosted Activepieces.

    Run with no command to open the console. Every command takes --json.
    Exit codes: 0 ok, 1 check failed, 2 bad input, 3 store locked or damaged, 4 remote unreachable.
    """
    from aptui.cli.common import CliState

    ctx.obj = CliState(read_only=read_only)
    if ctx.invoked_subcommand is None:
        from aptui.tui.run import run_console

        return run_console(read_only=read_only, mouse=not no_mouse, high_contrast=high_contrast)
    return None


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: map every failure to one line and a stable exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in args
    if argv is None:  # the real entry point (not a test calling main() in-process)
        from aptui import crash

        crash.install()
    from aptui.cli.output import fail

    try:
        rv = cli.main(args=args, prog_name="aptui", standalone_mode=False)
    except AptuiError as err:
        sys.exit(fail(err, want_json))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _mask_extra_arguments(exc)
        from aptui.untrusted import visible

        exc.message = visible(exc.message)
        if want_json:
            sys.exit(fail(AptuiError("USAGE", exc.format_message(), exit_code=Exit.USAGE), True))
        exc.show()
        sys.exit(Exit.USAGE if exc.exit_code in (1, 2) else exc.exit_code)
    except click.Abort:
        sys.stderr.write("aptui: aborted\n")
        sys.exit(Exit.USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("aptui: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug: one line, no traceback (it could hold values)
        from aptui.cli.common import report_crash

        sys.exit(report_crash(exc, want_json))
    sys.exit(rv if isinstance(rv, int) else 0)


_EXTRA = re.compile(r"^(Got unexpected extra arguments? \()(.*)(\))$", re.S)


def _mask_extra_arguments(exc: click.ClickException) -> None:
    """click repeats unexpected arguments; one may be a secret typed on the command line by
    mistake (``aptui profile set-key prod sk-…``): show them masked."""
    m = _EXTRA.match(exc.message)
    if m:
        from aptui.masking import mask

        exc.message = m.group(1) + " ".join(mask(a) for a in m.group(2).split(" ")) + m.group(3)
