"""How a key is shown to the operator (footer, help, palette)."""

from __future__ import annotations

NAMES = {"slash": "/", "question_mark": "?", "colon": ":", "escape": "esc", "enter": "enter",
         "space": "space", "delete": "del"}


def key_label(key: str) -> str:
    return ",".join(NAMES.get(k, k) for k in key.split(","))
