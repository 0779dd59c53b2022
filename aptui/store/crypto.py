"""Field encryption and the key hierarchy.

- A random 256-bit *data key* encrypts every secret field with AES-256-GCM, a fresh 96-bit
  nonce per write, and associated data ``aptui:v1:<table>:<row id>:<column>``: a ciphertext
  copied to another row or column fails to decrypt.
- The data key is stored *wrapped* (AES-256-GCM) by a key-encryption key (KEK) that comes
  either from a generated key file (default, 0600) or from a passphrase through Argon2id.
  Re-keying rewraps the data key only; rows are untouched. ``store rekey --rotate-data-key``
  draws a new data key and re-encrypts every field (aptui.store.db.Store.rekey).
- KDF parameters read from the (unauthenticated) header are bounded (``KDF_BOUNDS``).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aptui.errors import store_error

FIELD_VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_FILE_PREFIX = "aptui-kek-v1:"
WRAP_AAD = b"aptui:v1:data-key"
# Argon2id parameters: 64 MiB, 2 passes, 4 lanes (~110 ms on the reference 2-core machine).
DEFAULT_KDF = {"name": "argon2id", "memory_kib": 65536, "iterations": 2, "lanes": 4}


def _aesgcm(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def field_aad(table: str, row_id: str, column: str) -> bytes:
    return f"aptui:v1:{table}:{row_id}:{column}".encode()


class FieldCipher:
    """Encrypts and decrypts one field at a time, bound to (table, row id, column)."""

    __slots__ = ("_gcm", "_key")

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError("data key must be 32 bytes")
        self._key = data_key
        self._gcm = _aesgcm(data_key)

    @property
    def data_key(self) -> bytes:
        """The raw data key, for re-wrapping under a new KEK only."""
        return self._key

    def __repr__(self) -> str:
        return "FieldCipher(<data key hidden>)"

    def encrypt(self, table: str, row_id: str, column: str, plaintext: str | bytes) -> bytes:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        nonce = os.urandom(NONCE_BYTES)
        return FIELD_VERSION + nonce + self._gcm.encrypt(nonce, data, field_aad(table, row_id, column))

    def decrypt_bytes(self, table: str, row_id: str, column: str, blob: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        if not isinstance(blob, bytes | bytearray | memoryview) or len(blob) < 1 + NONCE_BYTES + 16:
            raise FieldDecryptError(table, row_id, column, "not an aptui ciphertext")
        blob = bytes(blob)
        if blob[:1] != FIELD_VERSION:
            raise FieldDecryptError(table, row_id, column, "unknown ciphertext version")
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._gcm.decrypt(nonce, body, field_aad(table, row_id, column))
        except InvalidTag:
            reason = "authentication failed (tampered, moved or wrong key)"
            raise FieldDecryptError(table, row_id, column, reason) from None

    def decrypt(self, table: str, row_id: str, column: str, blob: bytes) -> str:
        return self.decrypt_bytes(table, row_id, column, blob).decode("utf-8")


class FieldDecryptError(Exception):
    """One encrypted field failed to decrypt; names the field, never its content."""

    def __init__(self, table: str, row_id: str, column: str, reason: str) -> None:
        self.table, self.row_id, self.column, self.reason = table, row_id, column, reason
        super().__init__(f"{table}.{column} of row {row_id}: {reason}")


# --- key-encryption keys ---------------------------------------------------------------


@dataclass(frozen=True)
class Kek:
    """A key-encryption key and how it was obtained (never printed)."""

    key: bytes
    kind: str  # "keyfile" | "passphrase"
    kdf: dict[str, Any]

    def __repr__(self) -> str:
        return f"Kek(kind={self.kind!r})"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.key, b"aptui:v1:kek-fingerprint", hashlib.sha256).hexdigest()[:16]


def wrap_data_key(kek: Kek, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FIELD_VERSION + nonce + _aesgcm(kek.key).encrypt(nonce, data_key, WRAP_AAD)


def unwrap_data_key(kek: Kek, wrapped: bytes) -> bytes | None:
    """The data key, or None if this KEK does not open it."""
    from cryptography.exceptions import InvalidTag

    wrapped = bytes(wrapped)
    if wrapped[:1] != FIELD_VERSION or len(wrapped) < 1 + NONCE_BYTES + 16:
        return None
    try:
        return _aesgcm(kek.key).decrypt(wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :], WRAP_AAD)
    except InvalidTag:
        return None


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def os_error(exc: OSError, subject: str) -> Exception:
    """A file-system failure while writing ``subject`` as a one-line store error (exit 3)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return store_error("STORE_DISK_FULL", f"no space left to write {subject}; nothing was written",
                           hint="free disk space, then retry")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return store_error("STORE_READ_ONLY", f"cannot write {subject} ({exc.strerror or 'read-only'})",
                           hint="check the mode of the file and its directory")
    return store_error("STORE_ERROR", f"cannot write {subject} ({exc.strerror or type(exc).__name__})")


