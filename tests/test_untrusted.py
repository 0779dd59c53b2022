"""The sanitiser for untrusted text: every control character is shown, never obeyed."""

from __future__ import annotations

from aptui.untrusted import has_control, visible, visible_deep

OSC52 = "\x1b]52;c;ZXZpbA==\x07"
OSC8 = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
CSI_CLEAR = "\x1b[2J"
C1_CSI = "\x9b2J"


def test_escapes_become_visible_text():
    for attack in (OSC52, OSC8, CSI_CLEAR, C1_CSI, "\x1b]0;pwned\x07", "a\rb", "\x00", "\x7f"):
        out = visible(f"name {attack} end")
        assert not has_control(out), repr(out)
        assert out.startswith("name ") and out.endswith(" end")
    assert visible(OSC52) == "\\x1b]52;c;ZXZpbA==\\x07"
    assert visible(C1_CSI) == "\\x9b2J"


def test_newlines_and_tabs_only_on_request():
    assert visible("a\nb\tc") == "a\\x0ab\\x09c"
    assert visible("a\nb\tc\x1b", keep_newlines=True) == "a\nb\tc\\x1b"


def test_bidi_overrides_are_shown():
    assert visible("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"


def test_plain_text_and_unicode_untouched():
    text = "Slack – prod • ✓ 東京 émoji 🙂 [bold]"
    assert visible(text) == text and not has_control(text)


def test_deep_walks_keys_and_values():
    data = {"n\x1bame": ["ok", ("x\x07",)], "k": 3, "s": None}
    assert visible_deep(data) == {"n\\x1bame": ["ok", ("x\\x07",)], "k": 3, "s": None}
