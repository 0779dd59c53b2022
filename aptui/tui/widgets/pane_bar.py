"""The pane bar: each pane's number key and name, the shown one underlined, in one widget.

It looks like Textual's Tabs (same colours, same underline), but is one widget that renders two
lines instead of a Tabs with a Tab per pane, an Underline and a ContentSwitcher: Textual's
TabbedContent more than doubled the work before the console's first frame. Keys switch panes
(the app's number bindings); a click on a name does too.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.renderables.bar import Bar
from textual.widget import Widget

from aptui.tui.tabs import PaneTab


class PaneBar(Widget):
    DEFAULT_CSS = """
    PaneBar { width: 1fr; height: 2; }
    PaneBar > .pane-bar--tab { color: $foreground 50%; }
    PaneBar > .pane-bar--active { color: $foreground; }
    PaneBar > .pane-bar--underline { color: $block-cursor-background; background: $foreground 10%; }
    PaneBar:ansi > .pane-bar--tab { text-style: dim; }
    PaneBar:ansi > .pane-bar--active { text-style: not dim bold; }
    PaneBar:ansi > .pane-bar--underline { color: $block-cursor-background; background: $border-blurred; }
    """
    COMPONENT_CLASSES = {"pane-bar--tab", "pane-bar--active", "pane-bar--underline"}
    ALLOW_SELECT = False

    active: reactive[str] = reactive("")

    class Clicked(Message):
        """A pane's name was clicked."""

        def __init__(self, pane_id: str) -> None:
            super().__init__()
            self.pane_id = pane_id

    def __init__(self, tabs: Sequence[PaneTab], active: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs = tuple(tabs)
        self.set_reactive(PaneBar.active, active)

    def spans(self) -> list[tuple[str, int, int]]:
        """(pane id, first column, column after) of each name, padded by one space on each side."""
        out, x = [], 0
        for tab in self.tabs:
            width = len(tab.label) + 2
            out.append((tab.pane_id, x, x + width))
            x += width
        return out

    def render(self) -> RenderableType:
        names = Text(no_wrap=True, overflow="crop")
        plain = self.get_component_rich_style("pane-bar--tab")
        bold = self.get_component_rich_style("pane-bar--active")
        highlight = (0, 0)
        for tab, (pane_id, start, end) in zip(self.tabs, self.spans(), strict=True):
            names.append(f" {tab.label} ", style=bold if pane_id == self.active else plain)
            if pane_id == self.active:
                highlight = (start + 1, end - 1)  # under the name, not its padding (as Textual's Tabs)
        bar = self.get_component_rich_style("pane-bar--underline")
        return Group(names, Bar(highlight_range=highlight, highlight_style=Style.from_color(bar.color),
                                background_style=Style.from_color(bar.bgcolor)))

    def on_click(self, event: events.Click) -> None:
        for pane_id, start, end in self.spans():
            if start <= event.x < end:
                event.stop()
                self.post_message(self.Clicked(pane_id))
                return
