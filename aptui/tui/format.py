"""Small display helpers shared by the panes (status marks never rely on colour alone)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from aptui.clock import human_age, parse_iso, utc_now

OK, FAILED, UNKNOWN = "● ok", "✗ failed", "○ untested"


def theme_color(app: Any, name: str) -> str:
    try:
        return str(app.theme_variables.get(name, "")) or ""
    except Exception:  # no running app (unit use)
        return ""


def status_cell(app: Any, ok: bool | None, *, labels: tuple[str, str, str] = (OK, FAILED, UNKNOWN)) -> Text:
    """A shape and a word (●/✗/○), coloured from the theme when colour is on."""
    label, var = (labels[0], "success") if ok else ((labels[1], "error") if ok is False else (labels[2], "text-muted"))
    color = theme_color(app, var)
    return Text(label, style=color or "")


def ago(iso_text: str | None, *, now: Any = None) -> str:
    """``5m ago`` for an ISO time, ``never`` for None."""
    if not iso_text:
        return "never"
    try:
        seconds = ((now or utc_now()) - parse_iso(iso_text)).total_seconds()
    except ValueError:
        return iso_text
    return human_age(max(0.0, seconds)) + " ago"


def seconds(value: float | None) -> str:
    """``5m`` for 300.0; ``—`` for None."""
    return "—" if value is None else human_age(float(value))


def short_id(text: str | None, keep: int = 8) -> str:
    if not text:
        return ""
    return text if len(text) <= keep + 1 else text[:keep] + "…"
