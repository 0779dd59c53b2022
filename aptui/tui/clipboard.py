"""Copy over SSH: OSC 52, wrapped for tmux/screen passthrough when running inside one."""

from __future__ import annotations

import base64
import os


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
