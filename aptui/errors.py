"""One error type for the whole app: an Activepieces-style code, a one-line message, an exit code.

Exit codes are part of the CLI contract (README, "Exit codes"):
0 ok, 1 the checked thing failed, 2 bad input or usage, 3 store locked or damaged, 4 remote unreachable.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    STORE = 3
    UNREACHABLE = 4


class AptuiError(Exception):
    """A failure the user can act on.

    ``code`` is an Activepieces ErrorCode where one exists (``VALIDATION``,
    ``SECRET_MANAGER_GET_SECRET_FAILED`` ...) or an aptui code (``STORE_LOCKED`` ...).
    ``message`` is one line and never contains a secret value. ``params`` mirrors the
    ``params`` object of an Activepieces error body (message excluded).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        exit_code: int = Exit.FAILED,
        hint: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        # Kept exactly (upstream messages embed the user's path verbatim); one_line() escapes
        # line breaks so the rendered error is always one line.
        self.message = str(message) or code
        self.exit_code = int(exit_code)
        self.hint = hint
        self.params = dict(params or {})
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``CODE: message (hint)`` on one line. Messages quote server and file text, so every
        control character is made visible (``ESC`` → ``\\x1b``): nothing in it reaches a terminal raw."""
        from aptui.untrusted import visible

        message = visible(self.message.replace("\r", "\\r").replace("\n", "\\n"))
        text = f"{visible(self.code)}: {message}"
        return f"{text} ({visible(self.hint)})" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.params:
            data["params"] = self.params
        return data

    def __reduce__(self):  # keep pickling (multiprocessing, workers) faithful
        return (_rebuild, (self.__class__, self.code, self.message, self.exit_code, self.hint, self.params))


def _rebuild(cls, code, message, exit_code, hint, params):
    return cls(code, message, exit_code=exit_code, hint=hint, params=params)


def usage(message: str, *, hint: str | None = None, code: str = "VALIDATION") -> AptuiError:
    """Bad input or usage (exit 2)."""
    return AptuiError(code, message, exit_code=Exit.USAGE, hint=hint)


def store_error(code: str, message: str, *, hint: str | None = None) -> AptuiError:
    """The local store is locked, damaged or cannot be unlocked (exit 3)."""
    return AptuiError(code, message, exit_code=Exit.STORE, hint=hint)


def unreachable(code: str, message: str, *, hint: str | None = None, params=None) -> AptuiError:
    """A remote (provider, Activepieces) could not be reached in time (exit 4)."""
    return AptuiError(code, message, exit_code=Exit.UNREACHABLE, hint=hint, params=params)
