"""In-process checks of CLI helpers that need a terminal: hidden prompts and the progress bar."""

from __future__ import annotations

import io
import sys

import pytest

from aptui.cli import ref as ref_cli
from aptui.cli import sm as sm_cli
from aptui.errors import AptuiError
from aptui.providers.fields import PROVIDERS


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hidden_prompt_per_missing_secret_field(monkeypatch):
    asked = []

    def fake_getpass(prompt):
        asked.append(prompt)
        return "typed-" + str(len(asked))

    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    got = sm_cli.read_secret_fields(PROVIDERS["hashicorp"], ["roleId", "secretId"])
    assert got == {"roleId": "typed-1", "secretId": "typed-2"}
    assert all("hidden" in p for p in asked)


def test_stdin_json_rejects_unknown_fields(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"nope": "x"}'))
    with pytest.raises(AptuiError) as e:
        sm_cli.read_secret_fields(PROVIDERS["aws"], ["secretAccessKey"])
    assert e.value.exit_code == 2 and "unknown field 'nope'" in e.value.message


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    update, finish = ref_cli._progress()
    assert update is None
    finish()
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    update, finish = ref_cli._progress()
    update(1, 2, "scan a.json")
    update(2, 2, "test prod-aws")
    finish()
    assert "2/2" in tty.getvalue()  # drawn on stderr, never on stdout
