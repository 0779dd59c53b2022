"""The route table: every platform route with three profiles (API key only, session only, both).

The right credential is sent (the double records the principal it served), USER-only routes are
refused before anything is sent when there is no session, and nothing outside the table is sent.
"""

from __future__ import annotations

import re

import pytest

from aptui.activepieces import routes
from aptui.activepieces.client import ApiError
from aptui.errors import Exit
from tests.doubles.activepieces import DEFAULT_PROJECT, load_fixture

RUN = "runAa1Bb2Cc3Dd4Ee5Ff6"


def _call(double, name: str) -> tuple[str, str, dict | None, dict | None]:
    """(method, path, params, body) of one valid call to route ``name`` against the seeded double."""
    conn = double.connections[0]["id"]
    run = double.add_run(status="FAILED")["id"]
    sm = double.secret_managers[0]["id"]
    key = double.api_key_records[0]["id"]
    upsert = load_fixture("app-connections.upsert.request.json")
    sm_body = load_fixture("secret-managers.create.request.json")
    calls = {
        "flags.get": ({}, None),
        "projects.list": ({"limit": 1}, None),
        "app-connections.list": ({"projectId": DEFAULT_PROJECT}, None),
        "app-connections.upsert": (None, upsert),
        "app-connections.update": ({"id": conn}, {"displayName": "renamed"}),
        "app-connections.delete": ({"id": conn}, None),
        "flow-runs.list": ({"projectId": DEFAULT_PROJECT}, None),
        "flow-runs.bulk-retry": (None, {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP",
                                        "flowRunIds": [run]}),
        "flow-runs.retry": ({"id": run}, {"projectId": DEFAULT_PROJECT, "strategy": "FROM_FAILED_STEP"}),
        "pieces.list": ({}, None),
        "secret-managers.cache-clear": ({}, None),
        "secret-managers.list": ({}, None),
        "secret-managers.create": (None, sm_body),
        "secret-managers.update": ({"id": sm}, sm_body),
        "secret-managers.update-patch": ({"id": sm}, sm_body),
        "secret-managers.delete": ({"id": sm}, None),
        "api-keys.list": ({}, None),
        "api-keys.create": (None, {"displayName": "aptui test"}),
        "api-keys.delete": ({"id": key}, None),
        "mcp.project.get": ({"projectId": DEFAULT_PROJECT}, None),
        "mcp.project.update": ({"projectId": DEFAULT_PROJECT}, {"disabledTools": []}),
        "mcp.project.rotate": ({"projectId": DEFAULT_PROJECT}, {}),
        "mcp.project.token": ({"projectId": DEFAULT_PROJECT}, {}),
        "mcp.platform.get": ({}, None),
        "mcp.platform.update": ({}, {"disabledTools": []}),
        "mcp.platform.rotate": ({}, {}),
        "mcp.named.list": ({"projectId": DEFAULT_PROJECT}, None),
        "mcp.named.update": ({"id": "@named"}, {"name": "x"}),
        "mcp.named.rotate": ({"id": "@named"}, {}),
        "mcp.earliest.get": ({"projectId": DEFAULT_PROJECT}, None),
        "mcp.earliest.update": ({"id": "@earliest"}, {"connectionsIds": []}),
        "mcp.earliest.rotate": ({"id": "@earliest"}, {}),
    }
    if name == "auth.sign-in":
        return "POST", routes.path_of(name), None, load_fixture("auth.sign-in.request.json")
    era = {"mcp.project.token": "oauth", "mcp.named": "named", "mcp.earliest": "earliest"}
    for prefix, which in era.items():
        if name.startswith(prefix):
            double.use_mcp_era(which)
    if name == "secret-managers.update-patch":
        double.sm_update_method = "PATCH"
    params, body = calls[name]
    r = routes.route(name)
    path_params = {k: v for k, v in (params or {}).items() if f":{k}" in r.path}
    if path_params.get("id", "").startswith("@"):
        path_params["id"] = next(s["id"] for s in double.legacy_mcp if s["projectId"] == DEFAULT_PROJECT)
    query = {k: v for k, v in (params or {}).items() if k not in path_params}
    return r.method, routes.path_of(name, **path_params), query, body


NAMES = [r.name for r in routes.ROUTES]
PROFILES = ("key", "session", "both")


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", NAMES)
async def test_every_route_with_three_profiles(activepieces, make_client, name, profile):
    method, path, query, body = _call(activepieces, name)
    r = routes.route(name)
    activepieces.requests.clear()
    activepieces.principals.clear()
    async with make_client(key=None if profile != "session" else False, session=profile != "key") as c:
        if r.user_only and profile == "key":
            with pytest.raises(ApiError) as exc:
                await c.request(method, path, params=query, json=body)
            assert exc.value.code == "USER_SESSION_REQUIRED" and exc.value.exit_code == Exit.USAGE
            assert exc.value.one_line().startswith(f"USER_SESSION_REQUIRED: {r.noun} need a signed-in platform ")
            assert "(aptui profile login ap-test)" in exc.value.message
            assert activepieces.requests == []  # refused before sending
            return
        await c.request(method, path, params=query, json=body)
    served = [p for p in activepieces.principals if p[1] == path]
    assert len(served) == 1
    expected = None if r.public else ("SERVICE" if routes.SERVICE in r.principals and profile != "session"
                                      else "USER")
    assert served[0][2] == expected
    sent = activepieces.requests[-1].authorization
    if r.public:
        assert sent is None
    else:
        assert (sent == f"Bearer {activepieces.api_key}") == (expected == "SERVICE")


def test_the_table_holds_every_route_of_the_contract():
    text = (load_fixture.__globals__["REFERENCE"] / "activepieces-api.md").read_text()
    section = text[text.index("## 1a."):text.index("## 2.")]
    table = {(r.method, r.path) for r in routes.ROUTES}
    for row in re.findall(r"^\| `([^`]+)`", section, flags=re.M):
        methods, paths = row.split(" ", 1)
        for method in methods.split("/"):
            path = paths.split("…")[0].rstrip("/")
            if path.endswith("app-connections"):
                continue  # "app-connections…": the family is checked route by route below
            assert any(m == method and (p == path or p.startswith(path)) for m, p in table), (method, path)
    for r in routes.ROUTES:
        assert r.user_only == (r.principals == routes.USER_ONLY)


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/mcp/prj8Kq2LmN4pQ7rS9tUv1"), ("GET", "/v1/users/me"),
                                              ("POST", "/v1/mcp/prj8Kq2LmN4pQ7rS9tUv1/x")])
def test_paths_outside_the_table_are_unknown(method, path):
    assert routes.find(method, path) is None
