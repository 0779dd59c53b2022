"""The Activepieces double keeps to the contract: fixtures, schemas, auth, cursors, filters, errors."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.doubles.activepieces import (
    DEFAULT_PROJECT,
    FIXTURES,
    SECOND_PROJECT,
    ActivepiecesDouble,
    enums,
    load_fixture,
    schema_errors,
    validate_body,
)

MAPPING = json.loads((FIXTURES / "_schemas.json").read_text())


@pytest.mark.parametrize("name", sorted(MAPPING))
def test_every_shared_fixture_satisfies_its_schema(name):
    schema, part = MAPPING[name]
    body = load_fixture(name)
    for item in (body["data"] if part == "data" else body if part == "list" else [body]):
        validate_body(schema, item)


@pytest.mark.parametrize("name", ["error.not-found.json", "error.validation.json", "error.unauthorized.json",
                                  "error.secret-manager-connection-failed.json"])
def test_error_fixtures_use_known_codes(name):
    assert load_fixture(name)["code"] in enums()["ErrorCode"]


def test_schema_errors_read_like_fastify():
    msgs = schema_errors("UpdateConnectionValueRequestBody", {"displayName": 5})
    assert msgs == ["body/displayName must be string"]
    assert schema_errors("UpdateConnectionValueRequestBody", {}) == ["body must have required property 'displayName'"]


def _get(double, path, *, key=None, **params):
    headers = {"Authorization": f"Bearer {key or double.api_key}"}
    return httpx.get(double.api_url + path, params=params, headers=headers, timeout=5)


def test_seeded_from_fixtures(activepieces):
    assert [p["id"] for p in activepieces.projects] == [DEFAULT_PROJECT, SECOND_PROJECT]
    r = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT)
    assert [c["id"] for c in r.json()["data"]] == [c["id"] for c in load_fixture("app-connections.list.json")["data"]]


def test_auth_required_except_flags(activepieces):
    r = _get(activepieces, "/v1/projects", key="sk-nope")
    assert r.status_code == 401 and r.json() == load_fixture("error.unauthorized.json")
    assert httpx.get(activepieces.api_url + "/v1/flags", timeout=5).status_code == 200
    r = httpx.get(activepieces.api_url + "/v1/projects", timeout=5)
    assert r.status_code == 401


def test_project_required_for_connections_and_runs(activepieces):
    for path in ("/v1/app-connections", "/v1/flow-runs"):
        r = _get(activepieces, path)
        assert r.status_code == 400 and r.json()["code"] == "FST_ERR_VALIDATION"
    r = _get(activepieces, "/v1/app-connections", projectId="prjUnknown00000000000")
    assert r.status_code == 404 and r.json()["code"] == "ENTITY_NOT_FOUND"


def test_cursor_pagination_next_and_previous(activepieces):
    activepieces.seed_connections(7)
    first = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, limit=3).json()
    second = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, limit=3, cursor=first["next"]).json()
    back = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, limit=3,
                cursor=second["previous"]).json()
    assert first["previous"] is None
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first["data"]]
    last = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, limit=3,
                cursor=_get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, limit=3,
                            cursor=second["next"]).json()["previous"]).json()
    assert last["data"] == second["data"]
    bad = _get(activepieces, "/v1/app-connections", projectId=DEFAULT_PROJECT, cursor="bm9wZQ")
    assert bad.status_code == 409 and bad.json()["code"] == "VALIDATION"


def test_connection_filters(activepieces):
    ids = lambda **q: [c["displayName"] for c in _get(activepieces, "/v1/app-connections",  # noqa: E731
                                                        projectId=DEFAULT_PROJECT, **q).json()["data"]]
    assert ids(displayName="GAUZY") == ["Gauzy tenant 1 / org 2"]
    assert ids(pieceName="@activepieces/piece-stripe") == ["Stripe live key"]
    assert ids(status="ERROR") == ["Stripe live key"]
    assert len(ids(status=["ACTIVE", "ERROR"])) == 3
    assert ids(scope="PLATFORM") == []


def test_run_filters(activepieces):
    activepieces.add_run(status="FAILED", created="2026-11-21T10:00:00.000Z", flow_id="flwOther0000000000000")
    runs = lambda **q: [r["id"] for r in _get(activepieces, "/v1/flow-runs",  # noqa: E731
                                              projectId=DEFAULT_PROJECT, **q).json()["data"]]
    assert len(runs()) == 4
    assert len(runs(status="FAILED")) == 2
    assert len(runs(flowId="flwOther0000000000000")) == 1
    assert len(runs(createdAfter="2026-11-21T00:00:00Z")) == 1
    assert len(runs(failedStepName="step_2")) == 2
    assert runs(failedStepName="step_9") == []


def test_invalid_body_gets_fastify_400(activepieces):
    r = httpx.post(activepieces.api_url + "/v1/app-connections", json={"displayName": 1},
                   headers={"Authorization": f"Bearer {activepieces.api_key}"}, timeout=5)
    assert r.status_code == 400
    body = r.json()
    assert body["statusCode"] == 400 and body["code"] == "FST_ERR_VALIDATION" and body["error"] == "Bad Request"
    assert set(body) == set(load_fixture("error.fastify-validation.json"))


def test_mcp_get_includes_the_token_like_the_real_server(activepieces):
    r = _get(activepieces, f"/v1/projects/{DEFAULT_PROJECT}/mcp-server", key=activepieces.session_token())
    assert r.json()["token"] == load_fixture("mcp-server.get.json")["token"]
    validate_body("PopulatedMcpServer", r.json())


MCP = f"/v1/projects/{DEFAULT_PROJECT}/mcp-server"
SM = "/v1/secret-managers/smcAws0000000000001ab"
USER_ONLY = [("GET", MCP), ("POST", MCP), ("POST", f"{MCP}/rotate"), ("GET", "/v1/mcp-server"),
             ("POST", "/v1/mcp-server/rotate"), ("GET", "/v1/secret-managers"), ("POST", "/v1/secret-managers"),
             ("POST", SM), ("DELETE", SM), ("GET", "/v1/api-keys"), ("POST", "/v1/api-keys"),
             ("DELETE", "/v1/api-keys/key1Ab2Cd3Ef4Gh5Ij6Kl")]


@pytest.mark.parametrize(("method", "path"), USER_ONLY)
def test_user_only_routes_refuse_an_api_key_with_the_exact_body(activepieces, method, path):
    r = httpx.request(method, activepieces.api_url + path, json={} if method == "POST" else None,
                      headers={"Authorization": f"Bearer {activepieces.api_key}"}, timeout=5)
    assert r.status_code == 403 and r.json() == load_fixture("error.principal-not-allowed.json")


def test_sign_in_issues_a_jwt_with_exp_and_refuses_wrong_passwords(activepieces):
    from aptui.activepieces.auth import token_expiry

    url = activepieces.api_url + "/v1/authentication/sign-in"
    r = httpx.post(url, json=load_fixture("auth.sign-in.request.json"), timeout=5)
    assert r.status_code == 200 and set(r.json()) == set(load_fixture("auth.sign-in.response.json"))
    left = token_expiry(r.json()["token"]).timestamp() - time.time()
    assert 7 * 86400 - 60 < left <= 7 * 86400
    assert _get(activepieces, "/v1/api-keys", key=r.json()["token"]).status_code == 200
    r = httpx.post(url, json={"email": "ops@example.com", "password": "not-the-password"}, timeout=5)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
    for _ in range(5):
        r = httpx.post(url, json={"email": "ops@example.com", "password": "not-the-password"}, timeout=5)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert r.json() == load_fixture("error.rate-limit.json")


def test_sessions_expire_and_are_revoked(activepieces):
    stale = activepieces.session_token(ttl=-5)
    r = _get(activepieces, "/v1/projects", key=stale)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_BEARER_TOKEN"
    token = activepieces.session_token()
    activepieces.revoke_sessions()
    r = _get(activepieces, "/v1/projects", key=token)
    assert r.status_code == 403 and r.json() == load_fixture("error.session-expired.json")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _get(activepieces, "/v1/projects", key=forged).status_code == 401


def test_only_contract_routes_are_served(activepieces):
    for path in (f"/v1/mcp/{DEFAULT_PROJECT}", "/v1/mcp", "/v1/mcp-servers"):
        r = _get(activepieces, path, key=activepieces.session_token())
        assert r.status_code == 404 and r.json()["message"].startswith("Route GET:")


def test_fault_knobs(activepieces):
    f = activepieces.fault("/v1/projects", status=503, times=2, skip=1)
    codes = [_get(activepieces, "/v1/projects").status_code for _ in range(4)]
    assert codes == [200, 503, 503, 200]
    assert f.applied == 2
    activepieces.fault("/v1/projects", status=429, retry_after=7)
    r = _get(activepieces, "/v1/projects")
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    activepieces.fault("/v1/projects", reset=True)
    with pytest.raises(httpx.TransportError):
        _get(activepieces, "/v1/projects")
    activepieces.fault("/v1/projects", malformed=True)
    with pytest.raises(ValueError):
        _get(activepieces, "/v1/projects").json()
    assert [r.status for r in activepieces.calls("GET", "/v1/projects")][-3:] == [429, 0, 200]


def test_response_validation_catches_a_bad_body():
    double = ActivepiecesDouble()
    double.check_response("GET", "/v1/projects", 200, {"data": [{"id": "x"}], "next": None, "previous": None})
    double.check_response("GET", "/v1/projects", 404, {"code": "NOT_A_CODE", "params": {}})
    assert len(double.response_problems) == 2


def test_requests_to_the_site_root_are_not_the_api(activepieces):
    r = httpx.get(activepieces.url + "/v1/projects", headers={"Authorization": f"Bearer {activepieces.api_key}"},
                  timeout=5)
    assert r.status_code == 404 and "Route" in r.json()["message"]
