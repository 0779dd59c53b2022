"""The aptui console: header, one tab per pane (number keys), footer with the pane's keys."""

from __future__ import annotations

import os
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from aptui import __version__
from aptui.errors import AptuiError
from aptui.masking import redact
from aptui.services.context import Context
from aptui.tui.clipboard import passthrough
from aptui.tui.commands import AptuiCommands
from aptui.tui.hints import for_console
from aptui.tui.jobs import ServiceRunner, describe
from aptui.tui.messages import ErrorReported
from aptui.tui.panes import PANES, Pane
from aptui.tui.theme import HIGH_CONTRAST, THEMES
from aptui.untrusted import visible


class AptuiApp(App[int]):
    """Keyboard-first; every pane is reachable with its number key; nothing needs a mouse."""

    TITLE = "aptui"
    CSS_PATH = Path(__file__).parent / "aptui.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {AptuiCommands}
    NOTIFICATION_TIMEOUT = 6
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", id="app.palette"),
        Binding("f12", "screenshot", "Screenshot", show=False, id="app.screenshot"),
    ]

    def __init__(self, ctx: Context, *, high_contrast: bool = False, show_first_run: bool = True,
                 screenshot_dir: Path | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.high_contrast = high_contrast
        self.show_first_run = show_first_run
        self.screenshot_dir = screenshot_dir
        self.animation_level = "none"
        self._secrets: set[str] = set()
        self.runner = ServiceRunner()
        self.errors: list[AptuiError] = []  # every error shown, for tests and the log
        self.notices: list[tuple[str, str]] = []  # every notification shown: (title, message)
        self.pane_classes: list[type[Pane]] = sorted(PANES, key=lambda p: p.NUMBER)
        self.profile_name: str | None = None  # the platform profile chosen in pane 4 (None: default)
        self.sub_title_refresh()
        for pane in self.pane_classes:
            self._bindings.bind(pane.NUMBER, f"show_pane('{pane.PANE_ID}')", pane.TITLE, show=False)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        with TabbedContent(id="panes"):
            for pane in self.pane_classes:
                with TabPane(f"{pane.NUMBER} {pane.TAB or pane.TITLE}", id=f"tab-{pane.PANE_ID}"):
                    yield pane(id=pane.PANE_ID)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = HIGH_CONTRAST.name if self.high_contrast else (self.ctx.settings.theme or "textual-dark")
        self._apply_keymap()
        if self.show_first_run:
            self._check_first_run()

    def _apply_keymap(self) -> None:
        keymap = dict(self.ctx.settings.keymap)
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
        if self.ctx.settings.read_only:
            parts.append("READ-ONLY")
        self.sub_title = " · ".join(parts)

    def on_unmount(self) -> None:
        self.runner.close(self.ctx)

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
    @work(thread=True, exit_on_error=False, group="startup")
    def _check_first_run(self) -> None:
        store = self.ctx.store
        empty = store.db["sm_connections"].count == 0 and store.db["profiles"].count == 0
        if empty:
            self.call_from_thread(self._show_first_run, self.display_path(store.path), store.kek_kind)

    def display_path(self, path: Path) -> str:
        """Paths under APTUI_HOME are shown relative to it (stable in screenshots)."""
        home = os.environ.get("APTUI_HOME")
        if home:
            try:
                return "$APTUI_HOME/" + str(Path(path).relative_to(Path(home).expanduser()))
            except ValueError:
                pass
        try:
            return "~/" + str(Path(path).relative_to(Path.home()))
        except ValueError:
            return str(path)

    def _show_first_run(self, path: str, kek: str) -> None:
        from aptui.tui.screens.first_run import FirstRunScreen

        self.push_screen(FirstRunScreen(path, kek))

    # -- panes --------------------------------------------------------------------------
    def panes(self) -> list[Pane]:
        return [self.query_one(f"#{p.PANE_ID}", Pane) for p in self.pane_classes]

    def pane(self, pane_id: str) -> Pane:
        return self.query_one(f"#{pane_id}", Pane)

    def action_show_pane(self, pane_id: str) -> None:
        self.query_one("#panes", TabbedContent).active = f"tab-{pane_id}"
        self.pane(pane_id).focus_main()

    def current_pane(self) -> Pane | None:
        tabs = self.query_one("#panes", TabbedContent)
        if not tabs.active:
            return None
        return self.pane(tabs.active.removeprefix("tab-"))

    async def run_pane_action(self, pane_id: str, action: str) -> None:
        self.action_show_pane(pane_id)
        pane = self.pane(pane_id)
        pane.before_palette_action(action)
        await self.run_action(action, pane)

    def action_help(self) -> None:
        from aptui.tui.screens.help import HelpScreen, collect_sections

        pane = self.current_pane()
        sections = collect_sections(self, pane)
        self.push_screen(HelpScreen(pane.TITLE if pane else "aptui", pane.HELP if pane else "", sections))

    def action_toggle_contrast(self) -> None:
        self.high_contrast = not self.high_contrast
        self.theme = HIGH_CONTRAST.name if self.high_contrast else (self.ctx.settings.theme or "textual-dark")

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

    def action_screenshot(self) -> None:
        """Save an SVG of the screen; every revealed secret is masked first."""
        self.remask_all()
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        directory = self.screenshot_dir or (self.ctx.paths.data_dir / "screenshots")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(path=str(directory))
        except OSError as exc:
            self.report_error(AptuiError("SCREENSHOT_FAILED", f"cannot write to {directory} ({exc.strerror})"))
            return
        self.notify(f"screenshot saved: {self.display_path(Path(path))}", markup=False)
