"""The one confirmation for every delete, rotate and clear: names the target, y/n/esc."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from aptui.tui.early_keys import release_keys
from aptui.tui.toasts import clear_toasts
from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.inputs import TextInput
from aptui.tui.widgets.safe import SafeStatic
from aptui.untrusted import visible


class ConfirmModal(ModalScreen[bool]):
    """``push_screen(ConfirmModal(...), callback)``; the callback gets True only on confirmation.

    With ``typed_name`` the operator must type that name (e.g. a production connection) and press
    enter; ``y`` alone is not enough.
    """

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical { width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1; }
    ConfirmModal .confirm-title { text-style: bold; color: $error; }
    ConfirmModal .confirm-target { text-style: bold; }
    ConfirmModal Horizontal { height: auto; align-horizontal: right; }
    ConfirmModal Button { margin: 0 0 0 1; min-width: 12; }
    """
    HOLDS_EARLY_KEYS = True  # held, then dropped: a y typed before the question showed is no answer
    REFUSES_EARLY_KEYS = True
    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, target: str, body: str = "", *, action_label: str = "Delete",
                 typed_name: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.target = target
        self.body = body
        self.action_label = action_label
        self.typed_name = visible(typed_name) if typed_name else typed_name  # what can be typed

    def compose(self):
        with Vertical():
            yield SafeStatic(self.title_text, classes="confirm-title", markup=False)
            yield SafeStatic(self.target, classes="confirm-target", markup=False)
            if self.body:
                yield SafeStatic(self.body, id="confirm-body", markup=False)
            if self.typed_name:
                yield SafeStatic(f"Type {self.typed_name} and press enter to confirm.", markup=False)
                yield TextInput(placeholder=self.typed_name, id="confirm-typed")
                hint = "enter confirms · esc cancels"
            else:
                hint = f"y {self.action_label.lower()} · n / esc cancel"
            yield SafeStatic(hint, classes="status", markup=False)
            with Horizontal():
                yield Button(self.action_label, variant="error", id="confirm-yes")
                yield Button("Cancel", id="confirm-no")
        yield ModalFooter()

    def on_mount(self) -> None:
        clear_toasts(self.app)  # an old toast would sit over the question and its buttons
        if self.typed_name:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#confirm-no", Button).focus()
        release_keys(self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "confirm" and self.typed_name)

    def action_confirm(self) -> None:
        if not self.typed_name:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == self.typed_name:
            self.dismiss(True)
        else:
            self.notify(f"type {self.typed_name} exactly to confirm", severity="warning", markup=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm-yes":
            if self.typed_name:
                value = self.query_one("#confirm-typed", Input).value.strip()
                if value != self.typed_name:
                    self.notify(f"type {self.typed_name} exactly to confirm", severity="warning", markup=False)
                    return
            self.dismiss(True)
        else:
            self.dismiss(False)
