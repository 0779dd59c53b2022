"""Hypothesis over the parser and the path rules: arbitrary text never crashes, every error has a code."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aptui.errors import AptuiError
from aptui.references import grammar, paths, walk
from aptui.references.grammar import SEPARATOR, NotReference, Reference
from aptui.references.scan import load_env, load_json, load_yaml

PIECES = st.sampled_from(["{{", "}}", "{", "}", SEPARATOR, "|", "ap_sep_v1", ":", "/", "op://", " ", "\n",
                          "\ufeff", "\u2028", "aws", "secret/data/", "?", "\x00"])
TEXT = st.one_of(st.text(), st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=12).map("".join))
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
                       lambda inner: st.one_of(st.lists(inner, max_size=4),
                                               st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


def _check_text(text: str) -> None:
    parsed = grammar.parse(text)
    if isinstance(parsed, NotReference):
        assert parsed.code == grammar.KEY_NOT_SECRET and parsed.reason
        grammar.classify_passthrough(text)
        return
    assert isinstance(parsed, Reference)
    assert parsed.connection_id and parsed.path
    # Round trip: the canonical text parses to the same reference.
    assert grammar.parse(parsed.text) == parsed or SEPARATOR in parsed.connection_id
    grammar.reference_warnings(parsed)
    for provider_id in ("aws", "hashicorp", "cyberark-conjur", "onepassword"):
        try:
            fields = paths.split(provider_id, parsed.path)
        except AptuiError as err:
            assert err.code == "VALIDATION" and err.message and "\n" not in str(err)
        else:
            assert isinstance(fields, dict) and fields
            paths.path_warnings(provider_id, parsed.path)


def _check_doc(doc) -> None:
    for item in walk.walk(doc):
        assert item.kind in (walk.REFERENCE, walk.NOT_RESOLVED, walk.BROKEN)
        assert item.json_path.startswith("$")


FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TEXT)
def test_parser_never_crashes(text):
    _check_text(text)


@FAST
@given(JSONISH)
def test_walk_never_crashes(doc):
    _check_doc(doc)


@FAST
@given(TEXT)
def test_file_loaders_never_crash_unexpectedly(text):
    load_env(text)
    with contextlib.suppress(ValueError, RecursionError):
        load_json(text)
    try:
        load_yaml(text)
    except Exception as exc:  # only YAML's own errors are acceptable
        import yaml

        assert isinstance(exc, yaml.YAMLError | RecursionError), type(exc)


@pytest.mark.slow
@SLOW
@given(TEXT)
def test_parser_never_crashes_10k(text):
    _check_text(text)


@pytest.mark.slow
@SLOW
@given(JSONISH)
def test_walk_never_crashes_10k(doc):
    _check_doc(doc)


def test_offline_verdicts_never_crash(tmp_path_factory):
    """The service-level offline check over arbitrary text (one store for all examples)."""
    from aptui.config import Paths, Settings
    from aptui.services import references as svc
    from aptui.services.context import Context
    from aptui.store import connections as store_conn
    from tests.references.helpers import DUMMY_CONFIG, FIXTURE_IDS

    root = tmp_path_factory.mktemp("fuzz-store")
    ctx = Context(paths=Paths(root, root), settings=Settings())
    for provider_id, cid in FIXTURE_IDS.items():
        store_conn.create(ctx.store, provider_id=provider_id, name=provider_id, config=DUMMY_CONFIG[provider_id],
                          connection_id=cid)
    ids = st.sampled_from([*FIXTURE_IDS.values(), "aws", "hashicorp", "unknown"])
    refs = st.builds(lambda cid, path: "{{" + cid + SEPARATOR + path + "}}", ids, TEXT)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(TEXT, refs))
    def check(value):
        resolver = svc.Resolver(ctx, sdk_checks=False)
        r = resolver.prepare(value)
        assert r.verdict in (svc.VALID, svc.ERROR, svc.PASSTHROUGH, svc.NOT_RESOLVED_VERDICT)
        if r.verdict == svc.ERROR:
            assert r.error.code and r.error.message and "\n" not in str(r.error)
        import json

        json.dumps(r.to_dict(), default=str)

    try:
        check()
    finally:
        ctx.close()
