"""Pick one of a few things (a provider, a profile, a project) with the arrow keys and enter."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from aptui.tui.early_keys import release_keys
from aptui.tui.toasts import clear_toasts
from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.safe import SafeStatic
from aptui.untrusted import visible


class ChoiceModal(ModalScreen[str | None]):
    """Returns the chosen option's id, or None on esc."""

    DEFAULT_CSS = """
    ChoiceModal { align: center middle; }
    ChoiceModal > Vertical { width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    ChoiceModal .choice-title { text-style: bold; color: $primary; }
    ChoiceModal OptionList { height: auto; max-height: 16; }
    """
    HOLDS_EARLY_KEYS = True
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]], *, current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self):
        with Vertical():
            yield SafeStatic(self.title_text, classes="choice-title", markup=False)
            yield OptionList(*[Option(visible(label), id=key) for key, label in self.options], id="choice-list")
            yield SafeStatic("↑↓ move · enter choose · esc cancel", classes="status", markup=False)
        yield ModalFooter()

    def on_mount(self) -> None:
        clear_toasts(self.app)  # an old toast would sit over the options
        lst = self.query_one(OptionList)
        lst.focus()
        keys = [k for k, _ in self.options]
        if self.current in keys:
            lst.highlighted = keys.index(self.current)
        release_keys(self.app)  # a down or enter typed right after the key that opened it

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
