"""Reading the operator's files: one clear error (exit 2) for missing, unreadable or binary input."""

from __future__ import annotations

from pathlib import Path

from aptui.errors import AptuiError, Exit

MAX_BYTES = 5 * 1024 * 1024


def bad_input(code: str, message: str, hint: str | None = None) -> AptuiError:
    return AptuiError(code, message, exit_code=Exit.USAGE, hint=hint)


def read_bytes(path: Path, label: str, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, or an exit-2 error naming the problem (never its content)."""
    try:
        if not path.exists():
            raise bad_input("FILE_NOT_FOUND", f"{label} {path} does not exist")
        if path.is_dir():
            raise bad_input("FILE_INVALID", f"{label} {path} is a directory, not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise bad_input("FILE_INVALID", f"{label} {path} is too large ({size} bytes; limit {max_bytes})")
        return path.read_bytes()
    except PermissionError:
        raise bad_input("FILE_UNREADABLE", f"{label} {path} cannot be read (permission denied)",
                        hint="run aptui as a user that can read it, e.g. the deployment's owner") from None
    except OSError as exc:
        raise bad_input("FILE_UNREADABLE", f"{label} {path} cannot be read ({exc.strerror or 'I/O error'})") from None


def decode_text(data: bytes, path: Path, label: str) -> str:
    if b"\x00" in data:
        raise bad_input("FILE_NOT_TEXT", f"{label} {path} is a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_input("FILE_NOT_TEXT", f"{label} {path} is not UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, label: str) -> str:
    """UTF-8 text with normalised newlines; exit 2 for missing, unreadable, binary or huge files."""
    return decode_text(read_bytes(path, label), path, label)
