"""One sanitiser for text that came from a server or a file, before it reaches a terminal.

A malicious or compromised server can put terminal escapes in any string it returns (a
connection's name, an error message, a version): OSC 52 writes the operator's clipboard, OSC 0
retitles the window, ``ESC[2J`` clears the screen, OSC 8 plants hyperlinks. ``visible()`` turns
every C0/C1 control character (newline and tab excepted, on request) and the bidirectional
overrides into a visible ``\\xNN`` / ``\\uNNNN`` form, so the bytes are shown, never obeyed.

Both front ends call it on every untrusted string they render: CLI tables, one-line errors,
hints, and every console widget, modal and notification. ``--json`` output needs no help: JSON
already escapes control characters.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (0x00-0x1f), DEL, C1 (0x80-0x9f), and the bidi embeddings/overrides/isolates that can make
# text read differently from what it is ("Trojan source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character made visible (``ESC`` → ``\\x1b``).

    With ``keep_newlines`` a newline and a tab pass through (multi-line details); otherwise they
    are shown too, so the result is always one line.
    """
    s = text if isinstance(text, str) else str(text)
    pattern = _CONTROL_KEEP_LINES if keep_newlines else _CONTROL
    return pattern.sub(_show, s)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character ``visible()`` would rewrite."""
    return _CONTROL.search(text) is not None


def visible_deep(value: Any, *, keep_newlines: bool = False) -> Any:
    """``visible()`` applied to every string inside dicts, lists and tuples (keys included)."""
    if isinstance(value, str):
        return visible(value, keep_newlines=keep_newlines)
    if isinstance(value, dict):
        return {visible_deep(k, keep_newlines=keep_newlines): visible_deep(v, keep_newlines=keep_newlines)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(visible_deep(v, keep_newlines=keep_newlines) for v in value)
    return value
