"""Text inputs that do not blink: a blinking cursor repaints twice a second, which is traffic on a
slow SSH link and noise in screenshots."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Input


class TextInput(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False


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
