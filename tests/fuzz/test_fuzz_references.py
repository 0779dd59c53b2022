"""Hypothesis against independent models of upstream's algorithms (providers.md §1.2, §1.3).

``tests/references/test_fuzz.py`` checks that the parser and the walk never crash; here their
results are compared with models written from the contract:
- the parser with ``trimKeyBraces``/``extractConnectionIdAndPath`` (JS ``trim`` built from the Unicode
  categories, not from aptui's table) and ``containsSecretManagerReference``;
- the walk with ``resolveUnknownValue``: the strings it reports as references, substituted back, give
  exactly what Activepieces resolves (keys never, arrays never, whole strings only), and every
  string leaf is accounted for exactly once, in document order.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import strategies as st

from aptui.references import grammar, walk
from aptui.references.grammar import SEPARATOR, NotReference, Reference
from tests.fuzz.profiles import CI_EXAMPLES, SLOW_EXAMPLES, run

# JavaScript WhiteSpace (TAB, VT, FF, ZWNBSP, every Zs) and LineTerminator (LF, CR, LS, PS).
JS_SPACE = frozenset({chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs"}
                     | set("\t\x0b\x0c\ufeff\n\r\u2028\u2029"))

# -- models of upstream ------------------------------------------------------------------------------


def js_trim(s: str) -> str:
    i, j = 0, len(s)
    while i < j and s[i] in JS_SPACE:
        i += 1
    while j > i and s[j - 1] in JS_SPACE:
        j -= 1
    return s[i:j]


def upstream_extract(value: str) -> tuple[str, str] | str:
    """(connectionId, path), or the KEY_NOT_SECRET message."""
    t = js_trim(value)
    if not (t.startswith("{{") and t.endswith("}}")):
        return "Key is not a secret"
    inner = t[2:-2]
    i = inner.find("|ap_sep_v1|")
    if i == -1:
        return "Key is not in the expected secret format"
    connection_id, path = inner[:i], inner[i + len("|ap_sep_v1|"):]
    if connection_id == "" or path == "":
        return "Invalid secret key: missing connectionId or path"
    return connection_id, path


def upstream_contains(value: Any) -> bool:
    if isinstance(value, str):
        t = js_trim(value)
        return t.startswith("{{") and "|ap_sep_v1|" in t and t.endswith("}}")
    if isinstance(value, dict | list):
        return any(upstream_contains(v) for v in (value.values() if isinstance(value, dict) else value))
    return False


def upstream_resolve(value: Any) -> Any:
    """resolveUnknownValue: objects recurse (values only), strings resolve whole, the rest as is."""
    if isinstance(value, dict):
        return {k: upstream_resolve(v) for k, v in value.items()}
    if isinstance(value, str):
        parsed = upstream_extract(value)
        return ("RESOLVED", *parsed) if isinstance(parsed, tuple) else value
    return value


# -- strategies ------------------------------------------------------------------------------------

SPACE = st.sampled_from([*sorted(JS_SPACE), "\x1c", "\x85", "\u200b"])  # the last three: not JS space
PIECES = st.sampled_from(["{{", "}}", "{", "}", SEPARATOR, "|ap_sep_v1", "ap_sep_v1|", "|AP_SEP_V1|", "|", ":",
                          "/", "op://", "aws:", "secret/data/", "awsConn00000000000001", "${", "\x00"])
TEXT = st.one_of(st.text(max_size=30),
                 st.lists(st.one_of(PIECES, SPACE, st.text(max_size=4)), max_size=10).map("".join))
REFERENCE = st.builds(lambda pre, cid, path, post: pre + "{{" + cid + SEPARATOR + path + "}}" + post,
                      st.lists(SPACE, max_size=2).map("".join), TEXT, TEXT, st.lists(SPACE, max_size=2).map("".join))
STRING = st.one_of(TEXT, REFERENCE)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), STRING)
DOC = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(STRING, inner, max_size=4)), max_leaves=16)

# -- checks ----------------------------------------------------------------------------------------------


def check_parser(value: str) -> None:
    got = grammar.parse(value)
    want = upstream_extract(value)
    if isinstance(want, tuple):
        assert got == Reference(*want), (value, got, want)
    else:
        assert isinstance(got, NotReference) and got.reason == want and got.code == grammar.KEY_NOT_SECRET
    padded = "\u3000\t" + value + "\ufeff\n"
    assert grammar.parse(padded) == got  # JS trim: surrounding whitespace never matters
    assert grammar.contains_reference(value) == upstream_contains(value)
    if isinstance(got, Reference) and SEPARATOR not in got.connection_id:
        assert grammar.parse(got.text) == got  # the UI-built text parses back to the same reference


def _leaves(doc: Any, path: tuple = (), in_array: bool = False):
    """Every string leaf, in document order: (path, value, in_array, is_key)."""
    if isinstance(doc, str):
        yield path, doc, in_array, False
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield (*path, k), k, in_array, True
            yield from _leaves(v, (*path, k), in_array)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, (*path, i), True)


def _expected_kind(value: str, in_array: bool, is_key: bool) -> str | None:
    resolvable = isinstance(upstream_extract(value), tuple)
    if resolvable:
        return walk.NOT_RESOLVED if (in_array or is_key) else walk.REFERENCE
    found = grammar.classify_passthrough(value)
    if found is None:
        return None
    if in_array or is_key or found[0] == "partial":
        return walk.NOT_RESOLVED
    return walk.BROKEN


def check_walk(doc: Any) -> None:
    items = walk.walk(doc)
    # 1. substituting what the walk calls references gives exactly upstream's resolution
    resolved = {i.path: ("RESOLVED", i.reference.connection_id, i.reference.path)
                for i in items if i.kind == walk.REFERENCE}
    assert walk.substitute(doc, resolved) == upstream_resolve(doc)
    # 2. references are never keys and never under an array index
    for i in items:
        if i.kind == walk.REFERENCE:
            assert not i.is_key and not any(isinstance(p, int) for p in i.path), i
        assert i.json_path.startswith("$") and "\n" not in (i.reason or "")
    # 3. every string leaf is accounted for exactly once, in document order
    expected = [(p, v, k, is_key) for p, v, in_arr, is_key in _leaves(doc)
                if (k := _expected_kind(v, in_arr, is_key)) is not None]
    assert [(i.path, i.value, i.kind, i.is_key) for i in items] == expected


# -- tests -----------------------------------------------------------------------------------------------


def test_js_whitespace_table_matches_unicode():
    assert frozenset(grammar.JS_WHITESPACE) == JS_SPACE


def test_parser_matches_upstream_model():
    assert run("reference parser", STRING, check_parser, CI_EXAMPLES) >= CI_EXAMPLES


def test_walk_matches_upstream_model():
    assert run("JSON resolve walker", DOC, check_walk, CI_EXAMPLES) >= CI_EXAMPLES


@pytest.mark.slow
def test_parser_matches_upstream_model_10k():
    assert run("reference parser", STRING, check_parser, SLOW_EXAMPLES) >= SLOW_EXAMPLES


@pytest.mark.slow
def test_walk_matches_upstream_model_10k():
    assert run("JSON resolve walker", DOC, check_walk, SLOW_EXAMPLES) >= SLOW_EXAMPLES
