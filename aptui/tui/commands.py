"""The command palette (``:`` or ctrl+p): every action as "noun: verb", current pane first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from aptui.tui.keys import key_label

if TYPE_CHECKING:
    from aptui.tui.panes.base import Pane


class PaletteHost(Protocol):
    """What the palette needs of the app (the app imports this module, never the reverse)."""

    def current_pane(self) -> Pane | None: ...
    def panes(self) -> list[Pane]: ...
    async def run_pane_action(self, pane_id: str, action: str) -> None: ...
    def action_show_pane(self, pane_id: str) -> None: ...
    def action_help(self) -> None: ...
    def action_screenshot(self) -> None: ...
    def action_toggle_contrast(self) -> None: ...
    async def action_quit(self) -> None: ...


def palette_commands(app: PaletteHost) -> Iterator[tuple[str, Callable[[], object], str]]:
    """(name, callback, help) for every action allowed right now (read-only hides mutations)."""
    current = app.current_pane()
    panes = sorted(app.panes(), key=lambda p: p is not current)
    keymap = getattr(app, "_keymap", {})
    for pane in panes:
        for binding in type(pane).BINDINGS:
            if binding.id == "pane.back" or not binding.description:
                continue
            if not pane.palette_allows(binding.action):
                continue
            key = keymap.get(binding.id or "", binding.key)
            name = f"{pane.NOUN}: {binding.description.lower()}"
            yield name, partial(app.run_pane_action, pane.PANE_ID, binding.action), f"key {key_label(key)}"
        for verb, action, about in type(pane).PALETTE:
            if not pane.palette_allows(action):
                continue
            yield f"{pane.NOUN}: {verb}", partial(app.run_pane_action, pane.PANE_ID, action), about
    for pane in app.panes():
        yield f"go: {pane.TITLE.lower()}", partial(app.action_show_pane, pane.PANE_ID), f"key {pane.NUMBER}"
    yield "app: help", app.action_help, "key ?"
    yield "app: screenshot (secrets masked)", app.action_screenshot, "key f12"
    yield "app: high contrast on/off", app.action_toggle_contrast, "theme"
    yield "app: quit", app.action_quit, "key q"


class AptuiCommands(Provider):
    async def discover(self) -> Hits:
        for name, callback, about in palette_commands(self.app):  # type: ignore[arg-type]
            yield DiscoveryHit(name, callback, help=about)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, about in palette_commands(self.app):  # type: ignore[arg-type]
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=about)
