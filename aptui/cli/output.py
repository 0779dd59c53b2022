"""Rendering for the CLI: ``--json`` documents on stdout, tables otherwise, errors on one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from aptui.errors import AptuiError


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


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, ensure_ascii=False)


def print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    """A plain, narrow-terminal-friendly table."""
    from rich import box
    from rich.table import Table

    t = Table(*columns, title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for row in rows:
        t.add_row(*("" if c is None else str(c) for c in row))
    console().print(t)


def emit(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` for the human form."""
    if as_json:
        print_json(data)
    else:
        render()


def line(text: str = "") -> None:
    from rich.markup import escape

    console().print(escape(text))


def fail(err: AptuiError, as_json: bool) -> int:
    """Report an error in one line (stderr), or as ``{"error": …}`` with ``--json`` (stdout)."""
    if as_json:
        print_json({"ok": False, "error": err.to_dict()})
    else:
        sys.stderr.write(f"aptui: {err.one_line()}\n")
    return err.exit_code
