"""An error that needs reading: its Activepieces-style code, the one-line message, the hint."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.safe import SafeStatic


class ErrorModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorModal { align: center middle; }
    ErrorModal > VerticalScroll { width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 0 1; }
    ErrorModal .error-code { text-style: bold; color: $error; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="error.close")]

    def __init__(self, title: str, code: str, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.title_text, self.code, self.message, self.hint = title, code, message, hint

    def compose(self):
        with VerticalScroll():
            yield SafeStatic(self.title_text, markup=False)
            yield SafeStatic(self.code, classes="error-code", markup=False)
            yield SafeStatic(self.message, id="error-message", markup=False)
            if self.hint:
                yield SafeStatic(f"hint: {self.hint}", markup=False)
            yield SafeStatic("esc closes", classes="status", markup=False)
        yield ModalFooter()
