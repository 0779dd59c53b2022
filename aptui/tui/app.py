"""The aptui console: header, one tab per pane (number keys), footer with the pane's keys.

Start-up paints first and works after: the first frame holds the header, the pane bar, a
"loading…" line in the first pane and the footer. Then a worker opens the store (building the
services context, when given a factory), imports the panes, mounts the visible pane (its data
loads in its own worker), shows the welcome screen on an empty store and mounts the other panes
one by one; a pane shown before its turn is mounted at once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from aptui import __version__, timing
from aptui.errors import AptuiError
from aptui.masking import redact
from aptui.tui.clipboard import passthrough
from aptui.tui.early_keys import HoldsEarlyKeys
from aptui.tui.hints import for_console
from aptui.tui.jobs import ServiceRunner, describe
from aptui.tui.messages import ErrorReported, JobFinished
from aptui.tui.tabs import TABS
from aptui.tui.theme import HIGH_CONTRAST, THEMES
from aptui.tui.widgets.footer import FittingFooter
from aptui.tui.widgets.pane_bar import PaneBar
from aptui.untrusted import visible

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from aptui.config import Paths, Settings
    from aptui.services.context import Context
    from aptui.tui.panes.base import Pane

STARTUP_TIMEOUT = 60.0  # opening the store: a locked one fails on its own after a few seconds
LOADING = "loading…"
FOOTER_WAIT = 0.5  # seconds the start-up work waits, at most, for the footer to show its keys


def _palette_provider():
    from aptui.tui.commands import AptuiCommands

    return AptuiCommands


class AptuiApp(HoldsEarlyKeys, App[int]):
    """Keyboard-first; every pane is reachable with its number key; nothing needs a mouse.

    ``ctx`` is the services Context, or a function building one: then ``paths`` and ``settings``
    (what the first frame needs) come separately and the Context is built after the first frame.
    """

    TITLE = "aptui"
    CSS_PATH = Path(__file__).parent / "aptui.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_palette_provider}
    NOTIFICATION_TIMEOUT = 6
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", id="app.palette"),
        Binding("f12", "screenshot", "Screenshot", show=False, id="app.screenshot"),
    ]

    def __init__(self, ctx: Context | Callable[[], Context], *, paths: Paths | None = None,
                 settings: Settings | None = None, high_contrast: bool = False, show_first_run: bool = True,
                 screenshot_dir: Path | None = None) -> None:
        super().__init__()
        if callable(ctx):
            if paths is None or settings is None:
                raise TypeError("a Context factory needs paths and settings")
            self._make_ctx: Callable[[], Context] | None = ctx
            self._ctx: Context | None = None
            self.paths, self.settings = paths, settings
        else:
            self._make_ctx, self._ctx = None, ctx
            self.paths, self.settings = ctx.paths, ctx.settings
        self.high_contrast = high_contrast
        self.show_first_run = show_first_run
        self.screenshot_dir = screenshot_dir
        self.animation_level = "none"
        self._secrets: set[str] = set()
        self.runner = ServiceRunner()
        self.errors: list[AptuiError] = []  # every error shown, for tests and the log
        self.notices: list[tuple[str, str]] = []  # every notification shown: (title, message)
        self.startup_error: AptuiError | None = None  # the store could not be opened: the app exits
        self.profile_name: str | None = None  # the platform profile chosen in pane 4 (None: default)
        self._pane_types: dict[str, type[Pane]] = {}
        self._mounting: dict[str, asyncio.Future[Pane]] = {}
        self._types_ready = asyncio.Event()  # set once the pane classes are imported
        self._active = TABS[0].pane_id
        self._slots: dict[str, Vertical] = {}
        self._slot_mounts: dict[str, AwaitMount] = {}
        self.sub_title_refresh()
        for tab in TABS:
            self._bindings.bind(tab.number, f"show_pane('{tab.pane_id}')", tab.title, show=False)

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            raise AptuiError("STORE_NOT_READY", "the store is still being opened", exit_code=3)
        return self._ctx

    def close_context(self) -> None:
        """Close the Context (its store), if one was built or given; after the app has run."""
        if self._ctx is not None:
            self._ctx.close()

    @property
    def pane_classes(self) -> list[type[Pane]]:
        from aptui.tui.panes import PANES

        return sorted(PANES, key=lambda p: p.NUMBER)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # references kept: App.query_one searches the screen on top, which may be a modal
        yield Header(show_clock=False, icon="≡")
        self._bar = PaneBar(TABS, self._active, id="pane-bar")
        yield self._bar
        with Vertical(id="panes") as self._panes_box:
            yield self._slot(self._active)  # the other tabs' slots are made when first needed
        self._footer = FittingFooter()
        yield self._footer

    def _slot(self, pane_id: str) -> Vertical:
        """The container a pane is mounted in, made (holding "loading…") the first time it is needed."""
        slot = self._slots.get(pane_id)
        if slot is None:
            slot = Vertical(Static(LOADING, classes="pane-loading hint", markup=False), id=f"tab-{pane_id}",
                            classes="pane-slot")
            slot.display = pane_id == self._active
            self._slots[pane_id] = slot
            if self._panes_box.is_attached:  # not while composing
                self._slot_mounts[pane_id] = self._panes_box.mount(slot)
        return slot

    def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = HIGH_CONTRAST.name if self.high_contrast else (self.settings.theme or "textual-dark")

    def on_ready(self) -> None:
        """The first frame is on the screen; the footer fills in its keys a frame or two later."""
        timing.mark("frame")
        self.run_worker(self._start(), name="startup", group="startup", exit_on_error=True)

    async def _footer_drawn(self) -> None:
        """Until the footer's keys are laid out and painted (then nothing competes with them)."""
        deadline = time.monotonic() + FOOTER_WAIT
        while not any(key.region for key in self._footer.children) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        painted = asyncio.Event()
        self.call_after_refresh(painted.set)
        await painted.wait()

    async def _start(self) -> None:
        await self._footer_drawn()
        try:
            empty = await self.runner.call(self._open_store, timeout=STARTUP_TIMEOUT, label="opening the store")
        except AptuiError as err:
            self.startup_error = err
            self.exit(return_code=err.exit_code)
            return
        self._types_ready.set()
        if self._stopping():
            return
        self._apply_keymap()
        await self.ensure_pane(self._active_id())
        if empty and self.show_first_run:
            self._show_first_run(self.display_path(self.ctx.store.path), self.ctx.store.kek_kind)
        for tab in TABS:
            await asyncio.sleep(0)  # keys pressed meanwhile come first
            if self._stopping():
                return
            await self.ensure_pane(tab.pane_id)

    def _stopping(self) -> bool:
        """Quit (or a failed start) while starting up: the rest of the start-up is dropped."""
        return self._exit or not self.is_running

    def _open_store(self) -> bool:
        """In a thread: build the Context, open (or create) the store, import the panes.
        Returns whether the store is empty (the welcome screen)."""
        if self._ctx is None and self._make_ctx is not None:
            self._ctx = self._make_ctx()
        store = self.ctx.store
        empty = store.db["sm_connections"].count == 0 and store.db["profiles"].count == 0
        self._pane_types = {p.PANE_ID: p for p in self.pane_classes}
        return empty

    @on(JobFinished)
    def _first_data(self, message: JobFinished) -> None:
        if message.pane_id == self._active:
            timing.mark("data")

    def _apply_keymap(self) -> None:
        keymap = dict(self.settings.keymap)
        if not keymap:
            return
        known = {b.id for b in self.BINDINGS if isinstance(b, Binding) and b.id}
        for pane in self.pane_classes:
            for klass in pane.__mro__:
                known |= {b.id for b in getattr(klass, "BINDINGS", []) if isinstance(b, Binding) and b.id}
        from aptui.tui.widgets.secret import RevealableSecret

        known |= {b.id for b in RevealableSecret.BINDINGS if b.id}
        unknown = sorted(set(keymap) - known)
        if unknown:
            self.report_error(AptuiError("CONFIG_INVALID", f"[keymap] unknown binding id {unknown[0]}",
                                         hint="see docs/tui.md for the binding ids"))
        self.set_keymap({k: v for k, v in keymap.items() if k in known})

    def sub_title_refresh(self) -> None:
        parts = [f"v{__version__}"]
        if self.profile_name:
            parts.append(f"profile {self.profile_name}")
        if self.settings.read_only:
            parts.append("READ-ONLY")
        self.sub_title = " · ".join(parts)

    def on_unmount(self) -> None:
        self.runner.close(self._ctx)

    def _fatal_error(self) -> None:
        """An unhandled exception: Textual would print a traceback with every frame's locals (values
        included) on exit; aptui prints its one-line report (APTUI_DEBUG=1: a scrubbed traceback)."""
        import sys

        from rich.text import Text

        from aptui import crash

        exc = sys.exc_info()[1]
        if exc is None:
            exc = self._exception or RuntimeError("unknown error")
        self.bell()
        self._exit_renderables.append(Text(crash.report(exc).rstrip("\n")))
        self._close_messages_no_wait()

    # -- first run ----------------------------------------------------------------------
    def display_path(self, path: Path) -> str:
        """The real path, the home directory abbreviated as ``~`` (issue 18: never ``$APTUI_HOME/…``)."""
        try:
            return "~/" + str(Path(path).relative_to(Path.home()))
        except ValueError:
            return str(path)

    def _show_first_run(self, path: str, kek: str) -> None:
        from aptui.tui.screens.first_run import FirstRunScreen

        self.push_screen(FirstRunScreen(path, kek))
        timing.mark("data")

    # -- panes --------------------------------------------------------------------------
    def _mounted(self, pane_id: str) -> Pane | None:
        future = self._mounting.get(pane_id)
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    def panes(self) -> list[Pane]:
        """The panes mounted so far (all of them once start-up is done), in tab order."""
        return [p for p in (self._mounted(t.pane_id) for t in TABS) if p is not None]

    def pane(self, pane_id: str) -> Pane:
        pane = self._mounted(pane_id)
        if pane is None:
            raise LookupError(f"pane {pane_id} is not mounted yet")
        return pane

    async def ensure_pane(self, pane_id: str) -> Pane:
        """Mount the pane into its tab (once), in place of the "loading…" line; waits for the store
        and the pane classes when called earlier."""
        await self._types_ready.wait()
        future = self._mounting.get(pane_id)
        if future is None:
            if self._stopping():
                raise asyncio.CancelledError  # quitting: nothing more is mounted
            future = self._mounting[pane_id] = asyncio.get_running_loop().create_future()
            try:
                pane = self._pane_types[pane_id](id=pane_id)
                slot = self._slot(pane_id)
                pending = self._slot_mounts.pop(pane_id, None)
                if pending is not None:
                    await pending
                await slot.mount(pane)
                await slot.query(".pane-loading").remove()
            except BaseException as exc:
                future.set_exception(exc)
                raise
            future.set_result(pane)
        return await asyncio.shield(future)

    def _active_id(self) -> str:
        return self._active

    def action_show_pane(self, pane_id: str) -> None:
        self._active = self._bar.active = pane_id
        self._slot(pane_id)
        for other, slot in self._slots.items():
            slot.display = other == pane_id
        pane = self._mounted(pane_id)
        if pane is not None:
            pane.focus_main()
        else:  # shown before its turn: mount it as soon as it can be (it takes the focus when shown)
            self.run_worker(self.ensure_pane(pane_id), group="startup-pane", exit_on_error=True)

    @on(PaneBar.Clicked)
    def _clicked(self, event: PaneBar.Clicked) -> None:
        self.action_show_pane(event.pane_id)

    def current_pane(self) -> Pane | None:
        return self._mounted(self._active_id())

    async def run_pane_action(self, pane_id: str, action: str) -> None:
        self.action_show_pane(pane_id)
        pane = await self.ensure_pane(pane_id)
        pane.before_palette_action(action)
        await self.run_action(action, pane)

    def action_help(self) -> None:
        from aptui.tui.screens.help import HelpScreen, collect_sections

        pane = self.current_pane()
        sections = collect_sections(self, pane)
        self.push_screen(HelpScreen(pane.TITLE if pane else "aptui", pane.HELP if pane else "", sections))

    def action_toggle_contrast(self) -> None:
        self.high_contrast = not self.high_contrast
        self.theme = HIGH_CONTRAST.name if self.high_contrast else (self.settings.theme or "textual-dark")

    # -- errors, secrets, clipboard, audit ----------------------------------------------
    def remember_secret(self, value: str) -> None:
        """A value the operator typed or revealed: scrubbed from every notification."""
        if value:
            self._secrets.add(value)

    def report_error(self, err: BaseException, *, title: str | None = None, modal: bool = False) -> None:
        """The one error path: a notification (or a modal) with the code; secrets redacted."""
        e = describe(err)
        message = redact(e.message, self._secrets)
        hint = redact(for_console(e.hint), self._secrets) if e.hint else None  # the console's keys, not CLI flags
        self.errors.append(AptuiError(e.code, message, exit_code=e.exit_code, hint=hint))
        self.post_message(ErrorReported(e.code, message))
        if modal:
            from aptui.tui.screens.error import ErrorModal

            self.push_screen(ErrorModal(title or "Error", e.code, message, hint))
            return
        body = message + (f"\nhint: {hint}" if hint else "")
        head = f"{title} — {e.code}" if title else e.code
        self.notify(body, title=head, severity="error", timeout=10, markup=False)

    def notify(self, message: str, *, title: str = "", severity: str = "information",  # type: ignore[override]
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification and toast: control characters made visible (server text reaches here).
        ``notices`` keeps every one shown (a toast cleared by a form still counts, e.g. for leak scans)."""
        message, title = visible(message, keep_newlines=True), visible(title)
        self.notices.append((title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)  # type: ignore[arg-type]

    def copy_text(self, text: str, *, what: str = "value") -> None:
        """Clipboard over SSH: OSC 52 (Textual), plus a tmux/screen passthrough copy."""
        self.remember_secret(text)
        self.copy_to_clipboard(text)
        from aptui.tui.clipboard import osc52

        wrapped = passthrough(osc52(text))
        if wrapped and self._driver is not None:
            self._driver.write(wrapped)
        self._copy_notice(what, len(text))
        self.audit_event("clipboard.copy", what, "ok")

    @work(thread=True, exit_on_error=False, group="clipboard")
    def _copy_notice(self, what: str, length: int) -> None:
        """Say what the copy reached (asking tmux takes a subprocess: off the UI loop)."""
        from aptui.tui.clipboard import delivery

        said = delivery()
        severity = "warning" if said.startswith("NOT") else "information"
        self.call_from_thread(self.notify, f"{what} ({length} chars): {said}", severity=severity, markup=False)

    def audit_event(self, action: str, target: str, outcome: str, detail: str | None = None) -> None:
        self._audit(action, target, outcome, detail)

    @work(thread=True, exit_on_error=False, group="audit-write")
    def _audit(self, action: str, target: str, outcome: str, detail: str | None) -> None:
        try:
            self.ctx.audit(action, target, outcome, detail)
        except Exception as err:  # an unrecorded action must not pass silently
            self.call_from_thread(self.report_error, err, title=f"audit log not written ({action})")

    # -- screenshots --------------------------------------------------------------------
    def remask_all(self) -> int:
        from aptui.tui.widgets.secret import RevealableSecret

        count = 0
        for screen in self.screen_stack:
            for widget in screen.query(RevealableSecret):
                if widget.revealed:
                    count += 1
                widget.remask()
        return count

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen, every revealed secret masked first: 0600, under aptui's data
        directory, audited. (Textual's arguments are ignored: aptui chooses where it goes.)"""
        self.remask_all()
        self.call_after_refresh(self._save_screenshot)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Textual's own screenshot route (its palette command, ``TEXTUAL_SCREENSHOT``) goes through
        aptui's masked one instead of writing the raw screen to ~/Downloads."""
        self.action_screenshot()
        return None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, reviewed one by one (docs/tui.md): Theme, Keys and
        Maximize/Minimize stay; Quit and Screenshot go (``app: quit``, and ``app: screenshot``,
        which masks, cover them)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Screenshot"):
                yield command

    def _save_screenshot(self) -> None:
        from datetime import UTC, datetime

        directory = self.screenshot_dir or (self.paths.data_dir / "screenshots")
        target = directory / f"aptui-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S-%f')}.svg"
        shown = self.display_path(target)
        svg = self.export_screenshot()
        if any(len(value) >= 4 and value in svg for value in self._secrets):
            # defence in depth: a value known to be secret is still on the screen (not in a masked widget)
            self.report_error(AptuiError("SCREENSHOT_REFUSED", "a secret value is on the screen; nothing was saved",
                                         hint="close the screen that shows it, then retry"))
            self.audit_event("screenshot.save", shown, "refused", "secret on screen")
            return
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(svg)
        except OSError as exc:
            self.report_error(AptuiError("SCREENSHOT_FAILED", f"cannot write to {directory} ({exc.strerror})"))
            self.audit_event("screenshot.save", shown, "failed", exc.strerror)
            return
        self.audit_event("screenshot.save", shown, "ok")
        self.notify(f"screenshot saved: {shown}", markup=False)
