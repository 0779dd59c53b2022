"""Shown when the store holds nothing yet: what aptui needs and how to add it."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from aptui.tui.widgets.footer import ModalFooter
from aptui.untrusted import visible

TEXT = """\
[b]Welcome to aptui[/b] — your encrypted store (unlocked by {kek}) is at
  {store}

aptui needs two things, and works with either one:

[b]1. A secret-manager connection[/b] (AWS, Vault, Conjur, 1Password)
   to test references like {{{{connId|ap_sep_v1|prod/db:password}}}}.
   In the console: press [b]1[/b], then [b]a[/b].
   From a shell:   aptui sm add --provider aws --name prod-aws \\
                     --set region=us-east-1 \\
                     --set-env accessKeyId=AWS_ACCESS_KEY_ID \\
                     --set-env secretAccessKey=AWS_SECRET_ACCESS_KEY

[b]2. An Activepieces profile[/b] (site URL + platform API key)
   to browse app connections, MCP servers and flow runs.
   From a shell:   aptui profile add prod --url https://ap.example.com \\
                     --key-env AP_API_KEY

Keys: [b]?[/b] help · [b]1-7[/b] panes · [b]:[/b] commands · [b]q[/b] quit
Press [b]enter[/b] or [b]esc[/b] to continue."""


PATH_WIDTH = 70  # the box is 78 wide: a longer path is cut in the middle, never wrapped


def fit_path(path: str, width: int = PATH_WIDTH) -> str:
    """``path`` on one line of the box: its start and its end around "…" (``aptui store info`` has it whole),
    so a long store path never pushes the box's last line ("Press enter…") out of view."""
    if len(path) <= width:
        return path
    head = width // 3
    return path[:head] + "…" + path[-(width - head - 1):]


class FirstRunScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    FirstRunScreen { align: center middle; }
    /* margin-top: at 80x24 the header stays visible above the box, the modal's footer below it */
    FirstRunScreen > VerticalScroll { width: 78; max-width: 100%; height: auto; max-height: 100%; margin-top: 1;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    # A modal screen cuts the app's bindings off: the keys this text names are bound here.
    BINDINGS = [
        Binding("escape", "dismiss", "Continue"),
        Binding("enter", "dismiss", "Continue", show=False),
        Binding("question_mark", "then('help')", "Help", show=False),
        Binding("colon", "then('command_palette')", "Commands", show=False),
        Binding("q", "then('quit')", "Quit", show=False),
        *[Binding(str(n), f"then('pane({n})')", f"Pane {n}", show=False) for n in range(1, 10)],
    ]

    def __init__(self, store: str, kek: str) -> None:
        super().__init__()
        self._store, self._kek = store, kek

    def action_then(self, action: str) -> None:
        """Close the welcome, then do what the key does everywhere else."""
        app = self.app
        if action.startswith("pane("):
            number = action[5:-1]
            pane = next((p for p in getattr(app, "pane_classes", []) if number == p.NUMBER), None)
            self.dismiss()  # first: the screen below gets its focus back (and with it its tab) ...
            if pane is not None:  # ... then the pane asked for
                app.call_after_refresh(app.action_show_pane, pane.PANE_ID)  # type: ignore[attr-defined]
            return
        self.dismiss()
        app.call_after_refresh(app.run_action, action)

    def compose(self):
        with VerticalScroll():
            # rich markup (not Textual's): keeps the indentation and the spaces around bold words
            text = Text.from_markup(TEXT.format(store=escape(fit_path(visible(self._store))), kek=escape(self._kek)))
            yield Static(text, id="first-run-text")
        yield ModalFooter()
