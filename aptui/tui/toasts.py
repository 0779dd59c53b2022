"""Clearing toasts everywhere: Textual refreshes only the active screen's toast rack, and a modal
shows the screen under it, so a toast left on that screen would still sit over the modal."""

from __future__ import annotations

import contextlib

from textual.app import App
from textual.css.query import NoMatches
from textual.widgets._toast import ToastRack


def clear_toasts(app: App) -> None:
    """Drop every notification and empty the toast rack of every screen on the stack."""
    app.clear_notifications()
    for screen in app.screen_stack:
        with contextlib.suppress(NoMatches):
            rack = screen.get_child_by_type(ToastRack)
            app.call_later(rack.show, app._notifications)
