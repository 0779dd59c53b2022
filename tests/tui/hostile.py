"""Hostile server text for the console tests, and what the terminal would receive of a screen."""

from __future__ import annotations

import re

# OSC 52 (clipboard write), OSC 8 (hyperlink), OSC 0 (window title), CSI 2J (clear screen), and a C1 CSI.
HOSTILE = ("evil\x1b]52;c;ZXZpbA==\x07\x1b]8;;https://attacker.example/\x1b\\link\x1b]8;;\x1b\\"
           "\x1b]0;pwned\x07\x1b[2J\x9b31mend")
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def screen_text(app) -> str:
    """Every character the app's current screen (toasts included) would write, without Textual's own
    control sequences: one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip if not seg.control) for strip in strips)


def assert_clean(app) -> str:
    text = screen_text(app)
    bad = RAW.findall(text)
    assert not bad, f"raw control characters reach the terminal: {bad[:5]!r}"
    return text
