"""Entry point: `aptui` with no arguments opens the console, otherwise runs the CLI."""

from __future__ import annotations


def main() -> None:
    from aptui.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
