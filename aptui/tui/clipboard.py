"""Copy over SSH: OSC 52, wrapped for tmux/screen passthrough when running inside one."""

from __future__ import annotations

import base64
import os
import subprocess


def osc52(text: str) -> str:
    """The bare OSC 52 sequence that asks the terminal to set its clipboard."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\a"


def passthrough(sequence: str, environ: dict[str, str] | None = None) -> str | None:
    """The same sequence wrapped for the multiplexer we run in, or None outside one.

    tmux forwards a DCS ``tmux;`` passthrough (ESCs doubled) when ``allow-passthrough`` is on;
    GNU screen forwards a plain DCS.
    """
    env = os.environ if environ is None else environ
    if env.get("TMUX"):
        return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    if env.get("STY"):
        return "\x1bP" + sequence + "\x1b\\"
    return None


def delivery(environ: dict[str, str] | None = None) -> str:
    """What a copy can honestly claim. Inside tmux, both ways to the outer terminal can be off
    (``set-clipboard`` for the bare OSC 52, ``allow-passthrough`` for the wrapped one): then the
    value never reaches a clipboard, and the console says so instead of "copied"."""
    env = os.environ if environ is None else environ
    if not env.get("TMUX"):
        return "sent to the terminal clipboard (OSC 52; the terminal must allow it)"
    options = {}
    for name in ("set-clipboard", "allow-passthrough"):
        try:
            out = subprocess.run(["tmux", "show-options", "-gv", name], capture_output=True, text=True,
                                 timeout=1.0, env=dict(env))
            options[name] = out.stdout.strip() if out.returncode == 0 else "?"
        except (OSError, subprocess.SubprocessError):
            options[name] = "?"
    if options["set-clipboard"] == "off" and options["allow-passthrough"] in ("off", "?"):
        return ("NOT copied: tmux has set-clipboard off (and no passthrough); "
                "`tmux set -g set-clipboard on` lets OSC 52 through")
    return "copied through tmux to the terminal clipboard (OSC 52)"