def write_key_file(path: Path, key: bytes | None = None) -> Kek:
    """Create a key file (0600) atomically; refuses to overwrite an existing one.

    A failed write (full disk, read-only directory) leaves no file behind and raises a store error.
    """
    key = key or secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp.unlink(missing_ok=True)  # a leftover of a crashed run with this pid
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            data = (KEY_FILE_PREFIX + base64.urlsafe_b64encode(key).decode() + "\n").encode()
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)  # fails if path exists: never clobber a key
    except FileExistsError:
        raise store_error("STORE_KEY_EXISTS", f"key file {path} already exists; not overwriting it") from None
    except OSError as exc:
        raise os_error(exc, f"key file {path}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return Kek(key=key, kind="keyfile", kdf={"name": "keyfile"})


def read_key_file(path: Path) -> Kek:
    try:
        text = path.read_text("utf-8").strip()
    except FileNotFoundError:
        raise store_error(
            "STORE_KEY_MISSING",
            f"key file {path} is missing",
            hint="restore it from your backup; aptui never creates a new key for an existing store",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise store_error("STORE_KEY_UNREADABLE", f"key file {path} cannot be read ({reason})",
                          hint="check its owner and mode (0600)") from None
    if not text.startswith(KEY_FILE_PREFIX):
        raise store_error("STORE_KEY_INVALID", f"key file {path} is not an aptui key file",
                          hint="restore the original key file from your backup")
    try:
        key = base64.urlsafe_b64decode(text[len(KEY_FILE_PREFIX) :].encode())
    except (ValueError, TypeError):
        key = b""
    if len(key) != KEY_BYTES:
        raise store_error("STORE_KEY_INVALID", f"key file {path} is damaged (bad key length)",
                          hint="restore the original key file from your backup")
    return Kek(key=key, kind="keyfile", kdf={"name": "keyfile"})


def new_passphrase_params() -> dict[str, Any]:
    return {**DEFAULT_KDF, "salt": base64.b64encode(secrets.token_bytes(16)).decode()}


# What a store header may ask of the KDF. The file is not authenticated before the KEK is derived:
# without bounds, an edited header makes every unlock allocate gigabytes or spin for hours.
KDF_BOUNDS: dict[str, dict[str, tuple[int, int]]] = {
    "argon2id": {"memory_kib": (8 * 1024, 1024 * 1024), "iterations": (1, 16), "lanes": (1, 16)},
    "scrypt": {"n": (2 ** 14, 2 ** 20), "r": (1, 16), "p": (1, 16)},
}
SALT_BYTES = (16, 64)


def _kdf_params(params: Any) -> tuple[str, bytes, dict[str, int]]:
    """``(name, salt, integer parameters)`` from a store header, refused when out of bounds."""
    def bad(what: str) -> Exception:
        return store_error("STORE_KDF_INVALID", f"the store header's key-derivation parameters are invalid ({what})",
                           hint="the header was edited or damaged; restore the store from a backup")

    name = params.get("name") if isinstance(params, dict) else None
    if name not in KDF_BOUNDS:
        raise store_error("STORE_KDF_UNKNOWN", f"unknown key derivation {name!r} in the store header",
                          hint="this store was written by a newer aptui; upgrade aptui")
    try:
        salt = base64.b64decode(str(params["salt"]), validate=True)
    except (KeyError, ValueError):
        raise bad("salt") from None
    if not SALT_BYTES[0] <= len(salt) <= SALT_BYTES[1]:
        raise bad("salt length")
    values: dict[str, int] = {}
    for key, (low, high) in KDF_BOUNDS[name].items():
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise bad(f"{key} must be an integer from {low} to {high}")
        values[key] = value
    if name == "scrypt" and values["n"] & (values["n"] - 1):
        raise bad("n must be a power of two")
    return name, salt, values


def derive_passphrase_kek(passphrase: str, params: dict[str, Any]) -> Kek:
    name, salt, v = _kdf_params(params)
    if not passphrase:
        from aptui.errors import usage

        raise usage("empty passphrase", code="STORE_PASSPHRASE_REQUIRED")
    if name == "argon2id":
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        kdf = Argon2id(salt=salt, length=KEY_BYTES, iterations=v["iterations"], lanes=v["lanes"],
                       memory_cost=v["memory_kib"])
    else:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=v["n"], r=v["r"], p=v["p"])
    return Kek(key=kdf.derive(passphrase.encode("utf-8")), kind="passphrase", kdf=dict(params))
