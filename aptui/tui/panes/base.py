"""The base of every pane: title, number key, bindings (with ids), jobs, read-only guard.

A pane is a thin view over ``aptui.services``: it starts service calls with :meth:`Pane.run_job`
(off the UI loop, with a timeout, a spinner in its :class:`JobStatus` line, errors as
notifications carrying the Activepieces-style code) and renders the results.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.binding import Binding
from textual.containers import Vertical
from textual.worker import Worker

from aptui.errors import usage
from aptui.tui.jobs import describe
from aptui.tui.messages import JobFinished
from aptui.tui.widgets.status import JobStatus

if TYPE_CHECKING:
    from aptui.services.context import Context


def mutating(func: Callable) -> Callable:
    """Mark an action that changes something: hidden and refused in read-only mode."""

    @functools.wraps(func)
    def wrapper(self: Pane, *args: Any, **kwargs: Any) -> Any:
        if self.ctx.settings.read_only:
            self.app.report_error(  # type: ignore[attr-defined]
                usage(f"{self.NOUN}: {func.__name__.removeprefix('action_').replace('_', ' ')} "
                      "is disabled in read-only mode", code="READ_ONLY"))
            return None
        return func(self, *args, **kwargs)

    wrapper.aptui_mutating = True  # type: ignore[attr-defined]
    return wrapper


class Pane(Vertical):
    """A tab's content. Subclasses set ``PANE_ID``, ``TITLE``, ``NOUN``, ``NUMBER`` and ``BINDINGS``.

    Binding ids are ``<pane id>.<verb>`` (``pane.*`` for the keys every pane shares) so a
    ``[keymap]`` table in config.toml can rebind them. ``PALETTE`` adds palette-only actions.
    """

    PANE_ID: ClassVar[str] = "pane"
    TITLE: ClassVar[str] = "Pane"
    TAB: ClassVar[str] = ""  # shorter tab label when TITLE is long (7 tabs fit in 80 columns)
    NOUN: ClassVar[str] = "pane"
    NUMBER: ClassVar[str] = "0"
    HELP: ClassVar[str] = ""
    # (verb shown in the palette, action string, help) for actions without a key of their own.
    PALETTE: ClassVar[list[tuple[str, str, str]]] = []

    BINDINGS = [
        Binding("escape", "back", "Back", show=False, id="pane.back"),
    ]

    @property
    def ctx(self) -> Context:
        return self.app.ctx  # type: ignore[attr-defined]

    # -- focus and navigation -----------------------------------------------------------
    def on_show(self) -> None:
        self.focus_main()

    def focus_main(self) -> None:
        """Put the focus on the pane's main widget (a table, an input)."""

    def action_refresh(self) -> None:
        """Reload the pane's data (bound to ``r`` where the pane has data)."""

    def action_back(self) -> None:
        """esc: cancel a running job first, then whatever the pane stacks (filter, sub-view)."""
        if self.cancel_jobs():
            return
        self.back()

    def back(self) -> None:
        """Pane-specific esc behaviour after jobs (override)."""
        self.focus_main()

    # -- read-only ----------------------------------------------------------------------
    @classmethod
    def is_mutating(cls, action: str) -> bool:
        name = action.split("(", 1)[0]
        return bool(getattr(getattr(cls, f"action_{name}", None), "aptui_mutating", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.is_mutating(action) and self.ctx.settings.read_only)

    def live_bindings(self) -> list[tuple[str, Binding]]:
        """(key, binding) of this pane with the config's keymap applied."""
        bindings = self._bindings.copy()
        keymap = getattr(self.app, "_keymap", None)
        if keymap:
            bindings.apply_keymap(keymap)
        return [(key, b) for key, group in bindings.key_to_bindings.items() for b in group]

    def key_hints(self, *pairs: tuple[str, str]) -> str:
        """``"n new · c continue"`` from (action, word) pairs, with the keys bound now; actions
        disabled in read-only mode are left out, so a status line never names a dead key."""
        from aptui.tui.keys import key_label

        keys: dict[str, str] = {}
        for key, b in self.live_bindings():
            keys.setdefault(b.action, key_label(key))
        out = []
        for action, word in pairs:
            if action in keys and not (self.is_mutating(action) and self.ctx.settings.read_only):
                out.append(f"{keys[action]} {word}")
        return " · ".join(out)

    def on_key(self, event: events.Key) -> None:
        """Read-only: a key bound to a change says so in one line instead of doing nothing."""
        if not self.ctx.settings.read_only:
            return
        from aptui.tui.keys import key_label

        for key, b in self.live_bindings():
            if key == event.key and self.is_mutating(b.action):
                event.stop()
                event.prevent_default()
                self.app.report_error(usage(  # type: ignore[attr-defined]
                    f"{key_label(key)} ({b.description.lower()}) is disabled: the console is read-only",
                    code="READ_ONLY", hint="start aptui without --read-only to change things"))
                return

    def palette_allows(self, action: str) -> bool:
        """Whether the palette offers ``action`` (read-only hides mutations; views do not matter)."""
        return not (self.is_mutating(action) and self.ctx.settings.read_only)

    def before_palette_action(self, action: str) -> None:
        """Called before the palette runs ``action`` (e.g. switch to the view it belongs to)."""

    # -- jobs ---------------------------------------------------------------------------
    @property
    def status(self) -> JobStatus | None:
        found = self.query(JobStatus)
        return found.first() if found else None

    def job_timeout(self) -> float:
        s = self.ctx.settings
        return float(s.timeout) * (max(0, int(s.retries)) + 1) + 1.0

    def run_job(self, label: str, fn: Callable[..., Any], *args: Any,
                on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[Exception], bool | None] | None = None,
                timeout: float | None = None, group: str | None = None, quiet: bool = False,
                exclusive: bool = False, cancellable: bool = True, **kwargs: Any) -> Worker:
        """Run ``fn(*args, **kwargs)`` (sync, or returning a coroutine) off the UI loop.

        ``on_done(result)`` runs on the UI loop. Errors go to ``on_error`` first (return True to
        mark them handled), then to the app's one error path. ``exclusive`` replaces a running job
        of the same group (for loads: the newest wins). Jobs that change something pass
        ``cancellable=False``: esc never abandons a write half-way.
        """
        limit = timeout if timeout is not None else self.job_timeout()

        async def job() -> None:
            status = self.status
            if status is not None and not quiet:
                status.start(label)
            ok, code = False, None
            try:
                result = await self.app.runner.call(fn, *args, timeout=limit, label=label, **kwargs)  # type: ignore[attr-defined]
            except asyncio.CancelledError:
                code = "CANCELLED"
                if status is not None and not quiet:
                    status.stop(f"{label}: cancelled")
                self.post_message(JobFinished(label, False, code, self.PANE_ID))
                raise
            except Exception as exc:  # every failure goes to one place, never as a traceback
                err = describe(exc)
                code = err.code
                if status is not None and not quiet:
                    status.stop(f"{label}: failed ({err.code})")
                if not (on_error and on_error(err)):
                    self.app.report_error(err, title=label)  # type: ignore[attr-defined]
            else:
                ok = True
                if status is not None and not quiet:
                    status.stop()
                if on_done is not None:
                    on_done(result)
            self.post_message(JobFinished(label, ok, code, self.PANE_ID))

        return self.run_worker(job(), name="cancellable" if cancellable else "pinned",
                               group=group or self.PANE_ID, exclusive=exclusive, exit_on_error=False,
                               description=label)

    def cancel_jobs(self) -> bool:
        """Cancel this pane's running cancellable jobs (reads); True if there was one."""
        running = [w for w in self.workers if w.is_running and w.node is self and w.name == "cancellable"]
        for w in running:
            w.cancel()
        return bool(running)

    @property
    def busy(self) -> bool:
        return any(w.is_running and w.node is self for w in self.workers)

    # -- helpers ------------------------------------------------------------------------
    def note_incident(self, step: str, action: str, outcome: str, detail: str, **match: str | None) -> None:
        """Put an action on the timeline of an open incident about the same credential (quietly)."""
        from aptui.services import incident

        self.run_job("noting the incident", incident.note_elsewhere, self.ctx, step=step, action=action,
                     outcome=outcome, detail=detail, quiet=True, cancellable=False, group="incident-note", **match)

    def open_form(self, title: str, fields: list[Any], then: Callable[[dict[str, str], Callable], None], *,
                  about: str = "", error: str = "", keep_secrets: bool = True) -> None:
        """Open a form; ``then(values, failed)`` starts the work and passes ``failed`` as its job's
        ``on_error``: a failed save (bad date, wrong password, missing file, timeout) reopens the same
        form holding everything typed, with the error in it, so nothing typed is lost (secret fields
        too, unless ``keep_secrets`` is False: a refused password is typed again)."""
        from aptui.tui.screens.form import FormScreen, refilled

        def submitted(values: dict[str, str] | None) -> None:
            if values is None:
                return
            typed = dict(values)  # kept only until the work ends: a failure reopens the form with it

            def failed(err: Exception) -> bool:
                e = describe(err)
                again = refilled(fields, typed, secrets=keep_secrets)
                typed.clear()
                self.open_form(title, again, then, about=about, error=f"{e.code}: {e.message}",
                               keep_secrets=keep_secrets)
                return False  # and the error's one line, as everywhere

            then(values, failed)

        self.app.push_screen(FormScreen(title, fields, about=about, error=error), submitted)

    def confirm(self, title: str, target: str, body: str, then: Callable[[], None], *,
                action_label: str = "Delete", typed_name: str | None = None) -> None:
        from aptui.tui.screens.confirm import ConfirmModal

        def done(ok: bool | None) -> None:
            if ok:
                then()
            else:
                self.notify("cancelled; nothing was changed", markup=False)

        self.app.push_screen(ConfirmModal(title, target, body, action_label=action_label,
                                          typed_name=typed_name), done)
