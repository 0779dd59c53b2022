"""Hypothesis over the config loader: arbitrary TOML documents (known sections and keys with values
of every TOML type, unknown ones too), arbitrary ``APTUI_*`` overrides and arbitrary bytes. The only
outcomes allowed: valid ``Settings`` (every number finite and in range) or ``CONFIG_INVALID``, exit 2,
one line."""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from aptui.config import _SCALARS, Paths, Settings, load_settings
from aptui.errors import AptuiError
from tests.fuzz.profiles import CI_EXAMPLES, SLOW_EXAMPLES, run

SECTIONS = ["general", "cache", "providers", "platform", "rotation", "keymap"]
KNOWN_KEYS = sorted({k.split(".", 1)[1] for k in _SCALARS} | {"policies", "items", "pane.refresh", "sm.add"})
ENV_NAMES = sorted({env for _attr, env, _kind in _SCALARS.values()})

# -- a small TOML writer (the generated documents only use these types) ----------------------------


def toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=True)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for key, value in doc.items():
        if not isinstance(value, dict):
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in doc.items():
        if isinstance(value, dict):
            lines.append(f"[{toml_key(key)}]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
    return "\n".join(lines) + "\n"


# -- strategies ---------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
DURATIONS = st.sampled_from(["10s", "5m", "1.5h", "90d", "2w", "0", "0s", "-1", "1e400", "nan", "inf", " 3 m ",
                             "9" * 400, "", "10x", "1.", ".5"])
NUMBERS = st.one_of(st.integers(), st.integers(-20, 20), st.floats(), st.sampled_from([0.0, -0.0, 1e308, 5e-324]))
SCALAR = st.one_of(st.booleans(), NUMBERS, TEXT, DURATIONS,
                   st.sampled_from(["true", "false", "yes", "off", "1", "TRUE "]))
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.one_of(TEXT, st.sampled_from(KNOWN_KEYS)),
                                                                     inner, max_size=3)), max_leaves=6)
TABLE = st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), TEXT), VALUE, max_size=5)
RANDOM_DOCUMENT = st.dictionaries(st.one_of(st.sampled_from(SECTIONS), TEXT), st.one_of(TABLE, SCALAR), max_size=5)


def _nest(pairs: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for dotted, value in pairs.items():
        section, key = dotted.split(".", 1)
        if not isinstance(doc.setdefault(section, {}), dict):
            continue
        doc[section][key] = value
    return doc


# Known keys (and rotation tables) with hostile values: where a bad value would slip through.
KNOWN_DOCUMENT = st.dictionaries(
    st.sampled_from([*sorted(_SCALARS), "rotation.policies", "rotation.items", "keymap.sm.add"]),
    st.one_of(SCALAR, st.dictionaries(st.sampled_from(["aws", "hashicorp", "x"]), SCALAR, max_size=2)),
    max_size=6).map(_nest)
DOCUMENT = st.one_of(RANDOM_DOCUMENT, KNOWN_DOCUMENT)
ENVIRON = st.dictionaries(st.sampled_from(ENV_NAMES), st.one_of(TEXT, DURATIONS, st.sampled_from(["1", "no", "11"])),
                          max_size=3)

_DIR = Path(tempfile.mkdtemp(prefix="aptui-fuzz-config-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
_PATHS = Paths(config_dir=_DIR, data_dir=_DIR)


def _load(environ: dict[str, str]) -> None:
    try:
        settings = load_settings(_PATHS, environ=environ)
    except AptuiError as err:
        assert err.code == "CONFIG_INVALID" and err.exit_code == 2, err.to_dict()
        assert "\n" not in err.one_line() and err.message
        return
    check_settings(settings)


def check_settings(s: Settings) -> None:
    for name in ("timeout", "reveal_seconds", "due_soon"):
        value = getattr(s, name)
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (name, value)
    for name in ("value_ttl", "status_ttl"):
        value = getattr(s, name)
        assert isinstance(value, float) and math.isfinite(value) and value >= 0, (name, value)
    assert isinstance(s.retries, int) and not isinstance(s.retries, bool) and 0 <= s.retries <= 10
    for name in ("read_only", "high_contrast", "mouse", "conjur_verify_tls"):
        assert isinstance(getattr(s, name), bool)
    assert isinstance(s.theme, str) and isinstance(s.default_profile, str)
    for table in (s.rotation_policies, s.rotation_items):
        assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in table.values()), table
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in s.keymap.items())


def check_document(case: tuple[dict[str, Any], dict[str, str]]) -> None:
    doc, environ = case
    text = to_toml(doc)
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        parsed = None  # e.g. a key repeated after quoting: still a valid fuzz input for the loader
    if parsed is not None:
        assert set(parsed) == {str(k) for k in doc}
    _PATHS.config_file.write_text(text, "utf-8")
    _load(environ)


def check_bytes(data: bytes) -> None:
    _PATHS.config_file.write_bytes(data)
    _load({})


BYTES = st.one_of(st.binary(max_size=200), TEXT.map(lambda t: t.encode("utf-8")),
                  st.sampled_from([b"\xff\xfe[general]", b"[general]\ntimeout = \"1s\"\n\x00", b"\xef\xbb\xbf[cache]"]))


@pytest.fixture(autouse=True)
def _no_config_override(monkeypatch):
    monkeypatch.delenv("APTUI_CONFIG", raising=False)


def test_config_documents():
    assert run("config loader (TOML)", st.tuples(DOCUMENT, ENVIRON), check_document, CI_EXAMPLES) >= CI_EXAMPLES


def test_config_bytes():
    assert run("config loader (bytes)", BYTES, check_bytes, CI_EXAMPLES) >= CI_EXAMPLES


@pytest.mark.parametrize(("text", "code"), [
    ("[general]\ntimeout = nan\n", "CONFIG_INVALID"),
    ("[general]\ntimeout = inf\n", "CONFIG_INVALID"),
    ("[cache]\nvalue_ttl = \"1e400s\"\n", "CONFIG_INVALID"),
    ("[rotation.policies]\naws = nan\n", "CONFIG_INVALID"),
    ("[general]\ntimeout = 2.5\nretries = 10\n", None),
])
def test_non_finite_numbers_are_config_errors(text, code):
    _PATHS.config_file.write_text(text, "utf-8")
    if code is None:
        check_settings(load_settings(_PATHS, environ={}))
        return
    with pytest.raises(AptuiError) as info:
        load_settings(_PATHS, environ={})
    assert info.value.code == code and info.value.exit_code == 2


@pytest.mark.slow
def test_config_documents_10k():
    assert run("config loader (TOML)", st.tuples(DOCUMENT, ENVIRON), check_document,
               SLOW_EXAMPLES) >= SLOW_EXAMPLES


@pytest.mark.slow
def test_config_bytes_10k():
    assert run("config loader (bytes)", BYTES, check_bytes, SLOW_EXAMPLES) >= SLOW_EXAMPLES
