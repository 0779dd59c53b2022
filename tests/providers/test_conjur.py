"""CyberArk Conjur client against the Conjur double (real HTTP, Conjur's wire format)."""

from __future__ import annotations

import base64
import json

import pytest

from aptui.errors import AptuiError, Exit
from aptui.providers import conjur as conjur_mod
from aptui.providers.base import ProviderOptions
from aptui.providers.conjur import AXIOS_JSON_NOTE, TLS_OFF_NOTE, ConjurProvider
from aptui.providers.errors import CONNECTION_FAILED, GET_SECRET_FAILED
from tests.doubles._http import closed_port_url
from tests.doubles.conjur import ConjurDouble
from tests.providers.helpers import assert_clean, fast, reason, ticks_during, value

LOGIN = "host/app/ci"
API_KEY = "3x4mpl3-conjur-api-key-never-shown"


def setup(double, options: ProviderOptions | None = None, **kw) -> ConjurProvider:
    double.add_host(LOGIN, API_KEY, **kw)
    return ConjurProvider(double.config(LOGIN, API_KEY), options or fast(), connection_id="conjurConn00000000001")


async def test_check_authenticates_with_encoded_login(conjur_double):
    p = setup(conjur_double)
    await p.check()
    (req,) = conjur_double.requests
    assert req.raw_path == "/authn/myorg/host%2Fapp%2Fci/authenticate"
    assert req.body == API_KEY.encode() and req.header("Content-Type") == "text/plain"
    assert req.header("Accept-Encoding") != "base64"  # upstream base64-encodes the token itself


