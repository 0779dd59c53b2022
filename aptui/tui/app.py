"""The aptui console: header, one tab per pane (number keys), footer with the pane's keys."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from aptui import __version__
from aptui.services.context import Context
from aptui.tui.panes import PANES, Pane


class AptuiApp(App[int]):
    """Keyboard-first; every pane is reachable with its number key."""

    TITLE = "aptui"
    CSS_PATH = Path(__file__).parent / "aptui.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(self, ctx: Context, *, high_contrast: bool = False, show_first_run: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.high_contrast = high_contrast
        self.show_first_run = show_first_run
        self.animation_level = "none"
        self.sub_title = f"v{__version__}" + (" · read-only" if ctx.settings.read_only else "")
        for pane in PANES:
            self._bindings.bind(pane.NUMBER, f"show_pane('{pane.PANE_ID}')", pane.TITLE, show=False)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        with TabbedContent(id="panes"):
            for pane in PANES:
                with TabPane(f"{pane.NUMBER} {pane.TITLE}", id=f"tab-{pane.PANE_ID}"):
                    yield pane(id=pane.PANE_ID)
        yield Footer()

    def on_mount(self) -> None:
        if self.show_first_run:
            self._check_first_run()

    @work(thread=True, exit_on_error=False, group="startup")
    def _check_first_run(self) -> None:
        store = self.ctx.store
        empty = store.db["sm_connections"].count == 0 and store.db["profiles"].count == 0
        if empty:
            self.call_from_thread(self._show_first_run, str(store.path), store.kek_kind)

    def _show_first_run(self, path: str, kek: str) -> None:
        from aptui.tui.screens.first_run import FirstRunScreen

        self.push_screen(FirstRunScreen(path, kek))

    def action_show_pane(self, pane_id: str) -> None:
        self.query_one("#panes", TabbedContent).active = f"tab-{pane_id}"
        self.query_one(f"#{pane_id}", Pane).focus_main()

    def current_pane(self) -> Pane | None:
        tabs = self.query_one("#panes", TabbedContent)
        if not tabs.active:
            return None
        return self.query_one(f"#{tabs.active.removeprefix('tab-')}", Pane)

    def action_help(self) -> None:
        from aptui.tui.screens.help import HelpScreen

        pane = self.current_pane()
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        if pane is not None:
            rows = [(b.key, b.description) for b in pane.BINDINGS if isinstance(b, Binding)]
            sections.append((f"{pane.TITLE} pane", rows))
        app_rows = [(b.key, b.description) for b in self.BINDINGS if isinstance(b, Binding)]
        app_rows += [(p.NUMBER, f"{p.TITLE} pane") for p in PANES]
        sections.append(("Everywhere", app_rows))
        self.push_screen(HelpScreen(pane.TITLE if pane else "aptui", pane.HELP if pane else "", sections))
