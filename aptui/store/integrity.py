"""What binds the store's clear columns to its secrets, and what catches a rollback or an edited log.

Someone who can write the store file but knows no key can still edit its clear columns (a
profile's URL, its TLS options) or write back an older ciphertext. Under keys derived from the
data key (HMAC-SHA256, never stored):

- **Row seals.** Every row of a *sealed* table (``SEALED``: profiles, secret manager connections,
  rotation runs) carries ``seal`` = HMAC over its table, id, generation and EVERY other column
  (secret ciphertexts included, NULLs skipped; so a column added by a later migration is covered
  as soon as it holds a value). An edited URL, a swapped CA bundle or an older ciphertext written
  back fails the seal. Seals are written by temporary SQLite triggers on aptui's own connection, so
  every write aptui makes (whatever module makes it) is sealed, and each update first checks the
  old seal: aptui never re-seals a row someone else changed.
- **Rollback.** ``seal_gen`` is a store-wide counter kept in ``keyring`` (with the wrapped key).
  ``keyring.digest`` is the XOR of a per-row element HMAC(table, id, generation) over every sealed
  row; elements are never stored, so no one without the key can update the digest. A whole row put
  back from an older copy (valid old seal, old generation), a deleted row or a row re-inserted
  changes the digest. ``keyring.state_mac`` binds the counter, the digest and the audit log's head.
- **Audit log.** Each entry's ``mac`` = HMAC(previous entry's mac, seq, every field): an edited
  entry fails its own mac, a deleted one breaks the link of the next, a cut tail no longer matches
  the head in ``keyring``.

Not detected: the WHOLE file replaced by an older copy of itself (keyring included) — the store
has nothing outside the file to compare with; cache rows (their AAD already binds the connection
and path they belong to, their worst case is a stale value for an hour); clear tables that route
no secret (rotation records, incidents).
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SEALED: tuple[str, ...] = ("profiles", "sm_connections", "rotation_runs")
SEAL_COLUMNS = ("seal", "seal_gen")
ZERO = bytes(32)


def _sub_key(data_key: bytes, label: str) -> bytes:
    return hmac.digest(data_key, f"aptui:v1:{label}".encode(), "sha256")


def _encode(value: Any) -> bytes:
    if value is None:
        return b"n"
    if isinstance(value, bool | int):
        return b"i" + str(int(value)).encode()
    if isinstance(value, float):
        return b"f" + repr(value).encode()
    if isinstance(value, str):
        return b"t" + value.encode("utf-8", "surrogatepass")
    return b"b" + bytes(value)


def _frame(*parts: bytes) -> bytes:
    out = bytearray()
    for p in parts:
        out += len(p).to_bytes(4, "big")
        out += p
    return bytes(out)


class Sealer:
    """The MACs of one data key (keys derived with labels; never printed)."""

    __slots__ = ("_audit", "_elem", "_seal", "_state")

    def __init__(self, data_key: bytes) -> None:
        self._seal = _sub_key(data_key, "row-seal")
        self._elem = _sub_key(data_key, "row-element")
        self._state = _sub_key(data_key, "store-state")
        self._audit = _sub_key(data_key, "audit-chain")

    def __repr__(self) -> str:
        return "Sealer(<keys hidden>)"

    def seal(self, table: str, gen: int, columns: Iterable[tuple[str, Any]]) -> bytes:
        parts = [table.encode(), str(int(gen)).encode()]
        for name, value in columns:  # table order (ALTER TABLE appends; a NULL column adds nothing)
            if value is not None and name not in SEAL_COLUMNS:
                parts += [name.encode(), _encode(value)]
        return hmac.digest(self._seal, _frame(*parts), "sha256")

    def element(self, table: str, row_id: str, gen: int | None) -> bytes:
        msg = _frame(table.encode(), str(row_id).encode(), str(gen).encode())
        return hmac.digest(self._elem, msg, "sha256")

    def state(self, counter: int, digest: bytes | None, audit_seq: int | None, audit_mac: bytes | None) -> bytes:
        msg = _frame(str(int(counter or 0)).encode(), bytes(digest or ZERO), str(audit_seq or 0).encode(),
                     bytes(audit_mac or b""))
        return hmac.digest(self._state, msg, "sha256")

    def audit(self, prev: bytes | None, seq: int, fields: Iterable[Any]) -> bytes:
        msg = _frame(bytes(prev or b""), str(int(seq)).encode(), *(_encode(f) for f in fields))
        return hmac.digest(self._audit, msg, "sha256")


def xor(a: bytes | None, b: bytes | None) -> bytes:
    return (int.from_bytes(a or ZERO, "big") ^ int.from_bytes(b or ZERO, "big")).to_bytes(32, "big")


AUDIT_FIELDS = ("at", "actor", "action", "target", "outcome", "detail")
AUDIT_NO_UPDATE = ("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.mac IS NOT NULL "
                   "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END")


class SealBroken(Exception):
    """A row's seal did not verify (raised inside a trigger; the Store reports it as tampering)."""

    def __init__(self, table: str, row_id: str) -> None:
        self.table, self.row_id = table, row_id
        super().__init__(f"{table} row {row_id}")


