"""Open, create, migrate, check and re-key the encrypted SQLite store.

Opening never "repairs" anything: a damaged, foreign, too-new or wrongly keyed file gives a
one-line error (exit 3) naming the problem and the fix, and the file is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from aptui.clock import utc_now_iso
from aptui.config import Paths
from aptui.errors import store_error
from aptui.store import crypto, integrity
from aptui.store.crypto import FieldCipher, FieldDecryptError
from aptui.store.schema import ENCRYPTED_COLUMNS, MIGRATIONS, SCHEMA_VERSION, SEAL_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 3000
LOW_SPACE_BYTES = 256 * 1024  # below this, an SQLite I/O error is reported as a full disk
PassphraseSource = Callable[[], str]

__all__ = ["ENCRYPTED_COLUMNS", "SCHEMA_VERSION", "CheckReport", "Store"]


@dataclass
class CheckReport:
    checked: int
    failures: list[dict[str, str]]
    integrity: str
    seals: integrity.Findings | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.integrity == "ok" and (self.seals is None or self.seals.ok)


def tampered(what: str) -> Exception:
    return store_error("STORE_TAMPERED", f"{what}; no credential was used",
                       hint="run `aptui store check`; restore the store from a backup, or remove and re-add "
                            "what it names")


def _damaged(path: Path, what: str) -> Exception:
    return store_error(
        "STORE_DAMAGED",
        f"store {path} {what}",
        hint="restore it from a backup or move it aside; aptui has not changed the file",
    )


def _inspect_file(path: Path) -> None:
    """Reject non-SQLite and truncated files before SQLite touches them."""
    if not path.is_file():
        raise _damaged(path, "is not a regular file")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise store_error("STORE_UNREADABLE", f"store {path} cannot be read ({exc.strerror})",
                          hint="check the file's owner and mode (0600)") from None
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        raise _damaged(path, "is not an aptui store (not an SQLite database, or truncated)")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    # The in-header size is valid only when the change counter matches "version-valid-for". A
    # checkpoint cut short by a crash leaves page 1 (the new size) written before the pages that
    # extend the file: when this store's write-ahead log holds a commit of that size, SQLite
    # completes them from the log, so that file is not "truncated".
    size_valid = header[24:28] == header[92:96]
    if not (pages and size_valid and path.stat().st_size < pages * page_size):
        return
    if _wal_covers(path.with_name(path.name + "-wal"), page_size, pages):
        return
    raise _damaged(path, f"is truncated ({path.stat().st_size} of {pages * page_size} bytes)")


WAL_MAGIC = (0x377F0682, 0x377F0683)


def _wal_covers(wal: Path, page_size: int, pages: int) -> bool:
    """Whether ``wal`` is this store's log and a commit in it reaches ``pages`` pages.

    WAL format: a 32-byte header (magic, version, page size, checkpoint no., salt-1, salt-2, ...),
    then frames of a 24-byte header (page no., database size after a commit or 0, salt-1, salt-2,
    ...) and one page. Frames whose salts differ from the header's are left over from before.
    """
    try:
        size = wal.stat().st_size
        if size < 32 + 24 + page_size:
            return False
        with wal.open("rb") as fh:
            head = fh.read(32)
            magic, _version, wal_page_size = struct.unpack(">III", head[:12])
            if magic not in WAL_MAGIC or wal_page_size != page_size:
                return False
            salts = head[16:24]
            biggest = 0
            for n in range((size - 32) // (24 + page_size)):
                fh.seek(32 + n * (24 + page_size))
                frame = fh.read(24)
                if len(frame) < 24 or frame[8:16] != salts:
                    break
                biggest = max(biggest, struct.unpack(">I", frame[4:8])[0])
            return biggest >= pages
    except OSError:
        return False


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _translate(exc: sqlite3.Error, path: Path) -> Exception:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return store_error("STORE_LOCKED", f"store {path} is locked by another process",
                           hint="wait for the other aptui to finish, then retry")
    if "readonly" in text or "read-only" in text:
        return store_error("STORE_READ_ONLY", f"store {path} is on a read-only file or directory",
                           hint="check the mode of the file and its directory")
    if "disk is full" in text or "full" in text or (_io_error(exc) and _low_on_space(path)):
        # A full disk often surfaces as an I/O error: SQLite cannot size its -shm/-wal files.
        return store_error("STORE_DISK_FULL", f"no space left for store {path}; nothing was written",
                           hint="free disk space, then retry")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return _damaged(path, "is damaged (" + str(exc).split(":")[0] + ")")
    if "unable to open" in text:
        return store_error("STORE_UNREADABLE", f"store {path} cannot be opened",
                           hint="check the file's owner and mode, and its directory's")
    return store_error("STORE_ERROR", f"store {path}: {exc}")


def _io_error(exc: sqlite3.Error) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return name.startswith("SQLITE_IOERR") or "disk i/o error" in str(exc).lower()


def _low_on_space(path: Path) -> bool:
    """Whether the file system holding the store has (almost) no space left for unprivileged writes."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < LOW_SPACE_BYTES


