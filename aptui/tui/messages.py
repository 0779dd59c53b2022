"""Messages the console posts; tests assert on them with ``run_test(message_hook=...)``."""

from __future__ import annotations

from textual.message import Message


class JobFinished(Message):
    """A background job ended: ``ok``, or the error ``code`` it reported (``CANCELLED`` too)."""

    def __init__(self, label: str, ok: bool, code: str | None = None, pane_id: str | None = None) -> None:
        super().__init__()
        self.label = label
        self.ok = ok
        self.code = code
        self.pane_id = pane_id  # the pane that ran it


class ErrorReported(Message):
    """An error reached the operator (as a notification or a modal)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__()
        self.code = code
        self.message = message
