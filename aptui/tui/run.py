"""Start the console: open the store first (a damaged store is a one-line error, not a screen)."""

from __future__ import annotations

import sys

from aptui.errors import AptuiError


def run_console(*, read_only: bool = False, mouse: bool = True, high_contrast: bool = False) -> int:
    from aptui.cli.common import prompt_passphrase
    from aptui.services.context import Context

    ctx = Context(passphrase=prompt_passphrase, read_only=read_only)
    try:
        ctx.store  # noqa: B018 - open (and on first run create) the store before the UI starts
    except AptuiError as err:
        sys.stderr.write(f"aptui: {err.one_line()}\n")
        return err.exit_code
    from aptui.tui.app import AptuiApp

    app = AptuiApp(ctx, high_contrast=high_contrast or ctx.settings.high_contrast)
    try:
        app.run(mouse=mouse and ctx.settings.mouse)
    finally:
        ctx.close()
    return app.return_code or 0
