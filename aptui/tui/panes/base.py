"""The base of every pane: a title, a number key, bindings shown in the footer and in help."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.containers import Vertical

if TYPE_CHECKING:
    from aptui.services.context import Context


class Pane(Vertical):
    """A tab's content. Subclasses set ``PANE_ID``, ``TITLE``, ``NUMBER`` and ``BINDINGS``."""

    PANE_ID: ClassVar[str] = "pane"
    TITLE: ClassVar[str] = "Pane"
    NUMBER: ClassVar[str] = "0"
    HELP: ClassVar[str] = ""

    @property
    def ctx(self) -> Context:
        return self.app.ctx  # type: ignore[attr-defined]

    def on_show(self) -> None:
        self.focus_main()

    def focus_main(self) -> None:
        """Put the focus on the pane's main widget (a table, an input)."""

    def action_refresh(self) -> None:
        """Reload the pane's data (bound to ``r`` where the pane has data)."""
