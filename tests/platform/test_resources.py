"""Resource modules: every request body aptui sends is validated against Activepieces' schemas."""

from __future__ import annotations

import pytest

from aptui.activepieces import connections, flags, mcp, pieces, projects, runs, secret_managers
from aptui.activepieces.client import ApiError
from aptui.errors import AptuiError
from aptui.masking import Secret
from tests.doubles.activepieces import DEFAULT_PROJECT, SECOND_PROJECT, load_fixture, validate_body

REF = "{{smcAws0000000000001ab|ap_sep_v1|prod/gauzy:access_token}}"


async def test_flags_and_version(make_client):
    async with make_client() as c:
        f = await flags.get_flags(c)
    assert flags.server_version(f) == "0.71.2" and flags.edition(f) == "ee"
    assert flags.server_version({}) is None


async def test_projects(make_client):
    async with make_client() as c:
        rows = await projects.list_projects(c)
    assert [p["displayName"] for p in rows] == ["Default Project", "Finance automations"]


async def test_upsert_body_matches_the_fixture_and_schema(activepieces, make_client):
    fixture = load_fixture("app-connections.upsert.request.json")
    body = connections.upsert_body(project_id=fixture["projectId"], external_id=fixture["externalId"],
                                   display_name=fixture["displayName"], piece_name=fixture["pieceName"],
                                   value=Secret(fixture["value"]["secret_text"]), metadata=fixture["metadata"])
    assert body == fixture
    validate_body("UpsertAppConnectionRequestBody", body)


async def test_upsert_creates_then_replaces(activepieces, make_client):
    ext = connections.gauzy_external_id("7", "9")
    assert ext == "gauzy-tenant-7-org-9"
    async with make_client() as c:
        first = await connections.upsert_secret_text(
            c, value=Secret("tok-1-abcdef"), project_id=DEFAULT_PROJECT, external_id=ext,
            display_name="Gauzy 7/9", piece_name="ever-gauzy", metadata={"tenantId": "7", "organizationId": "9"})
        second = await connections.upsert_secret_text(
            c, value=Secret(REF), project_id=DEFAULT_PROJECT, external_id=ext, display_name="Gauzy 7/9 (vault)",
            piece_name="ever-gauzy", piece_version="0.7.1")
    assert first["id"] == second["id"]
    assert second["usingSecretManager"] is True and "value" not in second
    assert activepieces.connection_values[first["id"]] == {"type": "SECRET_TEXT", "secret_text": REF}
    for req in activepieces.calls("POST", "/v1/app-connections"):
        validate_body("UpsertAppConnectionRequestBody", req.body)


async def test_list_filters_are_sent_as_the_contract_says(activepieces, make_client):
    async with make_client() as c:
        rows = [x async for x in connections.iter_connections(
            c, DEFAULT_PROJECT, piece_name="ever-gauzy", display_name="gauzy", status=["ACTIVE", "ERROR"],
            scope="PROJECT")]
    assert [r["externalId"] for r in rows] == ["gauzy-tenant-1-org-2"]
    q = activepieces.calls("GET", "/v1/app-connections")[0].query
    assert q["projectId"] == [DEFAULT_PROJECT] and q["status"] == ["ACTIVE", "ERROR"]
    assert q["pieceName"] == ["ever-gauzy"] and q["displayName"] == ["gauzy"] and q["scope"] == ["PROJECT"]
    assert connections.tenant_of(rows[0]) == "1"


async def test_connection_page_for_paged_views(activepieces, make_client):
    activepieces.seed_connections(120)
    async with make_client() as c:
        page1 = await connections.page(c, DEFAULT_PROJECT, limit=50)
        page2 = await connections.page(c, DEFAULT_PROJECT, limit=50, cursor=page1.next)
    assert len(page1.data) == 50 and len(page2.data) == 50 and page2.data[0]["id"] != page1.data[0]["id"]


async def test_update_and_delete_connection(activepieces, make_client):
    cid = activepieces.connections[0]["id"]
    async with make_client() as c:
        updated = await connections.update(c, cid, display_name="Renamed", metadata={"a": 1})
        await connections.delete(c, cid, project_id=DEFAULT_PROJECT)
        with pytest.raises(ApiError) as exc:
            await connections.delete(c, cid)
    assert updated["displayName"] == "Renamed"
    validate_body("UpdateConnectionValueRequestBody", activepieces.calls("POST", f"/v1/app-connections/{cid}")[0].body)
    assert exc.value.code == "ENTITY_NOT_FOUND"


def test_sanitize_drops_every_token_field():
    server = {"id": "x", "token": "t1", "mcpToken": "t2", "nested": [{"access_token": "t3", "keep": 1}],
              "disabledTools": ["a"], "tokenizer": "kept"}
    clean = mcp.sanitize(server)
    assert clean == {"id": "x", "nested": [{"keep": 1}], "disabledTools": ["a"], "tokenizer": "kept"}
    assert server["token"] == "t1"  # the input is not modified


