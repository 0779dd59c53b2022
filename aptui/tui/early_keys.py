"""Keys typed while a modal opens are the modal's, not lost.

Textual hands each key to the focused widget first and runs bindings when it bubbles back up to
the app. In a burst (``h`` then ``ctrl+u /srv/ap`` in one read over SSH) the keys after ``h`` are
already queued at the pane's table when ``h`` opens a form: they then bubble up under the form's
bindings but never reach its input, so the text is lost. The app notes which screen was active when
a key was handed out; a key that comes back after the screen changed is taken off its old path and
held, with every key typed after it, until the new screen has focused its field
(``release_keys``, or a timer), then delivered in the order typed.
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

RELEASE_AFTER = 1.0  # seconds: a modal that never calls release_keys does not swallow keys


class KeysReleased(Message):
    """Posted by a modal once it has focused its field: deliver the held keys now."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.screen = screen


def release_keys(app: App) -> None:
    app.post_message(KeysReleased(app.screen))


def redirect_if_stale(widget: Widget, event: events.Key) -> bool:
    """A key handed to ``widget`` while it had the focus, reaching it after the focus moved on (a
    tab earlier in the same burst) or after a modal opened: send it where typing goes now."""
    app = widget.app
    copy = events.Key(event.key, event.character)
    if widget.screen is not app.screen and isinstance(app, HoldsEarlyKeys):
        app._hold(copy)
    elif app.focused is not None and app.focused is not widget and widget.screen is app.screen:
        app.focused._forward_event(copy)
    else:
        return False
    event.stop()
    event.prevent_default()
    return True


class HoldsEarlyKeys:
    """Mixin for the App. Screens with ``HOLDS_EARLY_KEYS = True`` call :func:`release_keys` at the
    end of their ``on_mount``; closing one holds keys too, until the screen its answer opens (a
    provider choice opens a form) is ready, or until the next refresh when it opens none."""

    _held_keys: list[events.Key] | None = None
    _waiting_for: Screen | None = None

    def push_screen(self, screen, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(screen, Screen) and getattr(screen, "HOLDS_EARLY_KEYS", False):
            self._start_hold()
            self._waiting_for = screen
        return super().push_screen(screen, *args, **kwargs)  # type: ignore[misc]

    def _start_hold(self) -> None:
        """Hold keys from now on; whatever happens, they are delivered within RELEASE_AFTER."""
        if self._held_keys is None:
            self._held_keys = []
            self.set_timer(RELEASE_AFTER, self._deliver_held_keys)  # type: ignore[attr-defined]

    def pop_screen(self):  # type: ignore[no-untyped-def]
        closing = self.screen  # type: ignore[attr-defined]
        if getattr(closing, "HOLDS_EARLY_KEYS", False):
            self._start_hold()
            if self._waiting_for is closing:
                self._waiting_for = None
            self.call_after_refresh(self._deliver_unless_waiting)  # type: ignore[attr-defined]
        return super().pop_screen()  # type: ignore[misc]

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if not event.is_forwarded:
                if self._held_keys is not None:
                    self._held_keys.append(event)
                    return
                event._aptui_screen = self.screen  # type: ignore[attr-defined]
            elif getattr(event, "_aptui_screen", None) not in (None, self.screen):
                # handed to a widget of the screen that was active then; a modal opened since
                event.stop()
                self._hold(events.Key(event.key, event.character))
                return
        await super().on_event(event)  # type: ignore[misc]

    def _hold(self, key: events.Key) -> None:
        if self._held_keys is None:
            self._start_hold()
            self.call_later(self._deliver_unless_waiting)  # type: ignore[attr-defined]
        self._held_keys.append(key)  # type: ignore[union-attr]

    async def on_keys_released(self, message: KeysReleased) -> None:
        if message.screen is self._waiting_for or self._waiting_for is None:
            await self._deliver_held_keys()

    async def _deliver_unless_waiting(self) -> None:
        if self._waiting_for is None:
            await self._deliver_held_keys()

    async def _deliver_held_keys(self) -> None:
        keys, self._held_keys, self._waiting_for = self._held_keys, None, None
        if not keys or not self.screen_stack:  # type: ignore[attr-defined]  # nothing, or shutting down
            return
        if getattr(self.screen, "REFUSES_EARLY_KEYS", False):
            return  # a question is answered by keys typed once it is on screen, never by type-ahead
        for key in keys:
            key._aptui_screen = self.screen  # type: ignore[attr-defined]
            await super().on_event(key)  # type: ignore[misc]
