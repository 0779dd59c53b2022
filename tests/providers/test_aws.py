"""AWS Secrets Manager client against moto in server mode (and a fault proxy in front of it)."""

from __future__ import annotations

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers.aws import BATCH_LIMIT, EMPTY_OR_BINARY, UNEXPECTED, AwsProvider
from aptui.providers.errors import CONNECTION_FAILED, GET_SECRET_FAILED
from tests.doubles._http import DoubleServer, closed_port_url
from tests.providers.helpers import assert_clean, cases_with_values, fast, reason, ticks_during, value

NOT_FOUND_AWS = "Secrets Manager can't find the specified secret."


def provider(moto_aws, **kw) -> AwsProvider:
    config = kw.pop("config", None) or moto_aws.config()
    return AwsProvider(config, kw.pop("options", None) or fast(), connection_id="awsConn00000000000001", **kw)


async def test_check_ok_uses_list_secrets(moto_aws, aws_fault_proxy):
    p = provider(moto_aws, options=fast(endpoint_url=aws_fault_proxy.url))
    await p.check()
    assert aws_fault_proxy.targets() == ["ListSecrets"]
    assert p.calls["list_secrets"] == 1
    await p.aclose()


async def test_endpoint_comes_from_aws_endpoint_url(moto_aws):
    moto_aws.create_secret("env/check", {"k": "v"})
    p = provider(moto_aws)
    assert value((await p.fetch_many(["env/check:k"]))["env/check:k"]) == "v"
    assert p.endpoint() == moto_aws.endpoint


@pytest.mark.parametrize("bad", ["key", "secret"])
async def test_check_wrong_credentials(moto_aws, bad):
    access, secret = moto_aws.iam_user("ap", ["secretsmanager:ListSecrets"])
    moto_aws.enforce_auth()
    config = moto_aws.config(access if bad == "secret" else "AKIAWRONGKEY00000000",
                             "Wr0ngSecretAccessKeyValue/xyz" if bad == "secret" else secret)
    p = provider(moto_aws, config=config)
    with pytest.raises(AptuiError) as info:
        await p.check()
    err = info.value
    assert err.code == CONNECTION_FAILED and err.exit_code == Exit.FAILED
    expected = ("The security token included in the request is invalid." if bad == "key"
                else "The request signature we calculated does not match")
    assert err.message.startswith(expected)
    assert err.params == {"provider": "aws"}
    assert_clean(err, secret, "Wr0ngSecretAccessKeyValue/xyz")


async def test_check_ok_with_real_iam_user(moto_aws):
    access, secret = moto_aws.iam_user("ap", ["secretsmanager:ListSecrets"])
    moto_aws.enforce_auth()
    await provider(moto_aws, config=moto_aws.config(access, secret)).check()


async def test_unreachable_connection_refused(moto_aws):
    p = provider(moto_aws, options=fast(endpoint_url=closed_port_url()))
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.UNREACHABLE
    assert info.value.message.startswith("connection refused (http://127.0.0.1:")
    with pytest.raises(AptuiError) as info2:
        await p.fetch_many(["a:b", "c:d"])
    assert info2.value.exit_code == Exit.UNREACHABLE


async def test_timeout_is_unreachable_and_does_not_block_the_loop(moto_aws):
    slow = DoubleServer()
    slow.delay = 2.0
    with slow.start():
        p = provider(moto_aws, options=fast(timeout=0.3, retries=0, endpoint_url=slow.url))
        result, ticks = await ticks_during(p.check())
    assert isinstance(result, AptuiError)
    assert result.exit_code == Exit.UNREACHABLE
    assert result.message.startswith("timed out after 0.3s")
    assert ticks >= 5  # the loop kept running while boto3 waited in a worker thread


async def test_throttling_then_success_is_retried(moto_aws, aws_fault_proxy):
    moto_aws.create_secret("t/one", {"k": "v"})
    aws_fault_proxy.fail_next(2, 400)  # ThrottlingException twice
    p = provider(moto_aws, options=fast(retries=3, endpoint_url=aws_fault_proxy.url))
    assert value((await p.fetch_many(["t/one:k"]))["t/one:k"]) == "v"
    assert aws_fault_proxy.targets() == ["GetSecretValue"] * 3
    assert p.api_calls == 3


async def test_retries_are_bounded(moto_aws, aws_fault_proxy):
    aws_fault_proxy.fail_next(50, 500)  # InternalServiceError every time
    p = provider(moto_aws, options=fast(retries=2, endpoint_url=aws_fault_proxy.url))
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.FAILED
    assert "injected failure 500" in info.value.message
    assert aws_fault_proxy.count() == 3  # retries + 1


