"""Text inputs for slow links: they do not blink (a blinking cursor repaints twice a second, which
is traffic on a slow SSH link and noise in screenshots), and a burst of keys is applied in the
order typed.

Textual inserts a printable key when the input handles it but runs the input's bindings
(backspace, ctrl+u, enter) and the app's tab only when the key bubbles back up to the app, after
the keys that followed it in the same read: ``abc⌫d`` became ``abcd`` then ``abc``, and in a form
``tab`` then text put the text in the field that was left. Here every key bound on the input, and
tab / shift+tab, runs when the input reaches it, and a key that reaches an input which no longer
has the focus goes on to the widget that has it (see ``aptui.tui.early_keys``).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input

from aptui.tui.early_keys import redirect_if_stale
from aptui.untrusted import visible


class TextInput(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False

    async def _on_key(self, event: events.Key) -> None:
        if redirect_if_stale(self, event):
            return
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            self.screen.focus_next() if event.key == "tab" else self.screen.focus_previous()
            return
        bound = self._bindings.key_to_bindings.get(event.key, ())
        if bound and not event.is_printable:
            event.stop()
            event.prevent_default()
            await self.run_action(bound[0].action)
            return
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        """A paste holding control characters (an ESC, a tab) goes in with them made visible."""
        if event.text:
            event = events.Paste(visible(event.text.splitlines()[0]))
        super()._on_paste(event)


class CommandInput(TextInput):
    """An input whose footer says how to act on it and how to leave it.

    While an input holds the focus, Textual keeps printable keys for the input, so a pane's letter
    keys vanish from the footer; without these two the footer would be empty."""

    BINDINGS = [
        Binding("enter", "submit", "Test live"),
        Binding("escape", "leave", "Pane keys"),
    ]

    def action_leave(self) -> None:
        """esc: hand the keys back to the pane (its own esc handling runs too)."""
        pane = next((a for a in self.ancestors if hasattr(a, "action_back")), None)
        if pane is not None:
            pane.action_back()