# -- the triggers ------------------------------------------------------------------------------

def columns_of(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})") if r[1] not in SEAL_COLUMNS]


def install(conn: sqlite3.Connection, sealer: Sealer, failures: list[SealBroken]) -> None:
    """Register the MAC functions and (re)create the temporary sealing triggers on ``conn``.

    Built from each table's current columns: call again after a migration adds one."""

    def seal_fn(table: str, gen: int, *values: Any) -> bytes:
        names = cols[table]
        return sealer.seal(table, gen, zip(names, values, strict=True))

    def verify_fn(table: str, row_id: str, gen: int | None, seal: bytes | None, *values: Any) -> int:
        names = cols[table]
        if seal is None or gen is None or not hmac.compare_digest(
                bytes(seal), sealer.seal(table, gen, zip(names, values, strict=True))):
            failures.append(SealBroken(table, row_id))
            raise SealBroken(table, row_id)
        return 1

    memo: list[Any] = [None, None]  # the trigger asks twice per row (digest, then state MAC)

    def digest_fn(digest: bytes | None, table: str, old_id: str | None, old_gen: int | None,
                  new_id: str | None, new_gen: int | None) -> bytes:
        key = (digest, table, old_id, old_gen, new_id, new_gen)
        if memo[0] == key:
            return memo[1]
        out = digest or ZERO
        if old_id is not None:
            out = xor(out, sealer.element(table, old_id, old_gen))
        if new_id is not None:
            out = xor(out, sealer.element(table, new_id, new_gen))
        memo[0], memo[1] = key, out
        return out

    def state_fn(counter: int, digest: bytes | None, audit_seq: int | None, audit_mac: bytes | None) -> bytes:
        return sealer.state(counter, digest, audit_seq, audit_mac)

    def audit_fn(prev: bytes | None, seq: int, *values: Any) -> bytes:
        return sealer.audit(prev, seq, values)

    cols = {t: columns_of(conn, t) for t in SEALED}
    conn.create_function("aptui_seal", -1, seal_fn, deterministic=True)
    conn.create_function("aptui_verify", -1, verify_fn)
    conn.create_function("aptui_digest", 6, digest_fn, deterministic=True)
    conn.create_function("aptui_state", 4, state_fn, deterministic=True)
    conn.create_function("aptui_audit", -1, audit_fn, deterministic=True)
    state = ("UPDATE keyring SET state_mac = aptui_state(counter, digest, audit_seq, audit_mac) "
             "WHERE id = 1;")
    for table in SEALED:
        names = cols[table]
        new = ", ".join(names)  # the seal's own UPDATE (seal, seal_gen only) does not fire the update trigger
        old = ", ".join(f"OLD.{c}" for c in names)
        gen = "(SELECT counter FROM keyring WHERE id = 1)"

        def step(old_ref: str, new_ref: str, table: str = table) -> str:
            """One keyring update: the counter, the digest (old element out, new one in) and the state MAC."""
            digest = f"aptui_digest(digest, '{table}', {old_ref}, {new_ref})"
            nxt = "counter + 1" if new_ref != "NULL, NULL" else "counter"
            return (f"UPDATE keyring SET counter = {nxt}, digest = {digest}, "
                    f"state_mac = aptui_state({nxt}, {digest}, audit_seq, audit_mac) WHERE id = 1;")

        seal = (f"UPDATE {table} SET seal_gen = {gen}, seal = aptui_seal('{table}', {gen}, {new}) "
                f"WHERE rowid = NEW.rowid;")
        verify = f"SELECT aptui_verify('{table}', OLD.id, OLD.seal_gen, OLD.seal, {old});"
        for name, body in (
                (f"{table}_seal_insert", f"AFTER INSERT ON main.{table} BEGIN "
                                         f"{step('NULL, NULL', 'NEW.id, counter + 1')} {seal} END"),
                (f"{table}_seal_update", f"AFTER UPDATE OF {new} ON main.{table} BEGIN {verify} "
                                         f"{step('OLD.id, OLD.seal_gen', 'NEW.id, counter + 1')} {seal} END"),
                (f"{table}_seal_delete", f"AFTER DELETE ON main.{table} BEGIN "
                                         f"{step('OLD.id, OLD.seal_gen', 'NULL, NULL')} END")):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.{name}")
            conn.execute(f"CREATE TEMP TRIGGER {name} {body}")
    fields = ", ".join(f"NEW.{f}" for f in AUDIT_FIELDS)
    prev = "(SELECT mac FROM audit_log WHERE seq < NEW.seq ORDER BY seq DESC LIMIT 1)"
    conn.execute("DROP TRIGGER IF EXISTS temp.audit_chain")
    conn.execute(
        "CREATE TEMP TRIGGER audit_chain AFTER INSERT ON audit_log BEGIN "
        f"UPDATE audit_log SET mac = aptui_audit({prev}, NEW.seq, {fields}) WHERE seq = NEW.seq; "
        "UPDATE keyring SET audit_seq = NEW.seq, "
        "audit_mac = (SELECT mac FROM audit_log WHERE seq = NEW.seq) WHERE id = 1; "
        f"{state} END")


