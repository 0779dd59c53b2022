"""Hypothesis over the hardening audit's .env parser (``aptui/services/hardening/envfile.py``).

- Arbitrary text: parsed, or ``FILE_INVALID`` (exit 2, one line, naming a line, never a value).
- Arbitrary bytes through ``load_env_file``: parsed, or ``FILE_NOT_TEXT``/``FILE_INVALID`` (exit 2).
- Round trips: any mapping of keys to values (multi-line, quotes, ``$``, ``#``, backslashes, unicode)
  written with the quoting a careful operator would use parses back to the same values, in order,
  with the right line numbers; the last of two assignments wins; plain values survive unquoted.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import strategies as st

from aptui.errors import AptuiError
from aptui.services.hardening.envfile import load_env_file, parse_env
from tests.fuzz.profiles import CI_EXAMPLES, SLOW_EXAMPLES, run

KEY = st.from_regex(r"\A(export )?[A-Za-z_][A-Za-z0-9_.\-]{0,12}\Z")
NO_NUL = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
VALUE = st.text(NO_NUL, max_size=40)
PIECES = st.sampled_from(["=", "'", '"', "\\", "$", "${", "}", ":-", "#", " #", "\n", "\r\n", "\r", "export ",
                          "A=", "KEY", " ", "\t", "\\n", "\\$", "\ufeff"])
TEXT = st.one_of(st.text(NO_NUL, max_size=80), st.lists(st.one_of(PIECES, st.text(NO_NUL, max_size=3)),
                                                        max_size=20).map("".join))
PLAIN = st.from_regex(r"\A[A-Za-z0-9_./:@+,-]{0,20}\Z")

_DIR = Path(tempfile.mkdtemp(prefix="aptui-fuzz-env-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _clean_error(err: AptuiError, codes: set[str]) -> None:
    assert err.code in codes and err.exit_code == 2, err.to_dict()
    assert "\n" not in err.one_line()


def check_text(text: str) -> None:
    try:
        env = parse_env(text)
    except AptuiError as err:
        _clean_error(err, {"FILE_INVALID"})
        assert re.search(r":\d+: unterminated (single|double)-quoted value for ", err.message), err.message
        return
    lines = text.count("\n") + 1
    for e in env.entries:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", e.key) and 1 <= e.line <= lines
        assert repr(e.value) not in repr(e) or not e.value  # the repr masks values
    for line, reason in env.problems:
        assert 1 <= line <= lines and reason and "\n" not in reason
    assert env.values == {e.key: e.value for e in env.entries}  # the last assignment wins


def check_bytes(data: bytes) -> None:
    path = _DIR / "fuzz.env"
    path.write_bytes(data)
    try:
        env = load_env_file(path)
    except AptuiError as err:
        _clean_error(err, {"FILE_INVALID", "FILE_NOT_TEXT"})
        return
    assert b"\x00" not in data
    check_text(data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n"))
    assert env.values is not None


def quote(value: str) -> str:
    """How an operator writes any value: single quotes when possible, else escaped double quotes."""
    if "'" not in value:
        return "'" + value + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\r", "\\r")
    return '"' + escaped + '"'


def check_round_trip(pairs: list[tuple[str, str]]) -> None:
    lines, expected, starts = [], {}, []
    n = 1
    for key, value in pairs:
        starts.append(n)
        text = f"{key}={quote(value)}"
        lines.append(text)
        n += text.count("\n") + 1
        expected[key.removeprefix("export ")] = value
    env = parse_env("\n".join(lines) + "\n")
    assert env.problems == []
    assert env.values == expected
    assert [e.line for e in env.entries] == starts
    assert [e.key for e in env.entries] == [k.removeprefix("export ") for k, _ in pairs]


def check_plain(pairs: list[tuple[str, str]]) -> None:
    text = "".join(f"{k} = {v}   # comment\n" if i % 2 else f"{k}={v}\n" for i, (k, v) in enumerate(pairs))
    expected = {}
    for k, v in pairs:
        expected[k.removeprefix("export ")] = v
    assert parse_env(text).values == expected


PAIRS = st.lists(st.tuples(KEY, VALUE), max_size=6)
PLAIN_PAIRS = st.lists(st.tuples(KEY, PLAIN), max_size=6)
BYTES = st.one_of(st.binary(max_size=200), TEXT.map(lambda t: t.encode("utf-8")),
                  TEXT.map(lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode("utf-8")))


def test_env_text():
    assert run(".env parser (text)", TEXT, check_text, CI_EXAMPLES) >= CI_EXAMPLES


def test_env_bytes():
    assert run(".env parser (bytes)", BYTES, check_bytes, CI_EXAMPLES) >= CI_EXAMPLES


def test_env_round_trip():
    assert run(".env parser (round trip)", PAIRS, check_round_trip, CI_EXAMPLES) >= CI_EXAMPLES
    assert run(".env parser (plain values)", PLAIN_PAIRS, check_plain, CI_EXAMPLES) >= CI_EXAMPLES


@pytest.mark.slow
def test_env_text_10k():
    assert run(".env parser (text)", TEXT, check_text, SLOW_EXAMPLES) >= SLOW_EXAMPLES


@pytest.mark.slow
def test_env_bytes_10k():
    assert run(".env parser (bytes)", BYTES, check_bytes, SLOW_EXAMPLES) >= SLOW_EXAMPLES


@pytest.mark.slow
def test_env_round_trip_10k():
    assert run(".env parser (round trip)", PAIRS, check_round_trip, SLOW_EXAMPLES) >= SLOW_EXAMPLES
    assert run(".env parser (plain values)", PLAIN_PAIRS, check_plain, SLOW_EXAMPLES) >= SLOW_EXAMPLES
