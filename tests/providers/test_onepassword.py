"""1Password client behind its backend interface (fake backend), plus the SDK's offline validation."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers.errors import CONNECTION_FAILED, GET_SECRET_FAILED
from aptui.providers.onepassword import (
    PATH_MESSAGE,
    SDK_REJECTS_HINT,
    OnePasswordError,
    OnePasswordProvider,
    SdkBackend,
    classify,
)
from tests.doubles.onepassword_fake import BAD_TOKEN_MESSAGE, VALID_TOKEN, sdk_validate
from tests.providers.helpers import assert_clean, fast, reason, ticks_during, value


def provider(fake, token: str = VALID_TOKEN, **opts) -> OnePasswordProvider:
    return OnePasswordProvider(fake.config(token), fast(**opts), connection_id="opConn000000000000001", backend=fake)


async def test_check_authenticates_and_lists_vaults(onepassword_fake):
    onepassword_fake.add("prod", "db", "password", "s3cr3t")
    p = provider(onepassword_fake)
    await p.check()
    assert onepassword_fake.authentications == 1 and onepassword_fake.calls["list_vaults"] == 1


async def test_wrong_token(onepassword_fake):
    p = provider(onepassword_fake, token="ops_not_a_valid_token_at_all")
    with pytest.raises(AptuiError) as info:
        await p.check()
    err = info.value
    assert err.code == CONNECTION_FAILED and err.exit_code == Exit.FAILED
    assert err.message == BAD_TOKEN_MESSAGE
    assert err.params == {"provider": "onepassword"}
    assert_clean(err, "ops_not_a_valid_token_at_all")


async def test_sdk_text_echoing_the_token_is_scrubbed(onepassword_fake):
    p = provider(onepassword_fake)
    onepassword_fake.fail_next(1, "other", f"cannot use token {VALID_TOKEN}\nat all", op="authenticate")
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert_clean(info.value, VALID_TOKEN)


async def test_bad_token_on_fetch_is_per_path_like_upstream(onepassword_fake):
    p = provider(onepassword_fake, token="ops_bad")
    res = await p.fetch_many(["op://prod/db/password", "op://prod/db/user"])
    for path in res:
        assert res[path].error.code == GET_SECRET_FAILED
        assert reason(res[path]) == f"[{path}] {BAD_TOKEN_MESSAGE}"


async def test_session_reused_and_bulk_resolution(onepassword_fake):
    refs = [onepassword_fake.add("prod", "db", f"f{i}", f"v{i}") for i in range(3)]
    p = provider(onepassword_fake)
    await p.check()
    res = await p.fetch_many([*refs, refs[0]])
    assert [value(res[r]) for r in refs] == ["v0", "v1", "v2"]
    await p.fetch_many(refs)
    assert onepassword_fake.authentications == 1
    assert onepassword_fake.calls["resolve_all"] == 2 and onepassword_fake.calls["resolve"] == 0


async def test_failed_references_get_the_sdk_message(onepassword_fake):
    ok = onepassword_fake.add("prod", "db", "password", "s3cr3t")
    p = provider(onepassword_fake)
    paths = [ok, "op://nope/db/password", "op://prod/ghost/password", "op://prod/db/missing"]
    res = await p.fetch_many(paths)
    assert value(res[ok]) == "s3cr3t"
    assert reason(res["op://nope/db/password"]) == (
        "[op://nope/db/password] error resolving secret reference: no vault matched the secret reference query")
    assert reason(res["op://prod/ghost/password"]).endswith("no item matched the secret reference query")
    assert reason(res["op://prod/db/missing"]).endswith("the specified field cannot be found within the item")
    assert onepassword_fake.calls["resolve"] == 3
    assert res["op://nope/db/password"].error.params == {
        "provider": "onepassword", "request": {"connectionId": "opConn000000000000001",
                                               "path": "op://nope/db/password"}}


async def test_sections_and_query_attributes(onepassword_fake):
    ref = onepassword_fake.add("prod", "db", "password", "sec", section="admin")
    res = await provider(onepassword_fake).fetch_many([ref])
    assert ref == "op://prod/db/admin/password" and value(res[ref]) == "sec"


@pytest.mark.parametrize("path", ["op://vault/item", "vault/item/field", "OP://v/i/f", " op://v/i/f",
                                  "op://vault//field", "op:///item/field"])
async def test_upstream_pattern_is_validation(onepassword_fake, path):
    res = (await provider(onepassword_fake).fetch_many([path]))[path]
    assert res.error.code == "VALIDATION" and res.error.exit_code == Exit.USAGE
    assert res.error.message == PATH_MESSAGE
    assert onepassword_fake.authentications == 0


async def test_sdk_validation_is_an_extra_offline_check(onepassword_fake):
    path = "op://vault/item/section/field/extra"  # passes upstream's regex, not the SDK's parser
    res = (await provider(onepassword_fake).fetch_many([path]))[path]
    assert res.error.code == GET_SECRET_FAILED
    assert "could not be parsed" in res.error.message and res.error.hint == SDK_REJECTS_HINT
    assert onepassword_fake.calls["resolve_all"] == 0


def test_real_sdk_offline_validation():
    sdk = SdkBackend()
    assert sdk.validate("op://vault/item/field") is None
    assert sdk.validate("op://vault/item/section/field?attribute=otp") is None
    assert "not prefixed with" in sdk.validate("vault/item/field")
    assert "invalid format" in sdk.validate("op://vault/item")
    # the fake backend's offline check gives the SDK's own text
    for ref in ("op://vault/item/section/field/extra", "vault/item/field", "op://vault/item"):
        assert sdk_validate(ref) == sdk.validate(ref)
    # Flag: the SDK accepts an empty item, which Activepieces' pattern rejects (VALIDATION first).
    assert sdk.validate("op://vault//field") is None


async def test_rate_limit_is_retried(onepassword_fake):
    ref = onepassword_fake.add("prod", "db", "password", "s3cr3t")
    p = provider(onepassword_fake)
    onepassword_fake.fail_next(2, "rate_limit", "rate limit exceeded", op="resolve_all")
    assert value((await p.fetch_many([ref]))[ref]) == "s3cr3t"
    assert onepassword_fake.calls["resolve_all"] == 3


async def test_rate_limit_retries_are_bounded(onepassword_fake):
    p = provider(onepassword_fake)
    onepassword_fake.fail_next(50, "rate_limit", "rate limit exceeded", op="list_vaults")
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.message == "rate limit exceeded"
    assert onepassword_fake.calls["list_vaults"] == 4


async def test_network_failure_is_unreachable(onepassword_fake):
    p = provider(onepassword_fake)
    onepassword_fake.fail_next(1, "network", "error sending request for url (https://my.1password.com/api)",
                               op="authenticate")
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.UNREACHABLE


async def test_timeout_is_unreachable_and_does_not_block(onepassword_fake):
    p = provider(onepassword_fake, timeout=0.2)
    onepassword_fake.delay = 1.0
    result, ticks = await ticks_during(p.check())
    assert isinstance(result, AptuiError) and result.exit_code == Exit.UNREACHABLE
    assert result.message.startswith("timed out after 0.2s")
    assert ticks >= 5


async def test_revoked_session_is_replaced_once(onepassword_fake):
    p = provider(onepassword_fake)
    await p.check()
    onepassword_fake.fail_next(1, "auth", "session expired", op="list_vaults")
    await p.check()
    assert onepassword_fake.authentications == 2 and onepassword_fake.closed_sessions == 1


async def test_aclose_closes_the_session(onepassword_fake):
    p = provider(onepassword_fake)
    await p.check()
    await p.aclose()
    assert onepassword_fake.closed_sessions == 1


def test_classify_sdk_errors():
    class RateLimitExceededException(Exception):
        pass

    assert classify(RateLimitExceededException("slow down")).kind == "rate_limit"
    assert classify(Exception("error sending request for url")).kind == "network"
    assert classify(Exception("invalid service account token")).kind == "auth"
    assert classify(Exception("something else")).kind == "other"
    assert classify(OnePasswordError("x", "auth")).kind == "auth"
