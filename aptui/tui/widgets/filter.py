"""The `/` filter box: hidden until asked for, filters a VirtualTable on every keystroke."""

from __future__ import annotations

from textual.widgets import Input

from aptui.tui.widgets.inputs import TextInput
from aptui.tui.widgets.vtable import VirtualTable


class FilterBox(TextInput):
    """Bound to one table; enter goes back to the table, esc clears (handled by the pane)."""

    DEFAULT_CSS = """
    FilterBox { display: none; height: 1; border: none; padding: 0 1; background: $boost; }
    FilterBox.-open { display: block; }
    """

    def __init__(self, table_id: str, *, placeholder: str = "filter", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self.table_id = table_id

    @property
    def table(self) -> VirtualTable:
        return self.screen.query_one(f"#{self.table_id}", VirtualTable)

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def close(self) -> bool:
        """Clear and hide; True if it was open or held text."""
        was = self.has_class("-open") or bool(self.value)
        self.value = ""
        self.remove_class("-open")
        self.table.set_filter("")
        return was

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
