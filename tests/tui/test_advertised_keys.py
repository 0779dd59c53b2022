"""Issue 18 item 17: every key a screen advertises (its footer, and keys its text names: hint lines,
status lines, "press enter", "n opens one") does something on that screen.

"Something" is any change of what the terminal shows (text or style: a moved highlight counts), of
the screen stack, of the focus, or a notification. Each key is pressed on a fresh copy of the state
(modals are pushed again, panes re-shown), at 80x24.
"""

from __future__ import annotations

import re

import pytest

from aptui.masking import Secret
from aptui.tui.screens.choice import ChoiceModal
from aptui.tui.screens.confirm import ConfirmModal
from aptui.tui.screens.details import DetailsModal
from aptui.tui.screens.error import ErrorModal
from aptui.tui.screens.form import FormField, FormScreen
from aptui.tui.screens.help import HelpScreen
from aptui.tui.screens.show_once import ShowOnceModal
from tests.tui.conftest import settle

SIZE = (80, 24)
NAMED = {"esc": "escape", "enter": "enter", "tab": "tab", "?": "question_mark", ":": "colon", "/": "slash",
         "↑↓": "down", "space": "space", "f12": "f12"}
KEY = re.compile(r"^(esc|enter|tab|space|f12|ctrl\+[a-z]|↑↓|[a-zA-Z?:/]|\d-\d)$")
SEGMENT = re.compile(r"\s*(?:·|—|;|\||\(|\)|,|\.\s|\bKeys:)\s*")


def keys_in_text(text: str) -> set[str]:
    """Keys named in hint-like text: a key token followed by a lower-case word ("n new", "esc
    cancels", "press enter"), in segments split at · — ; ( ) , and "or"."""
    found: set[str] = set()
    for line in text.split("\n"):
        line = re.sub(r"^[\s\u2500-\u259f]+|[\s\u2500-\u259f]+$", "", line)  # borders
        for m in re.finditer(r"\b[Pp]ress (\S+?)(?:,| or (\S+?))?[ .]", line):
            found |= {k for k in m.groups() if k and KEY.match(k)}
        if "·" not in line and " — " not in line and "esc" not in line:
            continue
        for seg in SEGMENT.split(line):
            words = seg.split()
            if len(words) >= 4 and KEY.match(words[0]) and words[1] in ("/", "or") and KEY.match(words[2]):
                found |= {words[0], words[2]}  # "n / esc cancel", ": or ctrl+p lists"
            elif len(words) >= 2 and KEY.match(words[0]) and re.match(r"^[a-z]", words[1]):
                found.add(words[0])
    out: set[str] = set()
    for k in found:
        if re.match(r"^\d-\d$", k):
            out |= {str(n) for n in range(int(k[0]), int(k[2]) + 1)}
        else:
            out.add(NAMED.get(k, k))
    return out


JOBS = [0]


@pytest.fixture(autouse=True)
def count_jobs(monkeypatch):
    """A key that starts a job (a refresh whose answer is unchanged) did something too."""
    from aptui.tui.panes.base import Pane

    real = Pane.run_job

    def counted(self, *args, **kwargs):
        JOBS[0] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pane, "run_job", counted)


def signature(app) -> tuple:
    strips = app.screen._compositor.render_strips()
    drawn = tuple("".join(f"{seg.text}\x00{seg.style}" for seg in strip if not seg.control) for strip in strips)
    return (tuple(id(s) for s in app.screen_stack), id(app.focused), drawn, len(app._notifications), JOBS[0])


def modal_text(app) -> str:
    """The text inside the modal's box only (the screen under it shows through around it)."""
    from tests.tui.hostile import screen_text

    box = next(c for c in app.screen.children if c.id not in ("textual-toastrack", "textual-tooltip")).region
    lines = screen_text(app).split("\n")[box.y:box.bottom]
    return "\n".join(line[box.x:box.right] for line in lines)


def footer_keys(app) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show and active.enabled}


async def press_and_check(pilot, key: str, where: str, problems: list[str]) -> None:
    app = pilot.app
    before = signature(app)
    await pilot.press(key)
    await settle(pilot)
    await pilot.pause(0.05)
    if signature(app) == before:
        problems.append(f"{where}: {key}")


