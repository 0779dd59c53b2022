"""Entry point: `aptui` with no arguments opens the console, otherwise runs the CLI."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        # Fast path: answer without importing the CLI framework (scripts call this often).
        from aptui import __version__

        sys.stdout.write(f"aptui, version {__version__}\n")
        return
    from aptui.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