async def test_provider_text_is_scrubbed(moto_aws, aws_fault_proxy):
    config = moto_aws.config("AKIASCRUBME000000001", "scrub/me/SecretAccessKey+value")
    aws_fault_proxy.fail_next(2, 400, body={"__type": "AccessDeniedException", "message":
                                            "key AKIASCRUBME000000001 with scrub/me/SecretAccessKey+value\ndenied"})
    p = provider(moto_aws, config=config, options=fast(endpoint_url=aws_fault_proxy.url))
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert_clean(info.value, "AKIASCRUBME000000001", "scrub/me/SecretAccessKey+value")
    res = (await p.fetch_many(["a:b"]))["a:b"]
    assert_clean(res.error, "AKIASCRUBME000000001", "scrub/me/SecretAccessKey+value")
    assert res.error.message.startswith("[a:b] key AKIA•••••• (16+ chars) with •••••• (16+ chars)")


async def test_missing_secret(moto_aws):
    res = (await provider(moto_aws).fetch_many(["nope:key"]))["nope:key"]
    assert res.error.code == GET_SECRET_FAILED and res.error.exit_code == Exit.FAILED
    assert res.error.message == f"[nope:key] {NOT_FOUND_AWS}"
    assert res.error.params == {"provider": "aws",
                                "request": {"connectionId": "awsConn00000000000001", "path": "nope:key"}}


@pytest.mark.parametrize(("secret", "key", "expected"), [
    ({"user": "app"}, "password", "Secret value for key password not found"),
    ({"port": 5432}, "port", "Secret value for key port not found"),  # numbers count as not found
    ({"on": True}, "on", "Secret value for key on not found"),
    ({"n": None}, "n", "Secret value for key n not found"),
    ({"o": {"a": "b"}}, "o", "Secret value for key o not found"),
    ('["a", "b"]', "0", UNEXPECTED),
    ('"just a string"', "k", UNEXPECTED),
    ("42", "k", UNEXPECTED),
    ("null", "k", UNEXPECTED),
    ("not json at all", "k", "Unexpected token in JSON at position 0"),
    ('{"a": ', "a", "Unexpected end of JSON input"),
    ('{"a": NaN}', "a", "Unexpected token in JSON at position 6"),
    (b"\x00\x01binary", "k", EMPTY_OR_BINARY),
])
async def test_value_rules_match_upstream(moto_aws, secret, key, expected):
    moto_aws.create_secret("rules/s", secret)
    path = f"rules/s:{key}"
    res = (await provider(moto_aws).fetch_many([path]))[path]
    assert reason(res) == f"[{path}] {expected}"
    if isinstance(secret, str) and "json" in secret:
        assert "json at all" not in res.error.message  # no excerpt of the secret in the message


async def test_empty_string_value_is_returned_like_upstream(moto_aws):
    moto_aws.create_secret("rules/empty", {"k": ""})
    res = (await provider(moto_aws).fetch_many(["rules/empty:k"]))["rules/empty:k"]
    assert value(res) == ""


async def test_split_at_first_colon_and_empty_key(moto_aws):
    moto_aws.create_secret("svc", {"a:b": "colon-key", "": "empty-key"})
    res = await provider(moto_aws).fetch_many(["svc:a:b", "svc:"])
    assert value(res["svc:a:b"]) == "colon-key"
    assert value(res["svc:"]) == "empty-key"


async def test_path_without_colon_is_validation(moto_aws):
    res = (await provider(moto_aws).fetch_many(["my-secret"]))["my-secret"]
    assert res.error.code == "VALIDATION" and res.error.exit_code == Exit.USAGE
    assert res.error.message == "Wrong key format. Should be secretName:secretJsonKey, got my-secret"


async def test_empty_secret_name_fails_per_path(moto_aws):
    res = (await provider(moto_aws).fetch_many([":key", "x:y"]))
    assert res[":key"].error.code == GET_SECRET_FAILED
    assert res[":key"].error.message.startswith("[:key] ")


async def test_deleted_secret(moto_aws):
    moto_aws.create_secret("gone", {"k": "v"})
    moto_aws.client().delete_secret(SecretId="gone")
    res = (await provider(moto_aws).fetch_many(["gone:k"]))["gone:k"]
    assert res.error.code == GET_SECRET_FAILED
    assert "marked deleted" in res.error.message


@pytest.mark.parametrize("case", cases_with_values("aws"), ids=lambda c: c["id"])
async def test_reference_cases_resolve(moto_aws, case):
    for name, text in case["fixture"].get("secrets", {}).items():
        moto_aws.create_secret(name, text)
    path = case["parsed"]["path"]
    assert value((await provider(moto_aws).fetch_many([path]))[path]) == case["value"]


# --- batching -------------------------------------------------------------------------------------

async def test_batch_chunks_of_20_and_dedup(moto_aws, aws_fault_proxy):
    names = [f"bulk/s{i:02d}" for i in range(45)]
    for n in names:
        moto_aws.create_secret(n, {"a": f"{n}-a", "b": f"{n}-b"})
    paths = [f"{n}:a" for n in names] + [f"{n}:b" for n in names] + [f"{names[0]}:a"]
    p = provider(moto_aws, options=fast(endpoint_url=aws_fault_proxy.url))
    res = await p.fetch_many(paths)
    assert list(res) == list(dict.fromkeys(paths))
    assert all(value(res[f"{n}:a"]) == f"{n}-a" and value(res[f"{n}:b"]) == f"{n}-b" for n in names)
    assert sorted(aws_fault_proxy.targets()) == ["BatchGetSecretValue"] * 3  # 20 + 20 + 5 names
    assert p.api_calls == 3
    sizes = sorted(len(__import__("json").loads(r.body)["SecretIdList"]) for r in aws_fault_proxy.requests)
    assert sizes == [5, BATCH_LIMIT, BATCH_LIMIT]


