"""Start the console: paint first, then open the store (a damaged store is still a one-line error).

Before Textual takes the terminal: settings (a bad config.toml is a one-line error) and, for a
passphrase store only, the passphrase. The services Context is built and the store opened by the
app after its first frame; if that fails the app closes and the error is printed as one line.
"""

from __future__ import annotations

import sys

from aptui import timing
from aptui.errors import AptuiError


def build_console(*, read_only: bool = False, high_contrast: bool = False):
    """The app exactly as ``aptui`` starts it (tests check what this much has imported)."""
    from aptui import passphrase
    from aptui.config import Paths, load_settings

    paths = Paths.resolve()
    settings = load_settings(paths)
    settings.read_only = read_only or settings.read_only
    source = passphrase.ask_early(paths.store_file)

    def make_context():
        from aptui.services.context import Context

        return Context(paths, settings, passphrase=source)

    from aptui.tui.app import AptuiApp

    timing.mark("imports")
    app = AptuiApp(make_context, paths=paths, settings=settings,
                   high_contrast=high_contrast or settings.high_contrast)
    timing.mark("app")
    return app


def run_console(*, read_only: bool = False, mouse: bool = True, high_contrast: bool = False) -> int:
    try:
        app = build_console(read_only=read_only, high_contrast=high_contrast)
    except AptuiError as err:
        sys.stderr.write(f"aptui: {err.one_line()}\n")
        return err.exit_code
    try:
        app.run(mouse=mouse and app.settings.mouse)
    finally:
        app.close_context()
    if app.startup_error is not None:
        sys.stderr.write(f"aptui: {app.startup_error.one_line()}\n")
        return app.startup_error.exit_code
    return app.return_code or 0