async def test_mcp_project_era_drops_token(activepieces, make_client):
    token = activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    async with make_client() as c:
        servers = await mcp.get_servers(c, DEFAULT_PROJECT)
        updated = await mcp.update_server(c, DEFAULT_PROJECT, disabled_tools=["ap_delete_step", "ap_delete_branch"])
        server, new_token = await mcp.rotate_token(c, DEFAULT_PROJECT)
    assert "token" not in servers[0] and token not in repr(servers)
    assert updated["disabledTools"] == ["ap_delete_step", "ap_delete_branch"] and "token" not in updated
    assert isinstance(new_token, Secret) and new_token.reveal() != token
    assert new_token.reveal() == activepieces.mcp_servers[DEFAULT_PROJECT]["token"]
    assert "token" not in server and new_token.reveal() not in repr(server)
    assert new_token.reveal() not in repr(new_token)
    body = activepieces.calls("POST", f"/v1/projects/{DEFAULT_PROJECT}/mcp-server")[0].body
    assert body == load_fixture("mcp-server.update.request.json")
    validate_body("UpdateMcpServerRequest", body)
    assert c.facts["mcp_era"] == "project"
    assert {k for _, p, k in activepieces.principals if "mcp-server" in p} == {"USER"}


async def test_mcp_oauth_era_is_detected_and_the_minted_token_dropped(activepieces, make_client):
    async with make_client() as c:
        assert await mcp.oauth_era(c, DEFAULT_PROJECT) is False  # project era without /token: 404
    activepieces.use_mcp_era("oauth")
    async with make_client() as c:
        assert await mcp.oauth_era(c, DEFAULT_PROJECT) is True
        assert await mcp.oauth_era(c, DEFAULT_PROJECT) is True  # asked once per client
    assert activepieces.minted_mcp_tokens == 1


async def test_mcp_named_era_by_404_newest_first(activepieces, make_client):
    activepieces.use_mcp_era("named")
    legacy = next(s for s in activepieces.legacy_mcp if s["projectId"] == DEFAULT_PROJECT)
    async with make_client() as c:
        servers = await mcp.get_servers(c, DEFAULT_PROJECT)
        renamed = await mcp.update_server(c, DEFAULT_PROJECT, name="gauzy-mcp")
        _, token = await mcp.rotate_token(c, DEFAULT_PROJECT)
    assert servers[0]["id"] == legacy["id"] and servers[0]["name"] == "mcp-1" and "token" not in servers[0]
    assert renamed["name"] == "gauzy-mcp" and legacy["name"] == "gauzy-mcp"
    assert token.reveal() == legacy["token"]
    assert c.facts["mcp_era"] == "named"
    assert [r.path for r in activepieces.requests][:2] == [f"/v1/projects/{DEFAULT_PROJECT}/mcp-server",
                                                           "/v1/mcp-servers"]
    assert activepieces.calls("POST", f"/v1/mcp-servers/{legacy['id']}/rotate")


async def test_mcp_earliest_era_admits_an_api_key(activepieces, make_client):
    activepieces.use_mcp_era("earliest")
    legacy = next(s for s in activepieces.legacy_mcp if s["projectId"] == DEFAULT_PROJECT)
    async with make_client() as c:
        servers = await mcp.get_servers(c, DEFAULT_PROJECT)
        with pytest.raises(AptuiError) as exc:
            await mcp.update_server(c, DEFAULT_PROJECT, disabled_tools=["x"])
        _, token = await mcp.rotate_token(c, DEFAULT_PROJECT)
    assert servers[0]["id"] == legacy["id"] and token.reveal() == legacy["token"]
    assert exc.value.code == "MCP_NOT_SUPPORTED"
    assert [r.path for r in activepieces.requests][:3] == [f"/v1/projects/{DEFAULT_PROJECT}/mcp-server",
                                                           "/v1/mcp-servers", "/v1/mcp"]
    assert activepieces.principals[-1] == ("POST", f"/v1/mcp/{legacy['id']}/rotate", "SERVICE")


async def test_mcp_no_era_at_all(activepieces, make_client):
    activepieces.use_mcp_era("none")
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await mcp.get_servers(c, DEFAULT_PROJECT)
    assert exc.value.code == "MCP_NOT_AVAILABLE"


async def test_named_mcp_with_several_servers_needs_a_choice(activepieces, make_client):
    activepieces.use_mcp_era("named", servers_per_project=2)
    async with make_client() as c:
        assert len(await mcp.get_servers(c, DEFAULT_PROJECT)) == 2
        with pytest.raises(AptuiError) as exc:
            await mcp.rotate_token(c, DEFAULT_PROJECT)
        assert "--server" in exc.value.hint
        target = [s for s in activepieces.legacy_mcp if s["projectId"] == DEFAULT_PROJECT][1]
        _, token = await mcp.rotate_token(c, DEFAULT_PROJECT, server_id=target["id"])
    assert token.reveal() == target["token"]


