"""Crash reports that never show a secret.

An unexpected exception (a bug) is reported in one line naming its type only: its message, its
traceback's locals or a repr could hold a value. With ``APTUI_DEBUG=1`` a traceback is printed
as well, for debugging: frames and messages, never locals, with every value of a live ``Secret``
(the traceback keeps alive each one its frames held) and every string a frame held under a
secret-looking name or dict key scrubbed out with ``redact()``. Exception messages must still
never hold a secret: a value that was never wrapped or named as one cannot be recognised.

``install()`` (called by the entry point) routes ``sys.excepthook`` and ``threading.excepthook``
here and turns core dumps off (``RLIMIT_CORE`` = 0; a core file is the process memory, decrypted
credentials included) unless ``APTUI_DEBUG=1``.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from types import TracebackType
from typing import Any

HINT = "rerun with APTUI_DEBUG=1 for details"
_SECRET_NAME = re.compile(r"secret|token|passw|api_?key|apikey|access_?key|credential|role_?id|private", re.I)


def debug_enabled() -> bool:
    return os.environ.get("APTUI_DEBUG") == "1"


def one_line(exc: BaseException) -> str:
    """The message of the INTERNAL error shown for an unexpected exception: its type only."""
    return f"unexpected {type(exc).__name__}; {HINT}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
        todo += list(getattr(e, "exceptions", ()) or ())
    return seen


def _collect(value: Any, out: set[str], depth: int = 0) -> None:
    from aptui.masking import Secret

    if isinstance(value, Secret):
        out.add(value.reveal())
    elif depth < 2 and isinstance(value, dict):
        for key, item in list(value.items()):
            if isinstance(item, str) and isinstance(key, str) and _SECRET_NAME.search(key):
                out.add(item)
            else:
                _collect(item, out, depth + 1)
    elif depth < 2 and isinstance(value, list | tuple | set | frozenset):
        for item in list(value)[:200]:
            _collect(item, out, depth + 1)


def frame_secrets(exc: BaseException) -> set[str]:
    """Values the frames of ``exc`` (and of its causes) held as secrets."""
    found: set[str] = set()
    for e in _chain(exc):
        tb: TracebackType | None = e.__traceback__
        while tb is not None:
            for name, value in list(tb.tb_frame.f_locals.items()):
                if isinstance(value, str) and _SECRET_NAME.search(name):
                    found.add(value)
                else:
                    _collect(value, found)
            tb = tb.tb_next
    return found


def traceback_text(exc: BaseException) -> str:
    """The debug traceback: no locals; secrets known to this process scrubbed out."""
    import traceback

    from aptui.masking import live_values, redact

    text = "".join(traceback.format_exception(exc))
    return redact(text, frame_secrets(exc) | set(live_values()))


def report(exc: BaseException) -> str:
    """Everything a crash may print: one line, plus the scrubbed traceback in debug mode."""
    head = f"aptui: INTERNAL: {one_line(exc)}\n"
    return (traceback_text(exc) + head) if debug_enabled() else head


def _excepthook(exc_type, exc, tb) -> None:
    if exc is None or isinstance(exc, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    sys.stderr.write(report(exc))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"aptui: in thread {name}: " + report(args.exc_value).removeprefix("aptui: "))


def disable_core_dumps() -> bool:
    """RLIMIT_CORE = 0 for this process (and its children). Returns whether it is now off."""
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
        return True
    except (ImportError, ValueError, OSError):
        return False


def install() -> None:
    """Route uncaught exceptions (main thread and threads) here; no core dumps unless debugging."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    if not debug_enabled():
        disable_core_dumps()
