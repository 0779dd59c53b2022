"""Footers that fit: at 80 columns no key is cut off mid-word. Keys that do not fit are left out
(every key stays in ``?`` help); the command palette's ``:`` goes first, then the pane's last keys,
never help or quit. A modal composes its own (a footer under the modal would name the pane's keys,
which do not work there)."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEPT = ("help", "app.help", "quit", "app.quit")  # never left out
FIRST_OUT = ("command_palette", "app.command_palette")


def key_width(key: FooterKey) -> int:
    """Cells a compact key takes: ``k Description``."""
    return cell_len(key.key_display) + (1 + cell_len(key.description) if key.description else 0)


def fit(items: list, width: int) -> list:
    """``items`` without the keys that do not fit in ``width`` cells (one cell between keys)."""
    keys = [i for i in items if isinstance(i, FooterKey)]
    other = sum(cell_len(str(getattr(i, "renderable", ""))) + 1 for i in items if not isinstance(i, FooterKey))

    def total(chosen: list) -> int:
        return sum(key_width(k) for k in chosen) + max(len(chosen) - 1, 0) + other

    order = [k for k in keys if k.action in FIRST_OUT] + [k for k in reversed(keys)
                                                        if k.action not in FIRST_OUT + KEPT]
    chosen = list(keys)
    for key in order:
        if total(chosen) <= width:
            break
        chosen.remove(key)
    return [i for i in items if not isinstance(i, FooterKey) or i in chosen]


class FittingFooter(Footer):
    """Compact, without the palette entry; recomposed when its width changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(compact=True, show_command_palette=False, **kwargs)
        self._fitted_width = 0

    def compose(self):
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        yield from fit(list(super().compose()), width)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)


class ModalFooter(FittingFooter):
    """The footer a modal screen composes: the modal's own keys."""
