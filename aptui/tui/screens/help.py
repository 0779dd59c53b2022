"""`?`: every binding of the current pane and of the app, in one overlay."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key_label(key: str) -> str:
    return {"slash": "/", "question_mark": "?", "colon": ":", "escape": "esc", "enter": "enter"}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """Lists (key, action) pairs; esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen .help-title { text-style: bold; color: $primary; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, title: str, about: str, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self._title, self._about, self._sections = title, about, sections

    def compose(self):
        with VerticalScroll():
            yield Static(f"Help — {self._title}", classes="help-title")
            if self._about:
                yield Static(self._about)
            for heading, rows in self._sections:
                width = max((len(_key_label(k)) for k, _ in rows), default=4)
                body = "\n".join(f"  {_key_label(k):<{width}}  {desc}" for k, desc in rows)
                yield Static(f"\n[b]{heading}[/b]\n{body}", markup=True)
            yield Static("\nesc closes this help.")
