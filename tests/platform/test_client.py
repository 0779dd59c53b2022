"""The HTTP layer against the Activepieces double: URLs, auth, errors, retries, faults, pages."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from aptui.activepieces import client as ap
from aptui.activepieces.client import ActivepiecesClient, ApiError, ClientOptions, api_base_url, check_site_url
from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from tests.doubles.activepieces import DEFAULT_PROJECT, load_fixture

CONN = "/v1/app-connections"


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    ("https://ap.example.com", "https://ap.example.com/api"),
    ("https://ap.example.com/", "https://ap.example.com/api"),
    ("https://ap.example.com/api", "https://ap.example.com/api"),
    ("https://ap.example.com/api/", "https://ap.example.com/api"),
    ("https://example.com/automation", "https://example.com/automation/api"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api"),
    ("http://127.3.4.5", "http://127.3.4.5/api"),
    ("http://[::1]:3000/api", "http://[::1]:3000/api"),
    ("http://localhost:4200", "http://localhost:4200/api"),
])
def test_api_base_url(given, expected):
    assert api_base_url(given) == expected


@pytest.mark.parametrize("url", ["http://ap.example.com", "http://10.0.0.5", "http://192.168.1.2:8080/api"])
def test_plain_http_refused_off_loopback(url):
    with pytest.raises(AptuiError) as exc:
        check_site_url(url)
    assert exc.value.code == "INSECURE_URL"
    assert exc.value.exit_code == Exit.USAGE


@pytest.mark.parametrize("url", ["ftp://x", "ap.example.com", "", "https://user:pw@ap.example.com",
                                 "https://ap.example.com/?a=1", "https://ap.example.com:99999"])
def test_bad_urls_are_usage_errors(url):
    with pytest.raises(AptuiError) as exc:
        check_site_url(url)
    assert exc.value.exit_code == Exit.USAGE
    assert "pw" not in exc.value.message


async def test_client_without_credentials_sends_nothing(activepieces, make_client):
    async with make_client(key=False, session=False) as c:
        with pytest.raises(AptuiError) as exc:
            await c.get("/v1/projects")
        assert await c.get("/v1/flags")  # public: no credential needed
    assert exc.value.message == "Activepieces API key not configured"
    assert exc.value.exit_code == Exit.USAGE
    assert [r.path for r in activepieces.requests] == ["/v1/flags"]
    assert activepieces.requests[0].authorization is None


def test_repr_masks_the_key():
    c = ActivepiecesClient("https://ap.example.com", Secret("sk-verysecretkey-123456"))
    assert "verysecret" not in repr(c)
    assert "sk-verysecretkey-123456" not in repr(c)


# -- auth and the wire ----------------------------------------------------------------------------


async def test_bearer_header_and_api_prefix(activepieces, make_client):
    async with make_client() as c:
        body = await c.get("/v1/projects", {"limit": 5})
    assert [p["displayName"] for p in body["data"]] == ["Default Project", "Finance automations"]
    req = activepieces.calls("GET", "/v1/projects")[0]
    assert req.authorization == f"Bearer {activepieces.api_key}"
    assert req.query["limit"] == ["5"]
    assert req.headers["user-agent"].startswith("aptui/")


async def test_site_url_with_api_suffix_works(activepieces, make_client):
    async with make_client(url=activepieces.api_url + "/") as c:
        assert (await c.get("/v1/flags"))["CURRENT_VERSION"]


async def test_401_has_the_code_and_a_key_hint(activepieces, make_client):
    async with make_client(key="sk-wrong-key-0000") as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    err = exc.value
    assert (err.code, err.status, err.exit_code) == ("AUTHENTICATION", 401, Exit.FAILED)
    assert err.message == load_fixture("error.unauthorized.json")["params"]["message"]
    assert "profile set-key" in err.hint
    assert "sk-wrong" not in err.one_line()


async def test_activepieces_error_body_becomes_one_line_with_params(activepieces, make_client):
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.delete(f"{CONN}/conXx0000000000000000")
    err = exc.value
    assert err.code == "ENTITY_NOT_FOUND" and err.status == 404
    assert err.message == "AppConnection not found"
    assert err.params == {"entityType": "AppConnection", "entityId": "conXx0000000000000000"}
    assert "\n" not in err.one_line()


async def test_fastify_validation_body_is_a_usage_error(activepieces, make_client):
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.post(CONN, {"projectId": DEFAULT_PROJECT, "displayName": 5})
    err = exc.value
    assert err.code == "FST_ERR_VALIDATION" and err.status == 400 and err.exit_code == Exit.USAGE
    assert err.message.startswith("body")


async def test_validation_409_keeps_its_code(activepieces, make_client):
    activepieces.fault(CONN, method="POST", status=409, body=load_fixture("error.validation.json"))
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.post(CONN, {})
    assert exc.value.code == "VALIDATION" and exc.value.status == 409
    assert exc.value.message == load_fixture("error.validation.json")["params"]["message"]


async def test_feature_disabled_is_worded_plainly(activepieces, make_client):
    activepieces.features["secretManagers"] = False
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/secret-managers")
    assert exc.value.code == "FEATURE_DISABLED" and exc.value.status == 402
    assert "secret managers need an Enterprise plan" in exc.value.message


async def test_403_to_a_session_names_the_users_permission(activepieces, make_client):
    activepieces.add_user("member@example.com", "FAKE-member-password", role="MEMBER")
    async with make_client(session=activepieces.session_token("member@example.com")) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/api-keys")
    assert exc.value.code == "AUTHORIZATION" and exc.value.status == 403
    assert exc.value.message == "this route requires a platform admin"  # the server's reason
    assert "signed-in user lacks the role" in exc.value.hint and "key" not in exc.value.hint


async def test_403_principal_not_allowed_never_suggests_an_admins_key(activepieces, make_client):
    activepieces.fault("/v1/projects", status=403, body=load_fixture("error.principal-not-allowed.json"))
    async with make_client(session=False) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "AUTHORIZATION" and exc.value.message == "principal is not allowed for this route"
    assert "admin's key" not in exc.value.hint and "aptui profile login ap-test" in exc.value.hint


async def test_a_route_outside_the_table_is_never_sent(activepieces, make_client):
    async with make_client() as c:
        # GET /v1/mcp/:projectId appears in a stale FEATURE.md but in no route table (§6)
        for method, path in (("GET", "/v1/nothing-here"), ("GET", "/v1/mcp/prj8Kq2LmN4pQ7rS9tUv1"),
                             ("DELETE", "/v1/mcp-server"), ("PUT", "/v1/projects")):
            with pytest.raises(ApiError) as exc:
                await c.request(method, path)
            assert exc.value.code == "ROUTE_NOT_IN_TABLE"
    assert activepieces.requests == []


async def test_error_text_never_contains_key_or_secret(activepieces, make_client):
    secret_value = "xoxb-very-secret-value-42"
    body = {"code": "VALIDATION", "params": {"message": f"bad value {secret_value} with key {activepieces.api_key}",
                                             "echo": {"value": secret_value}}}
    activepieces.fault(CONN, method="POST", status=409, body=body)
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.post(CONN, {"x": 1}, secrets=[secret_value])
    text = exc.value.one_line() + repr(exc.value.to_dict())
    assert secret_value not in text and activepieces.api_key not in text
    assert "•" in exc.value.message


async def test_debug_logs_never_hold_the_key(activepieces, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aptui.activepieces")
    async with make_client() as c:
        await c.get("/v1/projects")
    assert caplog.records, "the client logs its requests at DEBUG"
    assert activepieces.api_key not in caplog.text


# -- retries -----------------------------------------------------------------------------------------


async def test_500_then_success_is_retried_for_get(activepieces, make_client, sleeps):
    activepieces.fault("/v1/projects", status=500, times=1)
    async with make_client() as c:
        body = await c.get("/v1/projects")
    assert len(body["data"]) == 2
    assert len(activepieces.calls("GET", "/v1/projects")) == 2
    assert len(sleeps.delays) == 1


async def test_retries_are_bounded(activepieces, make_client, sleeps):
    activepieces.fault("/v1/projects", status=503, times=None)
    async with make_client(retries=2) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.exit_code == Exit.UNREACHABLE and exc.value.status == 503
    assert len(activepieces.calls("GET", "/v1/projects")) == 3
    assert sleeps.delays[1] > sleeps.delays[0] * 0.9  # backoff grows (with jitter)


async def test_backoff_is_exponential_and_capped():
    delays = []

    async def sleep(d):
        delays.append(d)

    def handler(request):
        return httpx.Response(502)

    opts = ClientOptions(retries=6, backoff=1.0, backoff_max=4.0)
    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"), options=opts, sleep=sleep,
                                  transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(ApiError):
            await c.get("/v1/projects")
    assert len(delays) == 6
    assert all(0.5 <= d <= 4.0 for d in delays)
    assert delays[0] <= 1.0 and delays[-1] >= 2.0


async def test_post_is_not_retried_on_500(activepieces, make_client, sleeps):
    activepieces.fault("/v1/flow-runs/.*/retry", status=500, times=1)
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.post("/v1/flow-runs/runAa1Bb2Cc3Dd4Ee5Ff6/retry",
                         {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP"})
    assert exc.value.status == 500
    assert len(activepieces.calls("POST", "/v1/flow-runs")) == 1
    assert activepieces.retries == []
    assert sleeps.delays == []


async def test_idempotent_post_is_retried(activepieces, make_client):
    activepieces.fault(CONN, method="POST", status=502, times=1)
    body = load_fixture("app-connections.upsert.request.json")
    async with make_client() as c:
        result = await c.post(CONN, body, idempotent=True)
    assert result["externalId"] == body["externalId"]
    assert len(activepieces.calls("POST", CONN)) == 2


async def test_429_retry_after_is_honoured(activepieces, make_client, sleeps):
    activepieces.fault("/v1/projects", status=429, retry_after=3, times=1)
    async with make_client() as c:
        await c.get("/v1/projects")
    assert sleeps.delays == [3.0]


async def test_429_retry_after_really_waits(activepieces):
    activepieces.fault("/v1/projects", status=429, retry_after=1, times=1)
    started = time.monotonic()
    async with ActivepiecesClient(activepieces.url, Secret(activepieces.api_key)) as c:
        await c.get("/v1/projects")
    assert time.monotonic() - started >= 0.95


async def test_429_on_a_post_is_retried_since_it_was_not_processed(activepieces, make_client, sleeps):
    activepieces.fault("/v1/flow-runs/.*/retry", status=429, retry_after=2, times=1)
    async with make_client() as c:
        await c.post("/v1/flow-runs/runAa1Bb2Cc3Dd4Ee5Ff6/retry",
                     {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP"})
    assert sleeps.delays == [2.0]
    assert len(activepieces.retries) == 1


async def test_retry_after_beyond_the_cap_fails_at_once(activepieces, make_client, sleeps):
    activepieces.fault("/v1/projects", status=429, retry_after=600, times=None)
    async with make_client(max_retry_after=30) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.status == 429 and exc.value.exit_code == Exit.UNREACHABLE
    assert "600" in exc.value.hint
    assert sleeps.delays == []


def test_retry_after_http_date():
    from email.utils import formatdate

    value = ap.retry_after_seconds(formatdate(time.time() + 20, usegmt=True))
    assert 15 <= value <= 21
    assert ap.retry_after_seconds("garbage") is None
    assert ap.retry_after_seconds("-5") == 0.0


async def test_connection_reset_on_get_is_retried(activepieces, make_client):
    activepieces.fault("/v1/projects", reset=True, times=1)
    async with make_client() as c:
        body = await c.get("/v1/projects")
    assert len(body["data"]) == 2


async def test_connection_reset_on_a_retry_post_is_unknown_not_resent(activepieces, make_client):
    activepieces.fault("/v1/flow-runs/.*/retry", reset=True, times=1)
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.post("/v1/flow-runs/runAa1Bb2Cc3Dd4Ee5Ff6/retry",
                         {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP"})
    assert exc.value.code == "PLATFORM_OUTCOME_UNKNOWN" and exc.value.outcome_unknown
    assert "may or may not" in exc.value.message
    assert len(activepieces.calls("POST", "/v1/flow-runs")) == 1


async def test_reset_every_time_gives_exit_4(activepieces, make_client):
    activepieces.fault("/v1/projects", reset=True, times=None)
    async with make_client(retries=1) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_CONNECTION_FAILED" and exc.value.exit_code == Exit.UNREACHABLE


async def test_slow_response_beyond_the_timeout(activepieces, make_client):
    activepieces.fault("/v1/projects", delay=1.5, times=None)
    started = time.monotonic()
    async with make_client(timeout=0.3, retries=1) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_TIMEOUT" and exc.value.exit_code == Exit.UNREACHABLE
    assert "0.3s" in exc.value.message
    assert time.monotonic() - started < 1.5


async def test_slow_retry_post_is_unknown(activepieces, make_client):
    activepieces.fault("/v1/flow-runs/.*/retry", delay=1.0, times=1)
    async with make_client(timeout=0.2) as c:
        with pytest.raises(ApiError) as exc:
            await c.post("/v1/flow-runs/runAa1Bb2Cc3Dd4Ee5Ff6/retry",
                         {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP"})
    assert exc.value.outcome_unknown
    assert len(activepieces.calls("POST", "/v1/flow-runs")) == 1


async def test_connection_refused_is_unreachable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with ActivepiecesClient(f"http://127.0.0.1:{port}", Secret("sk-abc-123456"),
                                  options=ClientOptions(retries=1, backoff=0.01)) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_UNREACHABLE" and exc.value.exit_code == Exit.UNREACHABLE
    assert "connection refused" in exc.value.message


async def test_not_sent_post_is_retried():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"id": "x"})

    async def no_sleep(_):
        return None

    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"), sleep=no_sleep,
                                  transport=httpx.MockTransport(handler)) as c:
        assert await c.post("/v1/flow-runs/a/retry", {}) == {"id": "x"}
    assert len(calls) == 2


async def test_malformed_json_is_a_clear_error(activepieces, make_client):
    activepieces.fault("/v1/projects", malformed=True)
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_BAD_RESPONSE"
    assert "not valid JSON" in exc.value.message


async def test_html_error_page_is_named():
    def handler(request):
        return httpx.Response(502, text="<html>bad gateway</html>", headers={"content-type": "text/html"})

    async def no_sleep(_):
        return None

    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"), sleep=no_sleep,
                                  transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_UNAVAILABLE" and "HTML" in exc.value.message


async def test_redirect_is_reported_not_followed():
    def handler(request):
        return httpx.Response(301, headers={"location": "https://ap.example.com/api/v1/projects"})

    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"),
                                  transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/projects")
    assert exc.value.code == "PLATFORM_REDIRECT" and "ap.example.com" in exc.value.hint


async def test_delete_retried_after_an_ambiguous_failure_counts_404_as_done(activepieces, make_client):
    activepieces.fault(CONN, method="DELETE", status=502, times=1)  # the double applies nothing here
    target = activepieces.connections[0]["id"]
    activepieces.connections = activepieces.connections[1:]  # as if the first attempt had deleted it
    async with make_client() as c:
        assert await c.delete(f"{CONN}/{target}") is None


# -- pagination --------------------------------------------------------------------------------------


async def test_pages_follow_next_cursor(activepieces, make_client):
    activepieces.seed_connections(25)
    async with make_client() as c:
        pages = [p async for p in c.pages(CONN, {"projectId": DEFAULT_PROJECT}, limit=10)]
    assert [len(p.data) for p in pages] == [10, 10, 5]
    assert pages[0].previous is None and pages[1].previous is not None and pages[-1].next is None
    ids = [i["id"] for p in pages for i in p.data]
    assert len(set(ids)) == 25
    cursors = [r.query.get("cursor") for r in activepieces.calls("GET", CONN)]
    assert cursors[0] is None and all(cursors[1:])


async def test_limit_is_clamped_to_100(activepieces, make_client):
    activepieces.seed_connections(150)
    async with make_client() as c:
        pages = [p async for p in c.pages(CONN, {"projectId": DEFAULT_PROJECT}, limit=500)]
    assert [len(p.data) for p in pages] == [100, 50]
    assert activepieces.calls("GET", CONN)[0].query["limit"] == ["100"]


async def test_items_stream_page_by_page(activepieces, make_client):
    activepieces.seed_connections(10_000)
    async with make_client() as c:
        it = c.items(CONN, {"projectId": DEFAULT_PROJECT})
        first = await it.__anext__()
        assert first["id"] == "c00000000000000000000"
        assert len(activepieces.calls("GET", CONN)) == 1  # only the first page was fetched
        rest = [i async for i in it]
    assert len(rest) + 1 == 10_000
    assert len(activepieces.calls("GET", CONN)) == 100


async def test_repeated_cursor_stops_the_listing():
    def handler(request):
        return httpx.Response(200, json={"data": [{"id": "a"}], "next": "same", "previous": None})

    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"),
                                  transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(ApiError) as exc:
            _ = [i async for i in c.items("/v1/projects")]
    assert "cursor" in exc.value.message


async def test_non_page_body_is_rejected():
    def handler(request):
        return httpx.Response(200, json={"unexpected": True})

    async with ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"),
                                  transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(ApiError) as exc:
            _ = [i async for i in c.items("/v1/projects")]
    assert exc.value.code == "PLATFORM_BAD_RESPONSE"


def test_query_params_encoding():
    assert ap.query_params({"a": None, "b": [], "c": True, "d": ["X", "Y"], "e": 3}) == {
        "c": "true", "d": ["X", "Y"], "e": "3"}


async def test_ca_bundle_must_be_usable(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(AptuiError) as exc:
        ActivepiecesClient("https://ap.example.com", Secret("sk-x-123456"), options=ClientOptions(verify=str(bad)))
    assert exc.value.exit_code == Exit.USAGE and "CA bundle" in exc.value.message


async def test_session_token_never_reaches_an_error(activepieces, make_client):
    token = activepieces.session_token()
    activepieces.fault("/v1/api-keys", status=409, body={"code": "VALIDATION",
                                                         "params": {"message": f"bad bearer {token}"}})
    async with make_client(session=token) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/api-keys")
        assert token not in repr(c)
    text = exc.value.one_line() + repr(exc.value.to_dict())
    assert token not in text and exc.value.credential == "session"


async def test_401_to_the_session_says_log_in_again(activepieces, make_client):
    async with make_client(session=activepieces.session_token(ttl=-1)) as c:
        with pytest.raises(ApiError) as exc:
            await c.get("/v1/api-keys")
    assert exc.value.code == "INVALID_BEARER_TOKEN" and "aptui profile login ap-test" in exc.value.hint
