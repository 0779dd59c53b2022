"""The footer a modal composes: it names the modal's keys (a footer under the modal would name the
pane's, which do not work there)."""

from __future__ import annotations

from textual.widgets import Footer


class ModalFooter(Footer):
    """Compact, like the main screen's; the command palette is named in help, not here."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
