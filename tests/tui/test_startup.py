"""Start-up: the first frame holds only the header, the pane bar, a "loading…" line and the footer;
the store, the panes and their data come after it, and never leave a blank screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Footer, Header

from aptui.tui.app import LOADING, AptuiApp
from aptui.tui.tabs import TABS
from aptui.tui.widgets.pane_bar import PaneBar
from tests.tui.conftest import settle


def loading_shown(app) -> list[str]:
    """The "loading…" lines in the visible tab."""
    shown = [slot for slot in app.query(".pane-slot") if slot.display]
    assert len(shown) == 1
    return [str(w.render()) for w in shown[0].query(".pane-loading")]

SCRIPT = """
import asyncio, sys
from aptui.services.context import Context
from aptui.store import connections
from aptui.tui.app import AptuiApp

async def main():
    ctx = Context()
    connections.create(ctx.store, provider_id="aws", name="prod-aws", config={
        "accessKeyId": "AKIAEXAMPLE000000000", "secretAccessKey": "x" * 40, "region": "us-east-1"})
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.query_one("#sm-table").total == 1
    ctx.close()

asyncio.run(main())
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_painting_the_console_imports_no_heavy_sdk(aptui_home):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(out.stdout.split())
    assert "textual" in loaded
    for heavy in ("boto3", "botocore", "hvac", "onepassword", "httpx"):
        assert heavy not in loaded, heavy


def test_the_pane_bar_matches_the_panes():
    """The first frame draws the tabs from aptui.tui.tabs without importing a pane: same panes."""
    from aptui.tui.panes import PANES

    classes = sorted(PANES, key=lambda p: p.NUMBER)
    assert [(t.pane_id, t.number, t.title, t.tab) for t in TABS] == [
        (p.PANE_ID, p.NUMBER, p.TITLE, p.TAB) for p in classes]


async def test_the_first_frame_is_the_frame_and_a_loading_line(ctx, monkeypatch):
    """At the first frame (Ready) and when the work starts (the footer's keys painted): the header,
    the pane bar, "loading…" in the first tab, the footer's keys; no pane, the store not touched."""
    seen: dict[str, dict] = {}
    drawn = AptuiApp._footer_drawn

    def look(app) -> dict:
        return {"panes": list(app.panes()), "loading": loading_shown(app), "header": bool(app.query(Header)),
                "raw": (svg := app.export_screenshot()), "svg": svg.replace("&#160;", " ")}

    async def spy(self) -> None:
        await drawn(self)
        seen["start"] = look(self)

    def hook(message) -> None:
        if isinstance(message, events.Ready) and "ready" not in seen:
            seen["ready"] = look(app)

    monkeypatch.setattr(AptuiApp, "_footer_drawn", spy)
    monkeypatch.setattr("aptui.tui.app.FOOTER_WAIT", 30.0)  # the fallback must not fire on a loaded machine
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        for moment in ("ready", "start"):
            frame = seen[moment]
            assert frame["panes"] == [] and frame["loading"] == [LOADING] and frame["header"], moment
            assert all(t.label in frame["svg"] for t in TABS) and LOADING in frame["svg"], moment
        assert all(f">&#160;{word}<" in seen["start"]["raw"] for word in ("Quit", "Help", "Commands"))
        assert app.query(Footer)
        # after it: every pane mounted, no loading line left, the first pane focused
        assert [p.PANE_ID for p in app.panes()] == [t.pane_id for t in TABS]
        assert not app.query(".pane-loading")
        assert app.focused is app.query_one("#sm-table") and app.current_pane().PANE_ID == "sm"


@pytest.fixture
def slow_store(monkeypatch):
    """Opening the store takes a second (a passphrase KDF, a slow disk)."""
    opened = AptuiApp._open_store

    def slow(self):
        time.sleep(1.0)
        return opened(self)

    monkeypatch.setattr(AptuiApp, "_open_store", slow)


