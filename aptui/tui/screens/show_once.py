"""A freshly issued secret (a rotated MCP token): shown this once, copyable, then forgotten."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from aptui.masking import Secret
from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.safe import SafeStatic
from aptui.tui.widgets.secret import RevealableSecret


class ShowOnceModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ShowOnceModal { align: center middle; }
    ShowOnceModal > Vertical { width: 76; max-width: 100%; height: auto; border: thick $warning;
        background: $surface; padding: 0 1; }
    ShowOnceModal .once-title { text-style: bold; color: $warning; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close (forget it)", id="once.close")]

    def __init__(self, title: str, value: Secret, *, label: str = "token", reveal_seconds: float = 15.0) -> None:
        super().__init__()
        self.title_text = title
        self._value: Secret | None = value
        self.label = label
        self.reveal_seconds = reveal_seconds

    def compose(self):
        with Vertical():
            yield SafeStatic(self.title_text, classes="once-title", markup=False)
            yield SafeStatic("This is the only time aptui shows it: copy it now (y) or reveal it (v).\n"
                         "It is gone when this window closes.", markup=False)
            yield RevealableSecret(self._value, label=self.label, reveal_seconds=self.reveal_seconds,
                                   id="once-secret")
            yield SafeStatic("esc / enter closes", classes="status", markup=False)
        yield ModalFooter()

    def on_mount(self) -> None:
        self.query_one(RevealableSecret).focus()

    def action_close(self) -> None:
        widget = self.query_one(RevealableSecret)
        widget.set_secret(None)
        self._value = None
        self.dismiss(None)
