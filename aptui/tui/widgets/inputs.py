"""Text inputs that do not blink: a blinking cursor repaints twice a second, which is traffic on a
slow SSH link and noise in screenshots."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class TextInput(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False