async def test_a_slow_store_shows_loading_and_keys_still_work(ctx, slow_store):
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("7")  # before the store is open
        await pilot.pause()
        assert app.query_one(PaneBar).active == "audit"
        assert loading_shown(app) == [LOADING]
        assert app.panes() == [] and app.current_pane() is None
        await pilot.press("question_mark")  # help works while the store opens, and stays on top
        await pilot.pause()
        assert "Help" in type(app.screen).__name__
        await settle(pilot)
        assert "Help" in type(app.screen).__name__ and len(app.panes()) == len(TABS)
        await pilot.press("escape")
        await settle(pilot)
        assert next(iter(app._mounting)) == "audit"  # the pane asked for came first
        assert app.current_pane().PANE_ID == "audit" and app.focused is app.query_one("#audit-table")
        assert len(app.panes()) == len(TABS)


@pytest.mark.parametrize("when", [0.0, 0.3, 1.3], ids=["at-once", "store-opening", "panes-mounting"])
async def test_quitting_during_start_up_is_clean(ctx, slow_store, when):
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(when)
        await pilot.press("q")
        for _ in range(100):
            if not app.is_running:
                break
            await pilot.pause(0.05)
    assert not app.is_running and app.return_code == 0 and app.errors == [] and app._exception is None


async def test_a_damaged_store_found_after_the_first_frame_closes_the_app_with_its_error(aptui_home):
    from aptui.tui.run import build_console

    aptui_home.mkdir(parents=True, exist_ok=True)
    (aptui_home / "aptui.db").write_bytes(b"not a database, nothing like it" * 10)
    app = build_console()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if not app.is_running:
                break
            await pilot.pause(0.05)
    assert app.startup_error is not None and app.startup_error.code == "STORE_DAMAGED"
    assert app.return_code == 3
    assert (aptui_home / "aptui.db").read_bytes().startswith(b"not a database")  # left as it was


def test_the_passphrase_is_asked_only_for_a_passphrase_store(aptui_home, monkeypatch):
    from aptui import passphrase
    from aptui.config import Paths
    from aptui.store.db import Store

    aptui_home.mkdir(parents=True, exist_ok=True)
    store_file = aptui_home / "aptui.db"
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return "typed"

    assert passphrase.key_kind(store_file) is None and passphrase.ask_early(store_file, ask)() == ""
    store_file.write_bytes(b"garbage" * 40)
    assert passphrase.key_kind(store_file) is None
    store_file.unlink()
    Store.create(Paths.resolve()).close()
    assert passphrase.key_kind(store_file) == "keyfile" and passphrase.ask_early(store_file, ask)() == ""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_file}{suffix}").unlink(missing_ok=True)
    Store.create(Paths.resolve(), passphrase="correct horse").close()
    assert passphrase.key_kind(store_file) == "passphrase"
    assert asked == []
    assert passphrase.ask_early(store_file, ask)() == "typed" and asked == [1]
    monkeypatch.setenv("APTUI_PASSPHRASE", "from-env")
    assert passphrase.ask_early(store_file, ask)() == "" and asked == [1]  # the store reads the variable itself


# -- in a real terminal ------------------------------------------------------------------------------

needs_tmux = pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")


class Terminal:
    """``aptui`` in an 80x24 tmux pane of a private server; the shell line after it prints rc=N."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.socket = f"aptui-test-{os.getpid()}-{id(self)}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("APTUI_", "TMUX"))}
        self.env.update({"APTUI_HOME": str(home), "TERM": "xterm-256color", **(env or {})})
        aptui = Path(sys.executable).with_name("aptui")
        command = shlex.quote(str(aptui)) if aptui.exists() else f"{shlex.quote(sys.executable)} -m aptui"
        self._tmux("new-session", "-d", "-s", "t", "-x", "80", "-y", "24",
                   f"{command}; echo rc=$?; sleep 30")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              env=self.env).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def close(self) -> None:
        self._tmux("kill-server")


def one_line_then_rc(screen: str) -> tuple[str, str]:
    """The error printed after the console closed (wrapped at 80 columns: joined) and the exit code;
    the error's start is returned up to the first word that follows the code."""
    lines = [line for line in screen.splitlines() if line.strip()]
    start = max(i for i, line in enumerate(lines) if line.startswith("aptui: "))
    text, rc = " ".join(lines[start:-1]), lines[-1]
    assert sum(line.startswith("aptui: ") for line in lines) == 1 and "Traceback" not in screen, lines
    head = text.split(" (")[0]
    for prefix in ("aptui: STORE_KEY_MISMATCH: wrong passphrase for store", "aptui: STORE_DAMAGED: store",
                   "aptui: CONFIG_INVALID"):
        if head.startswith(prefix):
            return prefix, rc
    return head, rc


