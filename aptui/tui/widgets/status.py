"""The status line under a pane: a spinner and the running job, or the last outcome."""

from __future__ import annotations

import time

from textual.timer import Timer

from aptui.tui.widgets.safe import SafeStatic

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class JobStatus(SafeStatic):
    """``start(label)`` shows a spinner until ``stop(text)``; idle it shows plain text: the last
    failure until the next job succeeds, then the pane's resting hint again."""

    DEFAULT_CSS = """
    JobStatus { dock: bottom; height: 1; padding: 0 1; color: $text-muted; }
    JobStatus.-busy { color: $accent; text-style: bold; }
    """

    def __init__(self, text: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(text, id=id, classes=classes, markup=False)
        self._idle_text = text
        self._resting = text
        self._label = ""
        self._frame = 0
        self._timer: Timer | None = None
        self.busy = False
        self._started = 0.0

    def start(self, label: str) -> None:
        if not self.busy:  # a new wait (a running job's progress keeps its start)
            self._started = time.monotonic()
        self.busy = True
        self._label = label
        self._frame = 0
        self.add_class("-busy")
        self._tick()
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._tick)

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(FRAMES)
        waited = time.monotonic() - self._started
        since = f" {waited:.0f}s" if waited >= 2 else ""  # a long wait visibly moves on
        self.update(f"{FRAMES[self._frame]} {self._label}…{since}  (esc cancels)")

    def stop(self, text: str | None = None) -> None:
        self.busy = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.remove_class("-busy")
        self._idle_text = text if text is not None else self._resting  # a success ends an old failure
        self.update(self._idle_text)

    def set_text(self, text: str) -> None:
        """Show ``text`` now and rest on it."""
        self._idle_text = self._resting = text
        if not self.busy:
            self.update(text)

    def set_resting(self, text: str) -> None:
        """Change the resting hint; a failure on screen stays until the next job."""
        showing = self._idle_text == self._resting
        self._resting = text
        if showing:
            self.set_text(text)