async def test_wrong_api_key(conjur_double):
    conjur_double.add_host(LOGIN, API_KEY)
    p = ConjurProvider(conjur_double.config(LOGIN, "wrong-key-value-123"), fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.FAILED
    assert info.value.message == "Request failed with status code 401"
    assert_clean(info.value, "wrong-key-value-123", API_KEY)
    with pytest.raises(AptuiError) as info2:  # as upstream: getSecret authenticates first
        await p.fetch_many(["a"])
    assert info2.value.code == CONNECTION_FAILED


async def test_no_token_received(conjur_double):
    p = setup(conjur_double)
    conjur_double.fail_next(1, 200, path="/authn/", body="")
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.message == "No token received"


async def test_unreachable(conjur_double):
    p = ConjurProvider({"organizationAccountName": "myorg", "loginId": LOGIN, "url": closed_port_url(),
                        "apiKey": API_KEY}, fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.exit_code == Exit.UNREACHABLE and info.value.code == CONNECTION_FAILED
    assert info.value.message.startswith("connection refused (http://127.0.0.1:")


@pytest.mark.parametrize("url", ["conjur.example.com", "ftp://conjur.example.com"])
async def test_invalid_url(url):
    p = ConjurProvider({"organizationAccountName": "myorg", "loginId": LOGIN, "url": url, "apiKey": API_KEY}, fast())
    with pytest.raises(AptuiError) as info:
        await p.check()
    assert info.value.code == CONNECTION_FAILED and info.value.exit_code == Exit.FAILED
    assert info.value.message.startswith("invalid Conjur URL")


async def test_timeout_does_not_block_the_loop(conjur_double):
    p = setup(conjur_double, fast(timeout=0.3, retries=0))
    conjur_double.delay = 2.0
    result, ticks = await ticks_during(p.check())
    assert isinstance(result, AptuiError) and result.exit_code == Exit.UNREACHABLE
    assert result.message.startswith("timed out after 0.3s")
    assert ticks >= 5


async def test_5xx_then_success_and_bounded(conjur_double):
    conjur_double.set_variable("prod/db/password", "s3cr3t")
    p = setup(conjur_double)
    conjur_double.fail_next(2, 502, path="/secrets/")
    assert value((await p.fetch_many(["prod/db/password"]))["prod/db/password"]) == "s3cr3t"
    assert conjur_double.count("/secrets/myorg/variable/") == 3
    conjur_double.fail_next(99, 500, path="/secrets/")
    res = (await p.fetch_many(["prod/db/password"]))["prod/db/password"]
    assert reason(res) == "[prod/db/password] Request failed with status code 500"
    assert conjur_double.count("/secrets/myorg/variable/") == 3 + 4


async def test_single_read_encodes_the_whole_id(conjur_double):
    conjur_double.set_variable("prod/db pass:word", "v")
    p = setup(conjur_double)
    assert value((await p.fetch_many(["prod/db pass:word"]))["prod/db pass:word"]) == "v"
    assert conjur_double.requests[-1].raw_path == "/secrets/myorg/variable/prod%2Fdb%20pass%3Aword"
    assert conjur_double.requests[-1].header("Authorization").startswith('Token token="')


async def test_missing_forbidden_and_empty(conjur_double):
    conjur_double.set_variable("ok", "v")
    conjur_double.set_variable("secret/hidden", "h")
    conjur_double.set_variable("declared", None)
    p = setup(conjur_double, readable={"ok", "declared"})
    res = await p.fetch_many(["ok", "missing", "secret/hidden", "declared"])
    assert value(res["ok"]) == "v"
    assert reason(res["missing"]) == "[missing] Request failed with status code 404"
    assert reason(res["secret/hidden"]) == "[secret/hidden] Request failed with status code 403"
    assert reason(res["declared"]) == "[declared] Request failed with status code 404"
    err = res["missing"].error
    assert err.code == GET_SECRET_FAILED and err.params == {
        "provider": "cyberark-conjur", "request": {"connectionId": "conjurConn00000000001", "path": "missing"}}


async def test_batch_read_is_one_call(conjur_double):
    for i in range(5):
        conjur_double.set_variable(f"app/v{i}", f"value-{i}")
    p = setup(conjur_double)
    paths = [f"app/v{i}" for i in range(5)] + ["app/v0"]
    res = await p.fetch_many(paths)
    assert [value(res[f"app/v{i}"]) for i in range(5)] == [f"value-{i}" for i in range(5)]
    assert conjur_double.count("/secrets", "GET") == 1
    (batch,) = [r for r in conjur_double.requests if r.path == "/secrets"]
    assert batch.query["variable_ids"] == [",".join(f"myorg:variable:app/v{i}" for i in range(5))]
    assert "myorg%3Avariable%3Aapp%2Fv0" in batch.raw_path


async def test_batch_failure_falls_back_to_single_reads(conjur_double):
    conjur_double.set_variable("a", "1")
    conjur_double.set_variable("b", "2")
    conjur_double.set_variable("forbidden", "x")
    p = setup(conjur_double, readable={"a", "b"})
    res = await p.fetch_many(["a", "b", "gone", "forbidden"])
    assert value(res["a"]) == "1" and value(res["b"]) == "2"
    assert reason(res["gone"]) == "[gone] Request failed with status code 404"
    assert reason(res["forbidden"]) == "[forbidden] Request failed with status code 403"
    assert conjur_double.count("/secrets", "GET") == 1 + 4  # the failed batch, then one by one


async def test_binary_value_batch_406_then_lossy_single(conjur_double):
    conjur_double.set_variable("text", "t")
    conjur_double.set_variable("blob", b"\xff\xfe\x00bin")
    res = await setup(conjur_double).fetch_many(["text", "blob"])
    assert value(res["text"]) == "t"
    assert value(res["blob"]).endswith("bin") and any("not UTF-8" in n for n in res["blob"].notes)


async def test_ids_with_commas_are_read_one_by_one(conjur_double):
    conjur_double.set_variable("a,b", "comma")
    conjur_double.set_variable("c", "plain")
    conjur_double.set_variable("d", "plain-d")
    res = await setup(conjur_double).fetch_many(["a,b", "c", "d"])
    assert value(res["a,b"]) == "comma" and value(res["c"]) == "plain"
    batch = [r for r in conjur_double.requests if r.path == "/secrets"]
    assert len(batch) == 1 and "a,b" not in batch[0].query["variable_ids"][0]


@pytest.mark.parametrize(("stored", "outcome"), [
    ("0", None), ("false", None), ("null", None), ('""', None), ("", None),
    ("123", "123"), ("true", "true"), ('"quoted"', "quoted"), ('{"a": 1}', '{"a":1}'), (" 7 ", "7"),
    ("plain text", "plain text"), ("{broken", "{broken"),
])
async def test_axios_json_semantics(conjur_double, stored, outcome):
    conjur_double.set_variable("v", stored)
    conjur_double.set_variable("w", "other")  # force the batch path for half of the runs
    p = setup(conjur_double)
    for paths in (["v"], ["v", "w"]):
        res = (await p.fetch_many(paths))["v"]
        if outcome is None:
            assert reason(res) == "[v] No secret found at requested path"
        else:
            assert value(res) == outcome
            parsed = outcome != stored
            assert (AXIOS_JSON_NOTE in res.notes) == (parsed or stored in ("123", "true"))


async def test_token_reused_then_reauthenticated_on_401(conjur_double):
    conjur_double.set_variable("a", "1")
    p = setup(conjur_double)
    for _ in range(3):
        await p.fetch_many(["a"])
    assert conjur_double.successful_logins == 1
    conjur_double.expire_tokens()
    assert value((await p.fetch_many(["a"]))["a"]) == "1"
    assert conjur_double.successful_logins == 2


async def test_token_refreshed_before_eight_minutes(conjur_double, monkeypatch):
    conjur_double.set_variable("a", "1")
    p = setup(conjur_double)
    now = [5000.0]
    monkeypatch.setattr(conjur_mod.time, "monotonic", lambda: now[0])
    await p.fetch_many(["a"])
    now[0] += 6 * 60
    await p.fetch_many(["a"])
    assert conjur_double.successful_logins == 1
    now[0] += 61  # 7 min 1 s: older than TOKEN_MAX_AGE, Conjur would refuse it at 8 min
    await p.fetch_many(["a"])
    assert conjur_double.successful_logins == 2


async def test_token_is_base64_of_trimmed_json(conjur_double):
    conjur_double.set_variable("a", "1")
    p = setup(conjur_double)
    await p.fetch_many(["a"])
    auth = conjur_double.requests[-1].header("Authorization")
    doc = json.loads(base64.b64decode(auth[len('Token token="'):-1]))
    assert set(doc) == {"protected", "payload", "signature"}


async def test_tls_verified_by_default_and_upstream_mode_labelled():
    double = ConjurDouble()
    with double.start(tls=True):
        double.set_variable("a", "1")
        strict = setup(double)
        with pytest.raises(AptuiError) as info:
            await strict.check()
        assert info.value.exit_code == Exit.UNREACHABLE
        assert info.value.message.startswith("TLS error: certificate verify failed (https://127.0.0.1:")
        assert "Activepieces does not" in info.value.hint
        lax = ConjurProvider(double.config(LOGIN, API_KEY), ProviderOptions(verify_tls=False, retries=0))
        res = (await lax.fetch_many(["a"]))["a"]
        assert value(res) == "1" and TLS_OFF_NOTE in res.notes
        await lax.aclose()
        await strict.aclose()


async def test_api_key_and_token_never_in_errors(conjur_double):
    p = setup(conjur_double)
    await p.check()
    token = p._token
    conjur_double.fail_next(1, 404, path="/secrets/", body=f"no such thing for {API_KEY} / {token}")
    p.options.retries = 0
    res = (await p.fetch_many(["x"]))["x"]
    assert_clean(res.error, API_KEY, token)
