"""The dotenv parser: every accepted syntax, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptui.errors import AptuiError
from aptui.services.hardening.envfile import load_env_file, parse_env
from tests.hardening.conftest import FIXTURES


def values(text: str) -> dict[str, str]:
    return parse_env(text).values


def test_syntax_fixture_covers_every_form():
    env = load_env_file(FIXTURES / "syntax.env")
    v = env.values
    assert v["PLAIN"] == "value"
    assert v["SPACED"] == "spaced value"
    assert v["EXPORTED"] == "yes"
    assert v["INLINE"] == "kept"
    assert v["HASH"] == "abc#def"
    assert v["EMPTY"] == "" and v["EMPTY_COMMENT"] == ""
    assert v["SINGLE"] == "literal $PLAIN \\n kept"
    assert v["DOUBLE"] == 'tab\there "quoted" $PLAIN'
    assert v["MULTI"] == "first line\nsecond line"
    assert v["SINGLE_MULTI"] == "one\ntwo"
    assert v["EXPANDED"] == "value-value-fallback"
    assert v["UNRESOLVED"] == "${NOT_DEFINED}/x" and env.entry("UNRESOLVED").unresolved
    assert v["DOTTED.KEY-1"] == "ok"
    assert v["AFTER"] == "x"
    # line numbers follow multi-line values
    assert env.entry("SINGLE_MULTI").line == 13 and env.entry("EXPANDED").line == 15
    assert [line for line, _ in env.problems] == [18, 19, 20]
    assert "bare name" in env.problems[1][1] and "not a KEY=VALUE" in env.problems[2][1]


def test_crlf_and_bom(tmp_path):
    env = load_env_file(FIXTURES / "crlf.env")
    assert env.values == {"A": "1", "B": "two\nlines"}
    bom = tmp_path / "bom.env"
    bom.write_bytes(b"\xef\xbb\xbfX=1\r\nY=2")
    assert load_env_file(bom).values == {"X": "1", "Y": "2"}


def test_expansion_uses_only_earlier_keys_of_the_file(monkeypatch):
    monkeypatch.setenv("FROM_SHELL", "shell-value")
    env = parse_env("A=${FROM_SHELL}\nB=${LATER}\nLATER=x\nC=${A:-d}${E-e}${F:-}\n")
    assert env.get("A") == "${FROM_SHELL}" and env.entry("A").unresolved
    assert env.get("B") == "${LATER}"
    assert env.get("C") == "${FROM_SHELL}e"


def test_escaped_dollar_is_literal():
    assert values('A=1\nB="\\$A and $A"') == {"A": "1", "B": "$A and 1"}


def test_duplicates_last_wins():
    env = parse_env("K=1\nK=2\n")
    assert env.get("K") == "2"
    assert env.duplicates() == {"K": [1, 2]}


def test_entry_repr_masks_the_value():
    env = parse_env("AP_JWT_SECRET=canary-value-123456789\n")
    assert "canary" not in repr(env.entries[0]) and "canary" not in repr(env)


@pytest.mark.parametrize("text,line", [('A=1\nB="open\n', 2), ("X='never closed", 1)])
def test_unterminated_quote_is_a_clear_error(text, line):
    with pytest.raises(AptuiError) as exc:
        parse_env(text, Path("/x/.env"))
    assert exc.value.code == "FILE_INVALID" and exc.value.exit_code == 2
    assert f"/x/.env:{line}:" in exc.value.message
    assert "open" not in exc.value.message.split(":", 2)[-1].replace("unterminated", "")


def test_unterminated_fixture_names_the_line_not_the_value():
    with pytest.raises(AptuiError) as exc:
        load_env_file(FIXTURES / "unterminated.env")
    assert "unterminated.env:2:" in exc.value.message and "never ends" not in exc.value.one_line()


def test_missing_file(tmp_path):
    with pytest.raises(AptuiError) as exc:
        load_env_file(tmp_path / "nope.env")
    assert exc.value.code == "FILE_NOT_FOUND" and exc.value.exit_code == 2


def test_directory_is_refused(tmp_path):
    with pytest.raises(AptuiError) as exc:
        load_env_file(tmp_path)
    assert exc.value.code == "FILE_INVALID" and "directory" in exc.value.message


def test_binary_file_is_refused(tmp_path):
    p = tmp_path / "bin.env"
    p.write_bytes(b"A=1\x00\x01\x02")
    with pytest.raises(AptuiError) as exc:
        load_env_file(p)
    assert exc.value.code == "FILE_NOT_TEXT" and exc.value.exit_code == 2


def test_non_utf8_is_refused(tmp_path):
    p = tmp_path / "latin.env"
    p.write_bytes(b"A=caf\xe9\n")
    with pytest.raises(AptuiError) as exc:
        load_env_file(p)
    assert exc.value.code == "FILE_NOT_TEXT"


def test_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "locked.env"
    p.write_text("A=1\n")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(AptuiError) as exc:
        load_env_file(p)
    assert exc.value.code == "FILE_UNREADABLE" and exc.value.exit_code == 2


def test_huge_file_is_refused(tmp_path):
    p = tmp_path / "huge.env"
    p.write_bytes(b"A=" + b"x" * (5 * 1024 * 1024 + 10))
    with pytest.raises(AptuiError) as exc:
        load_env_file(p)
    assert exc.value.code == "FILE_INVALID" and "too large" in exc.value.message
