"""What the advertised-keys tests share (issue 18 item 17): the keys a screen names, and a check
that pressing one changes something (what the terminal shows, the screen stack, the focus, a
notification, or a job started)."""

from __future__ import annotations

import re

import pytest

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


async def settle_or_asked(pilot, limit: float = 30.0) -> None:
    """Like ``settle``, but a job that opened a modal and waits on the operator's answer (x in pane 5
    asks before each rotation step) counts as settled: that modal is what the key did."""
    from textual.screen import ModalScreen

    app = pilot.app
    waited = 0.0
    while waited < limit and any(not w.is_finished for w in app.workers):
        if isinstance(app.screen, ModalScreen) and waited >= 0.3:
            return
        await pilot.pause(0.05)
        waited += 0.05
    await settle(pilot)


async def press_and_check(pilot, key: str, where: str, problems: list[str]) -> None:
    app = pilot.app
    before = signature(app)
    await pilot.press(key)
    await settle_or_asked(pilot)
    await pilot.pause(0.05)
    if signature(app) == before:
        problems.append(f"{where}: {key}")


PANES_A = ("sm", "refs", "cache", "platform")
PANES_B = ("rotation", "incident", "audit")


async def check_pane_keys(make_app, ctx, request, *, read_only: bool, seeded: bool,
                          panes: tuple[str, ...] | None = None) -> None:
    """Footer keys and keys in the pane's own text, on each pane of ``panes`` (default: all): an empty
    store (the first-run case) or one with an AWS connection (moto), a profile on the double and an
    open incident."""
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
            app.workers.cancel_all()  # a job still waiting on a modal's answer (x in pane 5) ends here
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

        classes = [c for c in app.pane_classes if panes is None or c.PANE_ID in panes]
        assert classes and (panes is None or len(classes) == len(panes)), panes
        for pane_cls in classes:
            await reset(pane_cls.PANE_ID)
            keys = footer_keys(app) | keys_in_text(screen_text(app))
            for key in sorted(keys - {"q", "f12"}):
                await reset(pane_cls.PANE_ID)
                await press_and_check(pilot, key, pane_cls.PANE_ID, problems)
        while len(app.screen_stack) > 1:
            app.pop_screen()
    assert not problems, "\n".join(problems)