def modal_cases():
    return {
        "details": lambda: DetailsModal("details", [("name", "x"), ("id", "y")]),
        "confirm": lambda: ConfirmModal("Delete x?", "x · id", "body"),
        "confirm-typed": lambda: ConfirmModal("Delete prod?", "prod", "body", typed_name="prod"),
        "error": lambda: ErrorModal("Error", "VALIDATION", "bad input", hint="fix it"),
        "choice": lambda: ChoiceModal("Pick", [("a", "first"), ("b", "second")]),
        "show-once": lambda: ShowOnceModal("New token", Secret("tok-1234567890")),
        "form": lambda: FormScreen("Form", [FormField("a", "A", value="1"), FormField("b", "B", value="2")]),
        "help": lambda: HelpScreen("Cache", "about the pane", [("Everywhere", [("q", "Quit")])]),
    }


@pytest.mark.parametrize("name", list(modal_cases()))
async def test_every_key_a_modal_names_works(make_app, name):
    make = modal_cases()[name]
    app = make_app()
    problems: list[str] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        base = len(app.screen_stack)
        await app.push_screen(make())
        await pilot.pause()
        keys = keys_in_text(modal_text(app)) | footer_keys(app)  # the modal's own footer too
        assert keys, "no key named"
        for key in sorted(keys):
            while len(app.screen_stack) > base:
                app.pop_screen()
            await app.push_screen(make())
            await pilot.pause()
            await press_and_check(pilot, key, name, problems)
    assert not problems, "\n".join(problems)


async def test_every_key_the_welcome_screen_names_works(make_app):

    problems: list[str] = []
    app = make_app(show_first_run=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        from aptui.tui.screens.first_run import FirstRunScreen

        assert isinstance(app.screen, FirstRunScreen)
        keys = keys_in_text(modal_text(app))
        assert {"question_mark", "1", "7", "colon", "q", "enter", "escape"} <= keys, keys
        for key in sorted(keys - {"q"}):
            while len(app.screen_stack) > 1:
                app.pop_screen()
            await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
            await pilot.pause()
            await press_and_check(pilot, key, "welcome", problems)
        while len(app.screen_stack) > 1:
            app.pop_screen()
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        from aptui.tui.screens.help import HelpScreen

        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        app.pop_screen()
        await settle(pilot)
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        await pilot.press("3")
        await settle(pilot)
        assert len(app.screen_stack) == 1 and app.current_pane().PANE_ID == "cache"
        await app.push_screen(FirstRunScreen("~/store.db", "keyfile"))
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause(0.2)
        assert not app.is_running
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
@pytest.mark.parametrize("seeded", [False, True], ids=["empty", "seeded"])
async def test_every_key_a_pane_advertises_works(make_app, ctx, request, read_only, seeded):
    """Footer keys and keys in the pane's own text, on every pane: an empty store (the first-run case)
    and one with an AWS connection (moto), a profile on the double and an open incident."""
    from tests.tui.hostile import screen_text

    if seeded:
        from aptui.services import incident
        from tests.incident import scenario

        scenario.build(ctx, request.getfixturevalue("moto_aws"), request.getfixturevalue("activepieces"),
                       request.getfixturevalue("tmp_path"))
        incident.start(ctx, "sm:prod-aws")
    ctx.settings.read_only = read_only
    problems: list[str] = []
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        async def reset(pane_id: str) -> None:
            while len(app.screen_stack) > 1:
                app.pop_screen()
            app.action_show_pane(pane_id)
            pane = app.pane(pane_id)
            pane.back()  # filters closed
            app.clear_notifications()
            await settle(pilot)
            if pane_id == "refs":  # out of the input (once showing the pane has focused it): the pane's keys
                pane.focus()
                await settle(pilot)

        for pane_cls in app.pane_classes:
            await reset(pane_cls.PANE_ID)
            keys = footer_keys(app) | keys_in_text(screen_text(app))
            for key in sorted(keys - {"q", "f12"}):
                await reset(pane_cls.PANE_ID)
                await press_and_check(pilot, key, pane_cls.PANE_ID, problems)
        while len(app.screen_stack) > 1:
            app.pop_screen()
    assert not problems, "\n".join(problems)


async def test_the_reference_input_advertises_its_own_keys(make_app):
    """With the focus in pane 2's input the pane's letter keys belong to the input, so the footer
    names what works there: enter tests, esc hands the keys back to the pane."""
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.focused.id == "ref-input"
        assert {"enter", "escape"} <= footer_keys(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is app.pane("refs")
        assert "t" in footer_keys(app)  # the pane's keys are back in the footer
