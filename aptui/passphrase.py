"""The store passphrase, asked on the terminal: one place below both front ends (CLI and console).

The CLI asks when the store asks (``prompt``, called by ``Store.open``). The console must ask
before Textual takes the terminal, yet opens the store only after its first frame: ``ask_early``
reads the store's key kind without unlocking anything and asks only for a passphrase store.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ENV = "APTUI_PASSPHRASE"


def prompt() -> str:
    """A hidden prompt on the terminal; "" without one (the store then refuses with a hint)."""
    if not sys.stdin.isatty():
        return ""
    import getpass

    return getpass.getpass("aptui store passphrase: ")


def key_kind(store_file: Path) -> str | None:
    """``keyfile`` or ``passphrase`` from the store's keyring row; None when that cannot be read
    (no store yet, not a store, locked): ``Store.open`` then reports what is wrong, later."""
    try:
        with store_file.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return None  # missing, or not a database: left to Store.open, untouched
    except OSError:
        return None
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{store_file}?mode=ro", uri=True, timeout=0.5)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT kek_kind FROM keyring WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row and isinstance(row[0], str) else None


def ask_early(store_file: Path, ask: Callable[[], str] = prompt) -> Callable[[], str]:
    """Ask now, if the store will need it and no ``APTUI_PASSPHRASE`` is set; return the source
    ``Store.open`` calls later (possibly from another thread, with the terminal taken)."""
    answer = ""
    if not os.environ.get(ENV) and key_kind(store_file) == "passphrase":
        answer = ask()
    return lambda: answer
