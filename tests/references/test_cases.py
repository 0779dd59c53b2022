"""Every case of reference-cases.public.json (and any hidden case of the same format).

Offline: the grammar verdict, the internal KEY_NOT_SECRET reason, the parsed provider fields, the
exact error code and message. Live: cases with a ``fixture`` resolve end to end against moto (AWS)
or the Vault double, to ``value`` or to the expected error.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import pytest

from aptui.references import grammar, walk
from aptui.services import references as svc
from aptui.store import connections as store_conn
from tests.references.helpers import (
    CASES,
    FIXTURE_IDS,
    context_scope,
    message_matches,
    seed_fixture_connections,
)

LIVE_PROVIDERS = {"aws", "hashicorp"}
KNOWN_FIXTURE_KEYS = {"secrets", "secrets_binary", "kv2"}


def _scoped_seed(ctx, case) -> list[str] | None:
    asked, scope, conn_projects = context_scope(case)
    if scope == "PROJECT" and not conn_projects:
        conn_projects = ["fixture-project"]
    seed_fixture_connections(ctx.store, scope=scope, project_ids=conn_projects)
    return asked


def _target(case: dict[str, Any]) -> Any:
    """The string the case is about (the single reference inside a document input)."""
    value = case["input"]
    if isinstance(value, dict | list):
        refs = [i for i in walk.walk(value) if i.kind == walk.REFERENCE]
        if case["expect"] == "passthrough":
            assert refs == [], "Activepieces would resolve something inside this document"
            return None
        assert len(refs) == 1
        return refs[0].value
    return value


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_offline(case, ctx):
    asked = _scoped_seed(ctx, case)
    value = _target(case)
    if value is None and isinstance(case["input"], dict | list):
        return
    parsed = grammar.parse(value)
    result = svc.parse_reference(ctx, value, project_ids=asked)
    if case["expect"] == "passthrough":
        assert isinstance(parsed, grammar.NotReference)
        assert parsed.code == case["code"]
        assert parsed.reason == case["message"]
        assert result.passthrough and result.reference is None
        assert result.value is None and result.error is None
        return
    assert isinstance(parsed, grammar.Reference)
    expected_parsed = case.get("parsed") or {}
    if "connectionId" in expected_parsed:
        assert parsed.connection_id == expected_parsed["connectionId"]
        assert parsed.path == expected_parsed["path"]
    if case["expect"] == "valid":
        assert result.verdict == svc.VALID, result.error and result.error.one_line()
        if case.get("parsed") is not None:
            assert result.parsed == case["parsed"]
        return
    if case.get("fixture"):
        return  # the error depends on stored content: checked live below
    assert result.verdict == svc.ERROR
    assert result.error.code == case["code"]
    assert message_matches(case, result.error.message), result.error.message
    if case["code"] == "SECRET_MANAGER_GET_SECRET_FAILED" and result.error.message == svc.NOT_ACCESSIBLE:
        assert result.error.params["provider"] == parsed.connection_id
        assert result.error.params["request"] == {"connectionId": parsed.connection_id, "path": parsed.path}


LIVE = [c for c in CASES if c.get("fixture") and c.get("provider") in LIVE_PROVIDERS
        and ("value" in c or c["expect"] == "error")]


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


def _kv2_leaves(tree: dict[str, Any], prefix: str = ""):
    """``{mount: {a: {b: {field: v}}}}`` → (mount, "a/b", {field: v}) for each leaf dict."""
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict) and value and all(not isinstance(v, dict) for v in value.values()):
            yield path, value
        elif isinstance(value, dict):
            yield from _kv2_leaves(value, path)


@pytest.mark.parametrize("case", LIVE, ids=[c["id"] for c in LIVE])
async def test_case_live(case, ctx, request):
    fixture = case["fixture"]
    unknown = set(fixture) - KNOWN_FIXTURE_KEYS
    if unknown:
        pytest.skip(f"fixture kinds without a double here: {sorted(unknown)}")
    asked, scope, conn_projects = context_scope(case)
    if scope == "PROJECT" and not conn_projects:
        conn_projects = ["fixture-project"]
    provider = case["provider"]
    if provider == "aws":
        aws = request.getfixturevalue("moto_aws")
        for name, text in (fixture.get("secrets") or {}).items():
            aws.create_secret(name, text)
        for name, text in (fixture.get("secrets_binary") or {}).items():
            aws.create_secret(name, _binary(text))
        config = aws.config()
    else:
        bao = request.getfixturevalue("openbao")  # a real OpenBao; each case in its own namespace
        ns = bao.fresh_namespace("case")
        role = bao.approle("app", namespace=ns)
        for mount_and_path, data in _kv2_leaves(fixture.get("kv2") or {}):
            mount, _, path = mount_and_path.partition("/")
            bao.enable_kv(mount, 2, namespace=ns)
            bao.write_kv2(mount, path, data, namespace=ns)
        config = bao.config(role)
    store_conn.create(ctx.store, provider_id=provider, name=f"live-{provider}", config=config, scope=scope,
                      project_ids=conn_projects, connection_id=FIXTURE_IDS[provider])
    result = await svc.test_reference(ctx, case["input"], project_ids=asked)
    if case["expect"] == "error":
        assert result.verdict == svc.ERROR
        assert result.error.code == case["code"]
        assert message_matches(case, result.error.message), result.error.message
    else:
        assert result.verdict == svc.RESOLVES, result.error and result.error.one_line()
        assert result.value.reveal() == case["value"]
        # the second time it comes from aptui's cache
        again = await svc.test_reference(ctx, case["input"], project_ids=asked)
        assert again.cached and again.value.reveal() == case["value"]