def uninstall(conn: sqlite3.Connection) -> None:
    for table in SEALED:
        for op in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.{table}_seal_{op}")
    conn.execute("DROP TRIGGER IF EXISTS temp.audit_chain")


# -- rebuilding and verifying ------------------------------------------------------------------

def reseal_all(conn: sqlite3.Connection, sealer: Sealer) -> None:
    """Seal every row, chain the whole audit log and write the state, under ``sealer``'s key.

    For a migration and for rotating the data key (inside their transaction, triggers off); it
    trusts the store's current contents."""
    counter = 0
    digest = ZERO
    for table in SEALED:
        names = columns_of(conn, table)
        rows = conn.execute(f"SELECT rowid, id, {', '.join(names)} FROM main.{table} ORDER BY rowid").fetchall()
        for rowid, row_id, *values in rows:
            counter += 1
            seal = sealer.seal(table, counter, zip(names, values, strict=True))
            conn.execute(f"UPDATE main.{table} SET seal_gen = ?, seal = ? WHERE rowid = ?", (counter, seal, rowid))
            digest = xor(digest, sealer.element(table, row_id, counter))
    prev: bytes | None = None
    seq = 0
    conn.execute("DROP TRIGGER IF EXISTS main.audit_log_no_update")  # re-created below, same transaction
    for seq, *values in conn.execute(f"SELECT seq, {', '.join(AUDIT_FIELDS)} FROM main.audit_log ORDER BY seq"
                                     ).fetchall():
        prev = sealer.audit(prev, seq, values)
        conn.execute("UPDATE main.audit_log SET mac = ? WHERE seq = ?", (prev, seq))
    conn.execute(AUDIT_NO_UPDATE)
    conn.execute("UPDATE main.keyring SET counter = ?, digest = ?, audit_seq = ?, audit_mac = ?, state_mac = ? "
                 "WHERE id = 1", (counter, digest, seq or None, prev, sealer.state(counter, digest, seq or None, prev)))


@dataclass
class Findings:
    """What ``verify`` found; empty lists mean intact."""

    rows: list[dict[str, str]] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    sealed_rows: int = 0
    audit_entries: int = 0

    @property
    def ok(self) -> bool:
        return not (self.rows or self.state or self.audit)


