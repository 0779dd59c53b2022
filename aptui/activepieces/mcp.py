"""MCP servers: one per project (current API) or named servers (older API), tokens dropped.

Current: ``GET/POST /v1/mcp/:projectId``, ``POST /v1/mcp/:projectId/rotate``. Older (as the Ever
Gauzy integration used them): ``GET /v1/mcp?projectId=`` (a page of servers, or one server),
``POST /v1/mcp/:id`` (``name`` and tool settings), ``POST /v1/mcp/:id/rotate``. A 404 from the
current route switches to the older one, remembered per client.

Every GET answers the token in clear: ``sanitize`` drops it before anything leaves this module.
Only ``rotate_token`` hands the new token out, once, as a ``Secret``.
"""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient, ApiError, SeekPage
from aptui.errors import Exit, usage
from aptui.masking import Secret

PATH = "/v1/mcp"
CURRENT, LEGACY = "current", "legacy"


def is_token_key(key: str) -> bool:
    return key.lower().endswith("token")


def sanitize(obj: Any) -> Any:
    """A deep copy without any ``token``-like field (``token``, ``mcpToken``, ``access_token``...)."""
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items() if not (isinstance(k, str) and is_token_key(k))}
    if isinstance(obj, list):
        return [sanitize(v) for v in obj]
    return obj


def _shape(client: ActivepiecesClient) -> str | None:
    return client.facts.get("mcp_shape")


async def _legacy_servers(client: ActivepiecesClient, project_id: str) -> list[dict[str, Any]]:
    body = await client.get(PATH, {"projectId": project_id})
    if isinstance(body, dict) and "data" not in body and "id" in body:
        return [body]  # the oldest shape: one server object
    page = SeekPage.parse(body, f"GET {PATH}")
    return [s for s in page.data if isinstance(s, dict)]


async def get_servers(client: ActivepiecesClient, project_id: str) -> list[dict[str, Any]]:
    """The project's MCP server(s), tokens removed. Current API: exactly one."""
    if _shape(client) != LEGACY:
        try:
            server = await client.get(f"{PATH}/{project_id}")
            client.facts["mcp_shape"] = CURRENT
            return [sanitize(server)]
        except ApiError as err:
            if err.status != 404 or _shape(client) == CURRENT:
                raise
            try:
                servers = await _legacy_servers(client, project_id)
            except ApiError as legacy_err:
                if legacy_err.status == 404:
                    raise err from None  # neither shape: report the current route's error
                raise
            client.facts["mcp_shape"] = LEGACY
            return [sanitize(s) for s in servers]
    return [sanitize(s) for s in await _legacy_servers(client, project_id)]


async def _legacy_target(client: ActivepiecesClient, project_id: str, server_id: str | None) -> str:
    servers = await _legacy_servers(client, project_id)
    ids = [str(s.get("id")) for s in servers]
    if server_id:
        if server_id not in ids:
            raise ApiError("ENTITY_NOT_FOUND", f"MCP server {server_id} not found in project {project_id}",
                           status=404)
        return server_id
    if not ids:
        raise ApiError("ENTITY_NOT_FOUND", f"project {project_id} has no MCP server", status=404)
    if len(ids) > 1:
        raise usage(f"project {project_id} has {len(ids)} MCP servers on this (older) platform",
                    hint="name one with --server: " + ", ".join(ids))
    return ids[0]


async def _post_with_fallback(client: ActivepiecesClient, project_id: str, suffix: str, current_body: Any,
                              legacy_body: Any, server_id: str | None, *, idempotent: bool) -> dict[str, Any]:
    if _shape(client) != LEGACY:
        try:
            result = await client.post(f"{PATH}/{project_id}{suffix}", current_body, idempotent=idempotent)
            client.facts["mcp_shape"] = CURRENT
            return result or {}
        except ApiError as err:
            if err.status != 404 or _shape(client) == CURRENT:
                raise
            try:
                target = await _legacy_target(client, project_id, server_id)
            except ApiError as legacy_err:
                if legacy_err.status == 404 and legacy_err.code != "ENTITY_NOT_FOUND":
                    raise err from None
                raise
            client.facts["mcp_shape"] = LEGACY
    else:
        target = await _legacy_target(client, project_id, server_id)
    return await client.post(f"{PATH}/{target}{suffix}", legacy_body, idempotent=idempotent) or {}


async def update_server(client: ActivepiecesClient, project_id: str, *, disabled_tools: list[str] | None = None,
                        name: str | None = None, server_id: str | None = None) -> dict[str, Any]:
    """Set which tools are disabled (current API) and/or the name (older API). Tokens removed."""
    current: dict[str, Any] = {}
    if disabled_tools is not None:
        current["disabledTools"] = list(disabled_tools)
    legacy = dict(current)
    if name is not None:
        legacy["name"] = name
    result = await _post_with_fallback(client, project_id, "", current, legacy, server_id, idempotent=True)
    return sanitize(result)


async def rotate_token(client: ActivepiecesClient, project_id: str, *,
                       server_id: str | None = None) -> tuple[dict[str, Any], Secret]:
    """Rotate the token: the server (token removed) and the new token, the one time it is shown."""
    result = await _post_with_fallback(client, project_id, "/rotate", {}, {}, server_id, idempotent=False)
    token = result.get("token") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError("PLATFORM_BAD_RESPONSE", "the token was rotated but the answer carried no token",
                       exit_code=Exit.FAILED, hint="rotate again to obtain a usable token")
    return sanitize(result), Secret(token)