def _secure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.resolve() not in {Path("/"), Path.home().resolve()}:
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)


class Store:
    """A open, unlocked store: SQL connection, sqlite-utils view, field cipher."""

    def __init__(self, path: Path, conn: sqlite3.Connection, cipher: FieldCipher, kek_kind: str,
                 paths: Paths | None = None) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.cipher = cipher
        self.sealer = integrity.Sealer(cipher.data_key)
        self.kek_kind = kek_kind
        self.paths = paths
        self._lock = threading.RLock()
        self._depth = 0
        self._seal_failures: list[integrity.SealBroken] = []
        self._state_ok_at: int | None = None  # keyring counter when the store state last verified
        self._sealed_columns: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, kek={self.kek_kind!r})"

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, paths: Paths, *, passphrase: PassphraseSource | None = None, create: bool = True) -> Store:
        """Open the store, creating it (with a generated key file) when it does not exist yet."""
        path = paths.store_file
        if not path.exists():
            if not create:
                raise store_error("STORE_MISSING", f"no store at {path}", hint="run `aptui init` first")
            return cls.create(paths)
        _inspect_file(path)
        try:
            conn = _connect(path)
        except sqlite3.Error as exc:
            raise _translate(exc, path) from None
        try:
            store = cls._unlock(paths, conn, passphrase)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _unlock(cls, paths: Paths, conn: sqlite3.Connection, passphrase: PassphraseSource | None) -> Store:
        path = paths.store_file
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise store_error(
                    "STORE_TOO_NEW",
                    f"store {path} has schema v{version}, newer than this aptui understands (v{SCHEMA_VERSION})",
                    hint="upgrade aptui; the file was not changed",
                )
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "keyring" not in tables:
                raise _damaged(path, "is an SQLite file but not an aptui store (no keyring)")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise _damaged(path, f"failed its integrity check ({check})")
            row = conn.execute("SELECT kek_kind, kdf, kek_fingerprint, wrapped_key FROM keyring WHERE id=1").fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, path) from None
        if row is None:
            raise _damaged(path, "has an empty keyring")
        kind, kdf_json, _fingerprint, wrapped = row
        data_key = None
        if kind == "keyfile":
            kek = crypto.read_key_file(paths.key_file)
            data_key = crypto.unwrap_data_key(kek, wrapped)
            pending = paths.key_file.with_name(paths.key_file.name + ".new")
            if data_key is None and pending.exists():
                # A re-key that stopped between committing the new wrap and renaming the key file.
                kek = crypto.read_key_file(pending)
                data_key = crypto.unwrap_data_key(kek, wrapped)
                if data_key is not None:
                    os.replace(pending, paths.key_file)
            if data_key is None:
                raise store_error(
                    "STORE_KEY_MISMATCH",
                    f"key file {paths.key_file} does not open store {path}",
                    hint="restore the key file that belongs to this store; the store was not changed",
                )
        elif kind == "passphrase":
            text = os.environ.get("APTUI_PASSPHRASE") or (passphrase() if passphrase else "")
            if not text:
                raise store_error("STORE_PASSPHRASE_REQUIRED", f"store {path} is protected by a passphrase",
                                  hint="set APTUI_PASSPHRASE or run aptui in a terminal to be asked")
            kek = crypto.derive_passphrase_kek(text, json.loads(kdf_json))
            data_key = crypto.unwrap_data_key(kek, wrapped)
            if data_key is None:
                raise store_error("STORE_KEY_MISMATCH", f"wrong passphrase for store {path}",
                                  hint="try again; the store was not changed")
        else:
            raise store_error("STORE_TOO_NEW", f"store {path} uses key kind {kind!r} unknown to this aptui",
                              hint="upgrade aptui")
        store = cls(path, conn, FieldCipher(data_key), kind, paths)
        store._configure()
        store._migrate(version)
        store._install_seals()
        return store

    @classmethod
    def create(cls, paths: Paths, *, passphrase: str | None = None) -> Store:
        """Create a new store atomically (temp file, then link into place; never overwrites).

        The temp file uses a rollback journal: a commit that fails (a full disk) is rolled back and
        nothing is linked, and no WAL content can be lost at close. WAL is switched on afterwards.
        """
        path = paths.store_file
        try:
            _secure_dir(path.parent)
        except OSError as exc:
            raise crypto.os_error(exc, f"store {path}") from None
        if passphrase:
            kek = crypto.derive_passphrase_kek(passphrase, crypto.new_passphrase_params())
        elif paths.key_file.exists():
            kek = crypto.read_key_file(paths.key_file)
        else:
            kek = crypto.write_key_file(paths.key_file)
        data_key = crypto.new_data_key()
        tmp = path.with_name(f".{path.name}.init-{os.getpid()}")
        conn: sqlite3.Connection | None = None
        try:
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            conn = _connect(tmp)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE")
            for _, sql in MIGRATIONS:
                for stmt in _statements(sql):
                    conn.execute(stmt)
            conn.execute(
                "INSERT INTO keyring (id, kek_kind, kdf, kek_fingerprint, wrapped_key, created) VALUES (1,?,?,?,?,?)",
                (kek.kind, json.dumps(kek.kdf), kek.fingerprint, crypto.wrap_data_key(kek, data_key), utc_now_iso()),
            )
            integrity.reseal_all(conn, integrity.Sealer(data_key))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
            conn.close()
            conn = None
            try:
                os.link(tmp, path)
            except FileExistsError:
                # Another aptui created it first: use theirs.
                return cls.open(paths, create=False)
        except sqlite3.Error as exc:
            raise _translate(exc, path) from None
        except OSError as exc:
            raise crypto.os_error(exc, f"store {path}") from None
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
        os.chmod(path, 0o600)
        store = cls(path, _connect(path), FieldCipher(data_key), kek.kind, paths)
        try:
            store._configure()
            store._install_seals()
        except sqlite3.Error as exc:  # the complete file is in place; WAL is switched on at next open
            store.close()
            raise _translate(exc, path) from None
        return store

    def _configure(self) -> None:
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA synchronous=FULL")
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL")

    def _migrate(self, version: int) -> None:
        """Apply pending steps in one transaction, then seal every row under the current key.

        A store already sealed is verified first: an upgrade never re-seals what someone else changed."""
        pending = [(v, sql) for v, sql in MIGRATIONS if v > version]
        if not pending:
            return
        with self.transaction():
            if version >= SEAL_VERSION:
                findings = integrity.verify_state(self.conn, self.sealer)
                if not findings.ok:
                    raise store_error("STORE_TAMPERED", f"store {self.path} failed its seal check; not upgraded",
                                      hint="run `aptui store check` with the aptui that wrote it")
            for v, sql in pending:
                for stmt in _statements(sql):
                    self.conn.execute(stmt)
                self.conn.execute(f"PRAGMA user_version = {v}")
            integrity.reseal_all(self.conn, self.sealer)

    def _install_seals(self) -> None:
        with self._lock:
            self._sealed_columns.clear()
            integrity.install(self.conn, self.sealer, self._seal_failures)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions and fields ----------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: BEGIN IMMEDIATE … COMMIT (nested calls join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                if outer:
                    self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                if outer:
                    self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if outer and self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                if self._seal_failures:
                    broken = self._seal_failures.pop()
                    self._seal_failures.clear()
                    raise tampered(f"{broken.table} row {broken.row_id} was changed outside aptui "
                                   "(its seal does not verify); not updated") from None
                raise _translate(exc, self.path) from None
            except BaseException:
                if outer and self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise
            finally:
                self._depth -= 1

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        """Rows as dicts (read-only use)."""
        with self._lock:
            try:
                return list(self.db.query(sql, params))
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None

    def encrypt(self, table: str, row_id: str, column: str, plaintext: str | bytes) -> bytes:
        return self.cipher.encrypt(table, row_id, column, plaintext)

    def decrypt(self, table: str, row_id: str, column: str, blob: bytes) -> str:
        """One field in clear. A field of a sealed table (a profile's API key or any other secret of
        its row, a connection's auth, a staged credential) is released only after ``verify_row``."""
        if table in integrity.SEALED:
            self.verify_row(table, row_id)
        try:
            return self.cipher.decrypt(table, row_id, column, blob)
        except FieldDecryptError as exc:
            raise store_error("STORE_FIELD_TAMPERED", str(exc),
                              hint="run `aptui store check`; restore the store from a backup") from None

    def verify_row(self, table: str, row_id: str, expect: dict[str, Any] | None = None) -> None:
        """Before a credential of this row is used: its seal, the store state (rollback), and that the
        clear columns the caller routes by (``expect``) are the ones sealed. Raises STORE_TAMPERED."""
        with self._lock:
            try:
                names = self._sealed_columns.get(table)
                if names is None:
                    names = self._sealed_columns[table] = integrity.columns_of(self.conn, table)
                ok, counter = integrity.verify_row(self.conn, self.sealer, table, row_id, names)
                if not ok:
                    raise tampered(f"{table} row {row_id} was changed outside aptui (its seal does not verify)")
                if expect:
                    cols = ", ".join(expect)
                    row = self.conn.execute(f"SELECT {cols} FROM {table} WHERE id = ?", (row_id,)).fetchone()
                    if row is None or any(a != b for a, b in zip(row, expect.values(), strict=True)):
                        raise tampered(f"{table} row {row_id} changed while in use")
                if self._state_ok_at != counter:
                    findings = integrity.verify_state(self.conn, self.sealer, audit=False)
                    if findings.rows or findings.state:
                        what = findings.state[0] if findings.state else (
                            f"{findings.rows[0]['table']} row {findings.rows[0]['row']}: {findings.rows[0]['reason']}")
                        raise tampered(f"store {self.path}: {what}")
                    self._state_ok_at = counter
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None

    def seal_ok(self, table: str, row_id: str) -> bool:
        """Whether this row's own seal verifies: lists and views mark a row changed outside aptui
        instead of showing it as if nothing were wrong (using a credential still needs
        :meth:`verify_row`, which also checks the whole store's state)."""
        with self._lock:
            try:
                names = self._sealed_columns.get(table)
                if names is None:
                    names = self._sealed_columns[table] = integrity.columns_of(self.conn, table)
                return integrity.verify_row(self.conn, self.sealer, table, row_id, names)[0]
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None

    # -- maintenance ----------------------------------------------------------------------
    def check(self) -> CheckReport:
        """Decrypt every encrypted field, verify row seals, the store state and the audit chain, and
        run SQLite's integrity check."""
        failures: list[dict[str, str]] = []
        checked = 0
        with self._lock:
            integrity_text = self.conn.execute("PRAGMA integrity_check").fetchone()[0]
            seals = integrity.verify_state(self.conn, self.sealer)
            for table, columns in ENCRYPTED_COLUMNS.items():
                for column in columns:
                    cur = self.conn.execute(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
                    for row_id, blob in cur:
                        checked += 1
                        try:
                            self.cipher.decrypt_bytes(table, row_id, column, blob)
                        except FieldDecryptError as exc:
                            failures.append({"table": table, "row": row_id, "column": column, "reason": exc.reason})
        failures += [{"table": r["table"], "row": r["row"], "column": "(seal)", "reason": r["reason"]}
                     for r in seals.rows]
        return CheckReport(checked=checked, failures=failures, integrity=integrity_text, seals=seals)

    def verify_audit(self) -> integrity.Findings:
        """The audit chain and the store state (``aptui audit log --verify``)."""
        with self._lock:
            return integrity.verify_state(self.conn, self.sealer)

    def reseal(self) -> integrity.Findings:
        """Accept the store's current contents: re-seal every row and re-chain the audit log under the
        data key. Returns what the check found before (for the audit entry)."""
        with self.transaction() as conn:
            before = integrity.verify_state(conn, self.sealer)
            integrity.uninstall(conn)
            try:
                integrity.reseal_all(conn, self.sealer)
            finally:
                integrity.install(conn, self.sealer, self._seal_failures)
        self._state_ok_at = None
        return before

    def rekey(self, *, passphrase: str | None = None, rotate_data_key: bool = False) -> str:
        """Re-wrap the data key under a new KEK (new key file, or a passphrase).

        With ``rotate_data_key``, also draw a new data key and, in the same transaction, re-encrypt
        every encrypted field, re-seal every row and re-chain the audit log under it; then VACUUM,
        so no page of the file still holds a ciphertext under the old key. Only this makes an old
        key file (or passphrase) and an old copy of the database useless against the current rows.
        """
        if self.paths is None:
            raise store_error("STORE_ERROR", "store opened without paths cannot be re-keyed")
        old_cipher, old_sealer = self.cipher, self.sealer
        data_key = crypto.new_data_key() if rotate_data_key else self._data_key()
        key_file = self.paths.key_file
        pending = key_file.with_name(key_file.name + ".new")
        if passphrase:
            kek = crypto.derive_passphrase_kek(passphrase, crypto.new_passphrase_params())
        else:
            pending.unlink(missing_ok=True)
            kek = crypto.write_key_file(pending)
        try:
            with self.transaction() as conn:
                if rotate_data_key:
                    self._rotate_fields(conn, old_cipher, old_sealer, FieldCipher(data_key))
                conn.execute(
                    "UPDATE keyring SET kek_kind=?, kdf=?, kek_fingerprint=?, wrapped_key=?, rekeyed=? WHERE id=1",
                    (kek.kind, json.dumps(kek.kdf), kek.fingerprint, crypto.wrap_data_key(kek, data_key),
                     utc_now_iso()),
                )
                if rotate_data_key:
                    new_sealer = integrity.Sealer(data_key)
                    integrity.reseal_all(conn, new_sealer)
        except BaseException:
            if rotate_data_key:
                self.cipher, self.sealer = old_cipher, old_sealer
                with contextlib.suppress(sqlite3.Error):
                    self._install_seals()
            if not passphrase:
                pending.unlink(missing_ok=True)
            raise
        if passphrase:
            key_file.unlink(missing_ok=True)
        else:
            os.replace(pending, key_file)
        self.kek_kind = kek.kind
        if rotate_data_key:
            self.cipher, self.sealer, self._state_ok_at = FieldCipher(data_key), integrity.Sealer(data_key), None
            self._install_seals()
            with contextlib.suppress(sqlite3.Error):  # old ciphertexts out of free pages and the WAL
                self.conn.execute("VACUUM")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return kek.kind

    def _rotate_fields(self, conn: sqlite3.Connection, old: FieldCipher, old_sealer: integrity.Sealer,
                       new: FieldCipher) -> None:
        """Re-encrypt every encrypted field from ``old`` to ``new`` (triggers off; resealed after)."""
        findings = integrity.verify_state(conn, old_sealer)
        if not findings.ok:
            raise store_error("STORE_TAMPERED", f"store {self.path} failed its seal check; the data key was not "
                              "rotated", hint="run `aptui store check`; `aptui store reseal` accepts the current "
                              "contents once you have checked them")
        integrity.uninstall(conn)
        for table, columns in ENCRYPTED_COLUMNS.items():
            for column in columns:
                rows = conn.execute(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
                for row_id, blob in rows:
                    try:
                        plain = old.decrypt_bytes(table, row_id, column, blob)
                    except FieldDecryptError as exc:
                        raise store_error("STORE_FIELD_TAMPERED", f"{exc}; the data key was not rotated",
                                          hint="run `aptui store check`") from None
                    conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                                 (new.encrypt(table, row_id, column, plain), row_id))

    def _data_key(self) -> bytes:
        return self.cipher.data_key


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    out, buf = [], []
    for line in sql.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if "".join(buf).strip():
        out.append("\n".join(buf))
    return out
