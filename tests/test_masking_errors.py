"""Core types: Secret never renders its value by accident; errors are one line with a code."""

from __future__ import annotations

import json
import pickle

import pytest

from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret, mask, redact


def test_mask_rule():
    assert mask("sk-1234567890abcdef") == "sk-•••••• (16+ chars)"
    assert mask("pin1") == "•••••• (under 8 chars)"
    assert mask("") == "(empty)"


def test_masks_show_neither_exact_lengths_nor_untyped_prefixes():
    assert mask("a" * 17) == mask("a" * 31) == mask("b" * 16) == "•••••• (16+ chars)"
    assert mask("s3cr3t-value-123").startswith("•")  # untyped: not one character of it
    assert mask("ghp_" + "x" * 36) == "ghp_•••••• (32+ chars)"  # a typed prefix says what it is
    assert mask("sk-short") == "•••••• (8+ chars)"  # too short for its prefix to be shown
    assert mask("x" * 500).endswith("(64+ chars)")


def test_secret_never_renders_value():
    s = Secret("canary-super-secret")
    for text in (repr(s), str(s), f"{s}", f"{s:>40}", "%s" % (s,),  # noqa: UP031
                  json.dumps({"v": str(s)})):
        assert "canary-super-secret" not in text
    assert s.reveal() == "canary-super-secret"
    assert len(s) == 19 and s == Secret("canary-super-secret")
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(AttributeError):
        s._value = "x"


def test_redact():
    assert redact("token=abcdef123 and abcdef123", ["abcdef123"]) == "token=•••••• (8+ chars) and •••••• (8+ chars)"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to scrub meaningfully


def test_error_is_one_line_and_round_trips():
    err = AptuiError("VALIDATION", "bad\nthing  here", hint="fix it", params={"provider": "aws"})
    assert str(err) == "VALIDATION: bad\\nthing  here (fix it)"
    assert "\n" not in str(err)
    assert err.to_dict() == {"code": "VALIDATION", "message": "bad\nthing  here", "hint": "fix it",
                             "params": {"provider": "aws"}}
    clone = pickle.loads(pickle.dumps(err))
    assert clone.to_dict() == err.to_dict() and clone.exit_code == Exit.FAILED
    assert usage("x").exit_code == 2
