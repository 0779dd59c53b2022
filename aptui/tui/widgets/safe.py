"""A Static that never lets a control character through: every string it shows passes ``visible()``.

Server and file text (names, messages, hints, paths) reaches the screen through these widgets, so
an OSC 52, OSC 8, OSC 0 or CSI sequence a hostile server planted is shown as ``\\x1b]52;…``, never
sent to the terminal. Rich ``Text`` keeps its styles when it is clean; otherwise its plain text
is shown, made visible.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from aptui.untrusted import has_control, visible


def clean(content: Any) -> Any:
    """``content`` (a str or rich Text) with control characters made visible; newlines kept."""
    if isinstance(content, str):
        return visible(content, keep_newlines=True)
    if isinstance(content, Text):
        plain = content.plain
        if has_control(plain.replace("\n", "").replace("\t", "")):
            return Text(visible(plain, keep_newlines=True), style=content.style)
        return content
    return content


class SafeStatic(Static):
    """``Static`` whose content (at creation and on every ``update``) is sanitised; markup off by default."""

    def __init__(self, content: Any = "", *args: Any, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(clean(content), *args, markup=markup, **kwargs)

    def update(self, content: Any = "", *args: Any, **kwargs: Any) -> None:
        super().update(clean(content), *args, **kwargs)