async def test_batch_per_id_errors_map_to_every_reference(moto_aws, aws_fault_proxy):
    moto_aws.create_secret("ok/one", {"k": "v1"})
    moto_aws.create_secret("ok/two", '["not", "an", "object"]')
    moto_aws.create_secret("ok/bin", b"\x00\xff")
    paths = ["ok/one:k", "missing/x:a", "missing/x:b", "ok/two:k", "ok/bin:k"]
    p = provider(moto_aws, options=fast(endpoint_url=aws_fault_proxy.url))
    res = await p.fetch_many(paths)
    assert value(res["ok/one:k"]) == "v1"
    assert reason(res["missing/x:a"]) == f"[missing/x:a] {NOT_FOUND_AWS}"
    assert reason(res["missing/x:b"]) == f"[missing/x:b] {NOT_FOUND_AWS}"
    assert reason(res["ok/two:k"]) == f"[ok/two:k] {UNEXPECTED}"
    assert reason(res["ok/bin:k"]) == f"[ok/bin:k] {EMPTY_OR_BINARY}"
    assert aws_fault_proxy.targets() == ["BatchGetSecretValue"]


async def test_batch_results_matched_by_name_not_position(moto_aws, aws_fault_proxy):
    for i in range(5):
        moto_aws.create_secret(f"order/{i}", {"k": f"value-{i}"})
    aws_fault_proxy.reverse_batch = True
    p = provider(moto_aws, options=fast(endpoint_url=aws_fault_proxy.url))
    res = await p.fetch_many([f"order/{i}:k" for i in range(5)])
    assert [value(res[f"order/{i}:k"]) for i in range(5)] == [f"value-{i}" for i in range(5)]


async def test_batch_denied_falls_back_to_get_secret_value(moto_aws, aws_fault_proxy):
    moto_aws.create_secret("fb/one", {"k": "1"})
    moto_aws.create_secret("fb/two", {"k": "2"})
    access, secret = moto_aws.iam_user("nobatch", ["secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"])
    moto_aws.enforce_auth()
    p = provider(moto_aws, config=moto_aws.config(access, secret), options=fast(endpoint_url=aws_fault_proxy.url))
    res = await p.fetch_many(["fb/one:k", "fb/two:k", "fb/none:k"])
    assert value(res["fb/one:k"]) == "1" and value(res["fb/two:k"]) == "2"
    assert reason(res["fb/none:k"]) == f"[fb/none:k] {NOT_FOUND_AWS}"
    assert aws_fault_proxy.targets()[0] == "BatchGetSecretValue"
    assert sorted(aws_fault_proxy.targets()[1:]) == ["GetSecretValue"] * 3
    # the denial is remembered: the next fetch goes straight to GetSecretValue
    await p.fetch_many(["fb/one:k", "fb/two:k"])
    assert aws_fault_proxy.targets()[4:] == ["GetSecretValue"] * 2


async def test_bad_credentials_on_fetch_fail_per_path_like_upstream(moto_aws):
    moto_aws.enforce_auth()
    p = provider(moto_aws, config=moto_aws.config("AKIAWRONGKEY00000000", "Zz9SecretValueNeverShown"))
    res = await p.fetch_many(["a:k", "b:k", "c:k"])
    for path in ("a:k", "b:k", "c:k"):
        assert reason(res[path]) == f"[{path}] The security token included in the request is invalid."
        assert_clean(res[path].error, "Zz9SecretValueNeverShown")


# --- what moto does (verified, see docs/providers.md) ---------------------------------------------

def test_moto_batch_get_secret_value_behaviour(moto_aws):
    sm = moto_aws.client()
    sm.create_secret(Name="m/a", SecretString='{"k":"v"}')
    sm.create_secret(Name="m/bin", SecretBinary=b"\x00")
    resp = sm.batch_get_secret_value(SecretIdList=["m/a", "m/missing", "m/bin"])
    assert [v["Name"] for v in resp["SecretValues"]] == ["m/a", "m/bin"]
    assert "SecretString" not in resp["SecretValues"][1]
    assert resp["Errors"] == [{"SecretId": "m/missing", "ErrorCode": "ResourceNotFoundException",
                               "Message": NOT_FOUND_AWS}]
    # moto does not enforce AWS's 20-id limit (real AWS rejects it): aptui chunks by itself.
    many = sm.batch_get_secret_value(SecretIdList=[f"m/x{i}" for i in range(21)])
    assert len(many["Errors"]) == 21
