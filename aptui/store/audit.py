"""The append-only audit log: time, actor (user@host), action, target, outcome. Never a secret.

Each entry is chained to the one before by an HMAC under the data key (written by a trigger,
aptui.store.integrity): ``aptui audit log --verify`` and ``aptui store check`` report gaps, edits
and a cut tail."""

from __future__ import annotations

from typing import Any

from aptui.clock import utc_now_iso
from aptui.ids import actor as os_actor
from aptui.store.db import Store

# Shown columns (the chain's ``mac`` is for ``aptui audit log --verify`` and ``store check``).
COLUMNS = "seq, at, actor, action, target, outcome, detail"


def append(store: Store, action: str, target: str, outcome: str, detail: str | None = None) -> None:
    """Record one event. ``detail`` must never hold a secret value (callers pass masks only)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target, outcome, detail) VALUES (?,?,?,?,?,?)",
            (utc_now_iso(), os_actor(), action, target, outcome, detail),
        )


def recent(store: Store, *, limit: int = 200, contains: str | None = None) -> list[dict[str, Any]]:
    """Newest first, optionally filtered by a case-insensitive substring of any column."""
    if contains:
        like = f"%{contains}%"
        return store.query(
            f"SELECT {COLUMNS} FROM audit_log WHERE action LIKE :q OR target LIKE :q OR outcome LIKE :q "
            "OR actor LIKE :q OR IFNULL(detail,'') LIKE :q ORDER BY seq DESC LIMIT :n",
            {"q": like, "n": limit},
        )
    return store.query(f"SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?", (limit,))


def append_many(store: Store, entries: list[tuple[str, str, str, str | None]]) -> int:
    """Record several ``(action, target, outcome, detail)`` events in one transaction (bulk work)."""
    if not entries:
        return 0
    at, who = utc_now_iso(), os_actor()
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO audit_log (at, actor, action, target, outcome, detail) VALUES (?,?,?,?,?,?)",
            [(at, who, action, target, outcome, detail) for action, target, outcome, detail in entries],
        )
    return len(entries)
