"""`?`: every binding of the current pane and of the app, in one overlay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from aptui.tui.keys import key_label
from aptui.tui.widgets.footer import ModalFooter

if TYPE_CHECKING:
    from textual.app import App

    from aptui.tui.panes.base import Pane

Section = tuple[str, list[tuple[str, str]]]
LIST_ACTIONS = {"cursor(-1)", "cursor(1)", "page(-1)", "page(1)", "first", "last", "select"}


def collect_sections(app: App, pane: Pane | None) -> list[Section]:
    """The active bindings (keymap applied, read-only ones already removed), grouped by owner."""
    from aptui.tui.panes.base import Pane as PaneClass
    from aptui.tui.widgets.secret import RevealableSecret
    from aptui.tui.widgets.vtable import VirtualTable

    groups: dict[str, dict[tuple[str, str], list[str]]] = {}
    for key, active in app.screen.active_bindings.items():
        node, binding = active.node, active.binding
        if not binding.description or not active.enabled:  # a key that does nothing here is not listed
            continue
        if node is app:
            group = "Everywhere"
        elif isinstance(node, PaneClass):
            group = f"{node.TITLE} pane"
        elif isinstance(node, VirtualTable):
            if binding.action not in LIST_ACTIONS:
                continue  # ScrollView's own sideways scrolling: noise here
            group = "Lists"
        elif isinstance(node, RevealableSecret):
            group = "Secret values"
        else:
            continue
        groups.setdefault(group, {}).setdefault((binding.action, binding.description), []).append(key)
    order = ([f"{pane.TITLE} pane"] if pane else []) + ["Secret values", "Lists", "Everywhere"]
    sections: list[Section] = []
    for name in order:
        rows = groups.get(name)
        if rows:
            sections.append((name, [(",".join(key_label(k) for k in keys), desc)
                                    for (_, desc), keys in rows.items()]))
    return sections


class HelpScreen(ModalScreen[None]):
    """Lists (key, action) pairs; esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen .help-title { text-style: bold; color: $primary; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("colon,ctrl+p", "palette", "Commands", show=False),  # named in the text: a modal cuts the app's
    ]

    def action_palette(self) -> None:
        self.dismiss()
        self.app.call_after_refresh(self.app.action_command_palette)

    def __init__(self, title: str, about: str, sections: list[Section]) -> None:
        super().__init__()
        self._title, self._about, self._sections = title, about, sections

    def compose(self):
        with VerticalScroll():
            yield Static(f"Help — {self._title}", classes="help-title", markup=False)
            if self._about:
                yield Static(self._about, markup=False)
            for heading, rows in self._sections:
                width = max((len(k) for k, _ in rows), default=4)
                body = "\n".join(f"  {k:<{width}}  {desc}" for k, desc in rows)
                yield Static(f"\n{heading}\n{body}", markup=False)
            yield Static("\nesc closes this help. : or ctrl+p lists every command.", markup=False)
        yield ModalFooter()
