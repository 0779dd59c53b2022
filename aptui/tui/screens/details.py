"""`enter` on a row: every field of it, read-only, esc to go back."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from aptui.tui.widgets.footer import ModalFooter
from aptui.tui.widgets.safe import SafeStatic
from aptui.untrusted import visible


class DetailsModal(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailsModal { align: center middle; }
    DetailsModal > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    DetailsModal .details-title { text-style: bold; color: $primary; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Back", id="details.close")]

    def __init__(self, title: str, fields: list[tuple[str, object]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self):
        with VerticalScroll():
            yield SafeStatic(self.title_text, classes="details-title", markup=False)
            width = max((len(k) for k, _ in self.fields), default=4)
            body = "\n".join(f"{visible(k):<{width}}  {visible(getattr(v, 'plain', v))}" for k, v in self.fields)
            yield SafeStatic(body, markup=False)
            yield SafeStatic("esc goes back", classes="status", markup=False)
        yield ModalFooter()
