"""Shared provider plumbing: retry/backoff, JS semantics, message hygiene, the registry."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers import registry
from aptui.providers.base import Provider, ProviderOptions
from aptui.providers.errors import (
    JsJsonError,
    clean,
    describe_transport,
    js_json_parse,
    js_truthy,
    render_value,
    where,
)
from aptui.providers.retry import RetryPolicy, retry_async

# --- retry -----------------------------------------------------------------------------------------


async def test_retry_stops_after_success():
    calls = []
    sleeps = []

    async def op():
        calls.append(1)
        if len(calls) < 3:
            raise ValueError("transient")
        return "ok"

    async def sleep(s):
        sleeps.append(s)

    policy = RetryPolicy(attempts=5, base=0.1, cap=1.0)
    assert await retry_async(op, policy, retry_on_error=lambda e: isinstance(e, ValueError), sleep=sleep) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2  # full jitter under base * 2**n


async def test_retry_is_bounded_and_reraises():
    calls = []

    async def op():
        calls.append(1)
        raise ValueError("always")

    with pytest.raises(ValueError):
        await retry_async(op, RetryPolicy(attempts=4, base=0), retry_on_error=lambda e: True)
    assert len(calls) == 4


async def test_non_retryable_error_is_not_retried():
    calls = []

    async def op():
        calls.append(1)
        raise KeyError("fatal")

    with pytest.raises(KeyError):
        await retry_async(op, RetryPolicy(attempts=4, base=0), retry_on_error=lambda e: isinstance(e, ValueError))
    assert len(calls) == 1


async def test_retryable_result_returned_after_last_attempt():
    calls = []

    async def op():
        calls.append(1)
        return 503

    assert await retry_async(op, RetryPolicy(attempts=3, base=0), retry_on_result=lambda r: r >= 500) == 503
    assert len(calls) == 3


def test_backoff_is_capped_full_jitter():
    policy = RetryPolicy(attempts=10, base=0.5, cap=2.0)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(10) for _ in range(50)]
    assert max(delays) <= 2.0 and min(delays) >= 0.0
    assert RetryPolicy(base=0).delay(5) == 0.0


def test_policy_from_options():
    p = RetryPolicy.from_options(ProviderOptions(retries=2, extra={"backoff_base": 0, "backoff_cap": 1}))
    assert (p.attempts, p.base, p.cap) == (3, 0.0, 1.0)
    assert RetryPolicy.from_options(ProviderOptions(retries=-5)).attempts == 1


# --- JavaScript semantics ---------------------------------------------------------------------------

@pytest.mark.parametrize(("v", "truthy"), [("", False), (0, False), (0.0, False), (False, False), (None, False),
                                           (float("nan"), False), ("0", True), ([], True), ({}, True), (1, True),
                                           (True, True), ("x", True)])
def test_js_truthy(v, truthy):
    assert js_truthy(v) is truthy


@pytest.mark.parametrize(("text", "message"), [
    ("hello", "Unexpected token in JSON at position 0"),
    ('{"a": ', "Unexpected end of JSON input"),
    ('"open', "Unexpected end of JSON input"),
    ("1 2", "Unexpected non-whitespace character after JSON at position 2"),
    ("NaN", "Unexpected token in JSON at position 0"),
    ('{"a": Infinity}', "Unexpected token in JSON at position 6"),
])
def test_js_json_parse_errors_are_stable_and_excerpt_free(text, message):
    with pytest.raises(JsJsonError) as info:
        js_json_parse(text)
    assert str(info.value) == message


def test_js_json_parse_values():
    assert js_json_parse(' {"a": [1, true, null]} ') == {"a": [1, True, None]}
    assert js_json_parse('"s"') == "s"


def test_render_value():
    assert render_value("s") == ("s", [])
    text, notes = render_value({"b": 1})
    assert text == '{"b":1}' and "object" in notes[0]


# --- message hygiene -------------------------------------------------------------------------------

def test_clean_is_one_line_scrubbed_and_capped():
    out = clean("line one\nline two with hunter2-secret-value\t end", ["hunter2-secret-value"])
    assert "\n" not in out and "hunter2-secret-value" not in out and out.startswith("line one line two")
    assert len(clean("x" * 1000)) == 300


def test_where_hides_userinfo_and_path():
    assert where("https://user:pw@vault.example.com:8200/some/path?q=1") == "https://vault.example.com:8200"
    assert where(None) == "?"


@pytest.mark.parametrize(("exc", "text"), [
    (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    (TimeoutError(), "timed out after 3s"),
    (OSError("[Errno -2] Name or service not known"), "host name not resolved"),
    (OSError("something odd"), "connection failed"),
])
def test_describe_transport(exc, text):
    assert describe_transport(exc, 3) == text


def test_describe_transport_follows_the_cause_chain():
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError as outer:
        assert describe_transport(outer, 1) == "connection refused"


# --- registry --------------------------------------------------------------------------------------

def test_unknown_provider_is_usage():
    with pytest.raises(AptuiError) as info:
        registry.make_provider("gcp", {})
    assert info.value.exit_code == Exit.USAGE and "unknown secret-manager provider" in info.value.message


def test_missing_required_field_is_usage():
    with pytest.raises(AptuiError) as info:
        registry.make_provider("aws", {"accessKeyId": "a", "secretAccessKey": ""})
    assert info.value.exit_code == Exit.USAGE
    assert info.value.message == "AWS Secrets Manager connection is missing secretAccessKey, region"


@pytest.mark.parametrize(("pid", "config"), [
    ("aws", {"accessKeyId": "a", "secretAccessKey": "b", "region": "us-east-1"}),
    ("hashicorp", {"url": "http://127.0.0.1:1", "roleId": "r", "secretId": "s"}),
    ("cyberark-conjur", {"organizationAccountName": "o", "loginId": "l", "url": "http://x", "apiKey": "k"}),
    ("onepassword", {"serviceAccountToken": "ops_x"}),
])
def test_make_provider_builds_each_provider(pid, config):
    p = registry.make_provider(pid, config, connection_id="conn1")
    assert isinstance(p, Provider) and p.provider_id == pid and p.connection_id == "conn1"


async def test_provider_for_reuses_and_replaces():
    cfg = {"url": "http://127.0.0.1:1", "roleId": "r", "secretId": "s"}
    try:
        a = await registry.provider_for("c1", "hashicorp", cfg)
        assert await registry.provider_for("c1", "hashicorp", dict(cfg)) is a
        b = await registry.provider_for("c1", "hashicorp", {**cfg, "secretId": "rotated"})
        assert b is not a
        assert registry.live_connections() == ["c1"]
        c = await registry.provider_for("c1", "hashicorp", {**cfg, "secretId": "rotated"},
                                        ProviderOptions(timeout=1))
        assert c is not b
    finally:
        assert await registry.release() >= 1
    assert registry.live_connections() == []


async def test_replaced_client_is_closed(onepassword_fake):
    cfg = onepassword_fake.config()
    try:
        a = await registry.provider_for("op1", "onepassword", cfg, backend=onepassword_fake)
        await a.check()
        await registry.provider_for("op1", "onepassword", cfg, ProviderOptions(retries=0), backend=onepassword_fake)
        assert onepassword_fake.closed_sessions == 1
        assert await registry.release("op1") == 1
        assert await registry.release("op1") == 0
    finally:
        await registry.release()


def test_fingerprint_keeps_no_clear_values():
    fp = registry.fingerprint("aws", {"secretAccessKey": "very-secret"}, None)
    assert "very-secret" not in fp and len(fp) == 64


def test_registry_imports_no_sdk():
    code = ("import sys, aptui.providers.registry, aptui.providers.base, aptui.providers.errors, "
            "aptui.providers.retry\nprint(' '.join(sys.modules))")
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split())
    for heavy in ("boto3", "botocore", "hvac", "onepassword", "httpx", "requests"):
        assert heavy not in mods, heavy


async def test_provider_modules_import_sdks_lazily():
    code = ("import sys, aptui.providers.aws, aptui.providers.vault, aptui.providers.conjur, "
            "aptui.providers.onepassword\nprint(' '.join(sys.modules))")
    out = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True)
    mods = set(out.stdout.split())
    for heavy in ("boto3", "hvac", "onepassword", "httpx"):
        assert heavy not in mods, heavy


@pytest.mark.parametrize(("pid", "config"), [
    ("aws", {"accessKeyId": "a", "secretAccessKey": "b", "region": "us-east-1"}),
    ("hashicorp", {"url": "http://127.0.0.1:1", "roleId": "r", "secretId": "s"}),
    ("cyberark-conjur", {"organizationAccountName": "o", "loginId": "l", "url": "http://127.0.0.1:1", "apiKey": "k"}),
    ("onepassword", {"serviceAccountToken": "ops_x"}),
])
async def test_fetching_nothing_makes_no_call(pid, config):
    p = registry.make_provider(pid, config)
    assert await p.fetch_many([]) == {}
    assert p.api_calls == 0
    await p.aclose()
