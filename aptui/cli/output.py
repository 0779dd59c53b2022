"""Rendering for the CLI: ``--json`` documents on stdout, tables otherwise, errors on one line."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from aptui.errors import AptuiError
from aptui.untrusted import visible


def _default(obj: Any) -> Any:
    from aptui.masking import Secret

    if isinstance(obj, Secret):
        return obj.masked()
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return str(obj)


# JSON escapes C0 controls, but with ensure_ascii=False it writes DEL, the C1 controls and the bidi
# overrides as they are; they can only occur inside JSON strings, where a \u escape (\u001b, \u202e) means the same.
_JSON_RAW = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _json_safe(text: str) -> str:
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON text that is safe on a terminal: no raw control character, the values unchanged."""
    return _json_safe(json.dumps(data, default=_default, indent=indent, ensure_ascii=False))


def print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def console(stderr: bool = False, *, unbounded: bool = False):
    """``unbounded``: off a terminal (a pipe, a file) lines are as long as their content, so a table's
    URLs and ids reach ``grep`` and ``cut`` whole instead of cut at 80 columns."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if unbounded and not out.is_terminal:
        out = Console(stderr=stderr, highlight=False, soft_wrap=False, width=4096)
    return out


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    """A plain, narrow-terminal-friendly table.

    Cells are untrusted (names, versions, errors from a server or a file): each one is shown with its
    control characters made visible, and as plain text (no rich markup, so no ``[link=…]``)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(visible(title)) if title else None, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for c in columns:
        t.add_column(Text(visible(c)))
    for row in rows:
        t.add_row(*(Text("" if c is None else visible(c)) for c in row))
    console(unbounded=True).print(t)


def emit(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` for the human form."""
    if as_json:
        print_json(data)
    else:
        render()


def line(text: str = "") -> None:
    """One line (or a few) of human output: markup escaped, control characters made visible."""
    from rich.text import Text

    console().print(Text(visible(text, keep_newlines=True)))


def write(text: str, *, stderr: bool = False) -> None:
    """Raw text (a Markdown report, a progress line) with its control characters made visible;
    newlines, tabs and a leading carriage return (progress lines) are kept."""
    stream = sys.stderr if stderr else sys.stdout
    head = "\r" if text.startswith("\r") else ""
    stream.write(head + visible(text[len(head):], keep_newlines=True))


def fail(err: AptuiError, as_json: bool) -> int:
    """Report an error in one line (stderr), or as ``{"error": …}`` with ``--json`` (stdout)."""
    if as_json:
        print_json({"ok": False, "error": err.to_dict()})
    else:
        sys.stderr.write(f"aptui: {err.one_line()}\n")  # one_line() makes control characters visible
    return err.exit_code