async def test_mcp_unknown_project_is_not_taken_for_an_older_era(activepieces, make_client):
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await mcp.get_servers(c, "prjNope00000000000000")
    assert exc.value.code == "ENTITY_NOT_FOUND" and exc.value.message == "Project not found"
    assert len(activepieces.requests) == 1


async def test_mcp_platform_server(activepieces, make_client):
    async with make_client() as c:
        server = await mcp.get_platform_server(c)
        updated = await mcp.update_platform_server(c, ["ap_delete_flow"])
        rotated, token = await mcp.rotate_platform_token(c)
    assert server["type"] == "PLATFORM" and "token" not in server and updated["disabledTools"] == ["ap_delete_flow"]
    assert token.reveal() == activepieces.platform_mcp["token"] and "token" not in rotated


async def test_rotate_without_token_in_answer(activepieces, make_client):
    activepieces.fault("/v1/projects/.*/mcp-server/rotate", status=200, body={"id": "x"})
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await mcp.rotate_token(c, DEFAULT_PROJECT)
    assert "no token" in exc.value.message


async def test_secret_manager_body_and_routes(activepieces, make_client):
    fixture = load_fixture("secret-managers.create.request.json")
    body = secret_managers.connect_body(provider_id="hashicorp", name=fixture["name"], scope="PLATFORM",
                                        project_ids=None,
                                        config={**fixture["config"], "secretId": Secret(fixture["config"]["secretId"])})
    assert body == fixture
    async with make_client() as c:
        created = await secret_managers.create(c, body)
        listed = await secret_managers.list_connections(c, project_id=SECOND_PROJECT)
        await secret_managers.update(c, created["id"], {**body, "name": "vault-finance-2"})
        await secret_managers.clear_cache(c, created["id"])
        await secret_managers.clear_cache(c)
        await secret_managers.delete(c, created["id"])
    assert created["connection"] == {"configured": True, "connected": True} and "config" not in created
    assert fixture["name"] in {s["name"] for s in listed}
    assert activepieces.cache_clears == [created["id"], None]
    for req in activepieces.calls("POST", "/v1/secret-managers"):
        validate_body("ConnectSecretManagerRequestSchema", req.body)


async def test_secret_manager_connection_failure_saves_nothing(activepieces, make_client):
    activepieces.fail_connect("hashicorp", "permission denied")
    body = load_fixture("secret-managers.create.request.json")
    async with make_client() as c:
        with pytest.raises(ApiError) as exc:
            await secret_managers.create(c, body)
    assert exc.value.code == "SECRET_MANAGER_CONNECTION_FAILED" and exc.value.status == 400
    assert exc.value.params == {"provider": "hashicorp"}
    assert len(activepieces.secret_managers) == 2
    assert body["config"]["secretId"] not in exc.value.one_line()


async def test_runs_list_and_retry_body(activepieces, make_client):
    async with make_client() as c:
        failed = [r async for r in runs.iter_runs(c, DEFAULT_PROJECT, status=["FAILED", "TIMEOUT"])]
        answer = await runs.retry(c, failed[0]["id"], project_id=DEFAULT_PROJECT, strategy="FROM_FAILED_STEP")
    assert {r["status"] for r in failed} == {"FAILED", "TIMEOUT"}
    assert answer["status"] == "QUEUED"
    body = activepieces.calls("POST", "/v1/flow-runs")[0].body
    assert body == load_fixture("flow-runs.retry.request.json")
    assert activepieces.calls("GET", "/v1/flow-runs")[0].query["status"] == ["FAILED", "TIMEOUT"]


async def test_pieces_mark_private_ones(make_client):
    async with make_client() as c:
        rows = await pieces.list_pieces(c, include_hidden=True)
    private = {p["name"] for p in rows if p["private"]}
    assert private == {"ever-gauzy", "@acme/piece-ledger"}
    assert all("version" in p for p in rows)


async def test_secret_manager_update_falls_back_to_patch(activepieces, make_client):
    activepieces.sm_update_method = "PATCH"
    body = load_fixture("secret-managers.update.request.json")
    sm_id = activepieces.secret_managers[0]["id"]
    async with make_client() as c:
        first = await secret_managers.update(c, sm_id, body)
        second = await secret_managers.update(c, sm_id, body)
    assert first["name"] == second["name"] == body["name"]
    assert [r.method for r in activepieces.requests] == ["POST", "PATCH", "PATCH"]  # remembered
    with pytest.raises(ApiError) as exc:
        async with make_client() as c:
            await secret_managers.update(c, "smcNope00000000000000", body)  # ENTITY_NOT_FOUND: no fallback
    assert exc.value.code == "ENTITY_NOT_FOUND" and activepieces.requests[-1].method == "PATCH"
