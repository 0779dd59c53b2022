"""A secret value on screen: masked by default, revealed on ``v`` for a while, copied on ``y``."""

from __future__ import annotations

from textual.binding import Binding
from textual.reactive import reactive
from textual.timer import Timer

from aptui.masking import Secret
from aptui.tui.widgets.safe import SafeStatic


class RevealableSecret(SafeStatic, can_focus=True):
    """Shows ``mask(value)``; ``v`` reveals for ``reveal_seconds`` then re-masks; ``y`` copies.

    The app's screenshot key calls :meth:`remask` on every instance before it saves anything.
    """

    DEFAULT_CSS = """
    RevealableSecret { height: auto; padding: 0 1; border: round $border-blurred; }
    RevealableSecret:focus { border: round $border; }
    RevealableSecret.-revealed { color: $warning; }
    """
    BINDINGS = [
        Binding("v", "reveal", "Reveal", id="secret.reveal"),
        Binding("y", "copy", "Copy", id="secret.copy"),
    ]

    revealed = reactive(False)

    def __init__(self, value: Secret | None = None, *, label: str = "value", reveal_seconds: float = 15.0,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self._secret = value
        self.label = label
        self.reveal_seconds = reveal_seconds
        self.keys_after = ""  # e.g. "esc, then ": while an input has the focus, v and y type into it
        self._timer: Timer | None = None

    @property
    def secret(self) -> Secret | None:
        return self._secret

    def set_secret(self, value: Secret | None) -> None:
        self._secret = value
        self.remask()
        self._render_value()

    def on_mount(self) -> None:
        self._render_value()

    def _render_value(self) -> None:
        if self._secret is None:
            text = f"{self.label}: —"
        elif self.revealed:
            text = f"{self.label}: {self._secret.reveal()}   (revealed; re-masks in {self.reveal_seconds:g}s)"
        else:
            keys = "y copy" if self._read_only() else "v reveal · y copy"
            text = f"{self.label}: {self._secret.masked()}   {self.keys_after}{keys}"
        self.update(text)

    def set_keys_after(self, text: str) -> None:
        if text != self.keys_after:
            self.keys_after = text
            self._render_value()

    def watch_revealed(self, value: bool) -> None:
        self.set_class(value, "-revealed")
        self._render_value()

    def _read_only(self) -> bool:
        ctx = getattr(self.app, "ctx", None)
        return bool(ctx is not None and ctx.settings.read_only)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "reveal" and self._read_only())  # read-only is for an audience

    def on_key(self, event) -> None:
        if event.key == "v" and self._read_only():
            event.stop()
            self.notify("reveal is off: the console is read-only (meant for an audience)", severity="warning",
                        markup=False)

    def action_reveal(self) -> None:
        if self._read_only():
            self.notify("reveal is off: the console is read-only (meant for an audience)", severity="warning",
                        markup=False)
            return
        if self._secret is None:
            return
        if self.revealed:
            self.remask()
            return
        remember = getattr(self.app, "remember_secret", None)
        if remember:
            remember(self._secret.reveal())
        self.revealed = True
        audit = getattr(self.app, "audit_event", None)
        if audit:
            audit("secret.reveal", self.label, "ok")
        self._timer = self.set_timer(self.reveal_seconds, self.remask)

    def remask(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.revealed:
            self.revealed = False

    def action_copy(self) -> None:
        if self._secret is None:
            return
        copy = getattr(self.app, "copy_text", None)
        if copy:
            copy(self._secret.reveal(), what=self.label)
        else:
            self.app.copy_to_clipboard(self._secret.reveal())
