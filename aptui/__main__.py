"""Entry point: `aptui` with no arguments opens the console, otherwise runs the CLI."""

from __future__ import annotations

import os
import sys

# `aptui` with only these opens the console without loading the CLI framework (start-up time).
CONSOLE_FLAGS = {"--read-only": "read_only", "--no-mouse": "no_mouse", "--high-contrast": "high_contrast"}


def main() -> None:
    from aptui import timing

    timing.mark("main")
    args = sys.argv[1:]
    if args in (["--version"], ["-V"]):
        # Fast path: answer without importing the CLI framework (scripts call this often).
        from aptui import __version__

        sys.stdout.write(f"aptui, version {__version__}\n")
        return
    if set(args) <= set(CONSOLE_FLAGS) and "_APTUI_COMPLETE" not in os.environ:
        sys.exit(console({CONSOLE_FLAGS[a] for a in args}))
    from aptui.cli import main as cli_main

    cli_main()


def console(flags: set[str]) -> int:
    """What `aptui [--read-only] [--no-mouse] [--high-contrast]` does, as the CLI group would."""
    from aptui import crash

    crash.install()
    from aptui.tui.run import run_console

    try:
        return run_console(read_only="read_only" in flags, mouse="no_mouse" not in flags,
                           high_contrast="high_contrast" in flags)
    except KeyboardInterrupt:
        sys.stderr.write("aptui: interrupted\n")
        return 130


if __name__ == "__main__":
    main()