def verify_row(conn: sqlite3.Connection, sealer: Sealer, table: str, row_id: str,
               names: list[str] | None = None) -> tuple[bool, int]:
    """Whether the row's seal verifies, and the store counter (one query)."""
    names = names or columns_of(conn, table)
    row = conn.execute(f"SELECT k.counter, t.seal_gen, t.seal, {', '.join('t.' + n for n in names)} "
                       f"FROM main.{table} t, main.keyring k WHERE t.id = ? AND k.id = 1", (row_id,)).fetchone()
    if row is None:
        return False, -1
    counter, gen, seal, *values = row
    ok = (seal is not None and gen is not None
          and hmac.compare_digest(bytes(seal), sealer.seal(table, gen, zip(names, values, strict=True))))
    return ok, counter


def verify_state(conn: sqlite3.Connection, sealer: Sealer, findings: Findings | None = None, *,
                 audit: bool = True) -> Findings:
    """Check every row seal, the store-wide digest and counter, and (``audit``) the audit chain."""
    f = findings or Findings()
    digest = ZERO
    top = 0
    for table in SEALED:
        names = columns_of(conn, table)
        for row_id, gen, seal, *values in conn.execute(
                f"SELECT id, seal_gen, seal, {', '.join(names)} FROM main.{table}"):
            f.sealed_rows += 1
            ok = (seal is not None and gen is not None and hmac.compare_digest(
                bytes(seal), sealer.seal(table, gen, zip(names, values, strict=True))))
            if not ok:
                changed = "no seal" if seal is None else "clear columns or ciphertext changed outside aptui"
                f.rows.append({"table": table, "row": str(row_id), "reason": f"seal broken ({changed})"})
            digest = xor(digest, sealer.element(table, row_id, gen))
            top = max(top, int(gen or 0))
    ring = conn.execute("SELECT counter, digest, audit_seq, audit_mac, state_mac FROM main.keyring WHERE id = 1"
                        ).fetchone()
    counter, stored_digest, audit_seq, audit_mac, state_mac = ring if ring else (0, None, None, None, None)
    if state_mac is None or not hmac.compare_digest(bytes(state_mac),
                                                    sealer.state(counter, stored_digest, audit_seq, audit_mac)):
        f.state.append("store state MAC does not verify (keyring counter, digest or audit head edited)")
    elif not hmac.compare_digest(digest, bytes(stored_digest or ZERO)):
        f.state.append("the set of sealed rows differs from the one aptui last wrote "
                       "(a row rolled back to an older copy, deleted or inserted outside aptui)")
    if top > int(counter or 0):
        f.state.append(f"a row has generation {top}, past the store counter {counter}")
    if audit:
        _verify_audit(conn, sealer, f, audit_seq, audit_mac)
    return f


def _verify_audit(conn: sqlite3.Connection, sealer: Sealer, f: Findings, head_seq: int | None,
                  head_mac: bytes | None) -> None:
    prev: bytes | None = None
    prev_seq = 0
    for seq, mac, *values in conn.execute(f"SELECT seq, mac, {', '.join(AUDIT_FIELDS)} FROM main.audit_log "
                                          "ORDER BY seq"):
        f.audit_entries += 1
        gap = seq != prev_seq + 1
        if gap:
            f.audit.append({"seq": seq, "problem": "gap", "detail": f"entries {prev_seq + 1}..{seq - 1} missing"})
        expected = sealer.audit(prev, seq, values)
        if mac is None:
            f.audit.append({"seq": seq, "problem": "inserted", "detail": "entry has no MAC (added outside aptui)"})
        elif not gap and not hmac.compare_digest(bytes(mac), expected):
            f.audit.append({"seq": seq, "problem": "edited", "detail": "entry does not match its MAC"})
        prev, prev_seq = (bytes(mac) if mac is not None else None), seq  # as the trigger chains
    if (head_seq or 0) != prev_seq:
        if (head_seq or 0) > prev_seq:
            f.audit.append({"seq": prev_seq + 1, "problem": "truncated",
                            "detail": f"entries {prev_seq + 1}..{head_seq} were removed from the end"})
        else:
            f.audit.append({"seq": head_seq or 0, "problem": "head",
                            "detail": "entries after the recorded head were added outside aptui"})
    elif head_seq and (head_mac is None or prev is None or not hmac.compare_digest(bytes(head_mac), prev)):
        f.audit.append({"seq": head_seq, "problem": "head", "detail": "last entry differs from the recorded head"})