@pytest.fixture
def terminal(aptui_home):
    opened: list[Terminal] = []

    def open_one(env: dict[str, str] | None = None) -> Terminal:
        opened.append(Terminal(aptui_home, env))
        return opened[-1]

    yield open_one
    for t in opened:
        t.close()


@needs_tmux
def test_in_a_terminal_a_passphrase_store_asks_first_then_paints(aptui_home, terminal, run_cli):
    from aptui.config import Paths
    from aptui.store.db import Store

    Store.create(Paths.resolve(), passphrase="correct horse battery").close()
    t = terminal()
    t.wait_for("aptui store passphrase:")
    t.keys("correct horse battery", "Enter")
    shown = t.wait_for("Welcome to aptui")  # the store opened after the first frame: it is empty
    assert "unlocked by passphrase" in shown and "correct horse" not in shown
    t.keys("Escape")
    t.wait_for("no connections yet")
    t.keys("q")
    assert "rc=0" in t.wait_for("rc=")


@needs_tmux
def test_in_a_terminal_a_wrong_passphrase_is_one_line_and_exit_3(aptui_home, terminal):
    from aptui.config import Paths
    from aptui.store.db import Store

    Store.create(Paths.resolve(), passphrase="correct horse battery").close()
    t = terminal()
    t.wait_for("aptui store passphrase:")
    t.keys("wrong horse", "Enter")
    assert one_line_then_rc(t.wait_for("rc=")) == ("aptui: STORE_KEY_MISMATCH: wrong passphrase for store", "rc=3")
    assert "wrong horse" not in t.screen()


@needs_tmux
def test_in_a_terminal_a_damaged_store_is_one_line_and_exit_3(aptui_home, terminal):
    aptui_home.mkdir(parents=True, exist_ok=True)
    (aptui_home / "aptui.db").write_bytes(b"not a database, nothing like it" * 10)
    t = terminal()
    assert one_line_then_rc(t.wait_for("rc=")) == ("aptui: STORE_DAMAGED: store", "rc=3")


@needs_tmux
def test_in_a_terminal_a_bad_config_is_one_line_before_any_screen(aptui_home, terminal):
    aptui_home.mkdir(parents=True, exist_ok=True)
    (aptui_home / "config.toml").write_text("[general\n")
    t = terminal()
    assert one_line_then_rc(t.wait_for("rc=")) == ("aptui: CONFIG_INVALID", "rc=2")



async def test_a_click_on_a_pane_name_shows_it(ctx):
    app = AptuiApp(ctx, show_first_run=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.query_one(PaneBar)
        spans = dict((pane_id, (start, end)) for pane_id, start, end in bar.spans())
        assert spans["sm"][0] == 0 and spans["audit"][1] <= 80  # every name fits in 80 columns
        await pilot.click(PaneBar, offset=(spans["audit"][0] + 2, 0))
        await settle(pilot)
        assert app.current_pane().PANE_ID == "audit" and bar.active == "audit"
        await pilot.click(PaneBar, offset=(spans["audit"][0] - 1, 0))  # the name before it: Incident
        await settle(pilot)
        assert app.current_pane().PANE_ID == "incident"
        assert [s.id for s in app.query(".pane-slot") if s.display] == ["tab-incident"]
        await pilot.resize_terminal(100, 24)
        await pilot.click(PaneBar, offset=(90, 0))  # past the last name: nothing
        await settle(pilot)
        assert app.current_pane().PANE_ID == "incident"
