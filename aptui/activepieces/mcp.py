"""MCP servers on the routes that exist (contract §6), tokens dropped. All need a user session
except the earliest era's ``/v1/mcp``.

Eras, newest first, detected by a 404 that is Fastify's "route not found" (an
``ENTITY_NOT_FOUND`` means the route exists) and remembered per client:
- ``project``: ``GET/POST /v1/projects/:projectId/mcp-server`` (``{disabledTools}``), ``…/rotate``;
  the newest also have ``POST …/token`` (OAuth for MCP clients: ``oauth_era``);
- ``named``: ``GET /v1/mcp-servers?projectId=``, ``POST /v1/mcp-servers/:id``, ``…/:id/rotate``;
- ``earliest``: ``GET /v1/mcp`` (the principal's project), ``POST /v1/mcp/:id``, ``…/:id/rotate``.
The platform's own server: ``GET/POST /v1/mcp-server``, ``POST /v1/mcp-server/rotate`` (admin).

Every GET answers the token in clear: ``sanitize`` drops it before anything leaves this module.
Only the rotate functions hand the new token out, once, as a ``Secret``.
"""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient, ApiError, SeekPage
from aptui.activepieces.routes import path_of
from aptui.errors import Exit, usage
from aptui.masking import Secret

PROJECT, NAMED, EARLIEST = "project", "named", "earliest"
ERAS = (PROJECT, NAMED, EARLIEST)
PLATFORM = "/v1/mcp-server"


def is_token_key(key: str) -> bool:
    return key.lower().endswith("token")


def sanitize(obj: Any) -> Any:
    """A deep copy without any ``token``-like field (``token``, ``mcpToken``, ``access_token``...)."""
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items() if not (isinstance(k, str) and is_token_key(k))}
    if isinstance(obj, list):
        return [sanitize(v) for v in obj]
    return obj


def route_missing(err: ApiError) -> bool:
    """A 404 from the router itself (no such route on this server), not a missing entity."""
    return err.status == 404 and err.code != "ENTITY_NOT_FOUND"


def era(client: ActivepiecesClient) -> str | None:
    return client.facts.get("mcp_era")


async def _servers_in(client: ActivepiecesClient, which: str, project_id: str) -> list[dict[str, Any]]:
    """The raw servers of ``project_id`` on era ``which`` (tokens still in)."""
    if which == PROJECT:
        return [await client.get(path_of("mcp.project.get", projectId=project_id)) or {}]
    path = path_of("mcp.named.list") if which == NAMED else path_of("mcp.earliest.get")
    body = await client.get(path, {"projectId": project_id})
    if isinstance(body, dict) and "data" not in body and "id" in body:
        return [body]  # the earliest shape: one server object
    return [s for s in SeekPage.parse(body, f"GET {path}").data if isinstance(s, dict)]


async def _detect(client: ActivepiecesClient, project_id: str) -> tuple[str, list[dict[str, Any]]]:
    """Try each era newest first until one answers; the era and its servers (raw)."""
    known = era(client)
    order = (known,) if known else ERAS
    first: ApiError | None = None
    for which in order:
        try:
            servers = await _servers_in(client, which, project_id)
        except ApiError as err:
            if not route_missing(err) or known:
                raise
            first = first or err
            continue
        client.facts["mcp_era"] = which
        return which, servers
    assert first is not None
    raise ApiError("MCP_NOT_AVAILABLE", "this platform answers none of the MCP routes aptui knows "
                   "(/v1/projects/:id/mcp-server, /v1/mcp-servers, /v1/mcp)", status=404,
                   hint="check the server version; MCP servers arrived in Activepieces 0.4x") from None


async def get_servers(client: ActivepiecesClient, project_id: str) -> list[dict[str, Any]]:
    """The project's MCP server(s), tokens removed. Newest era: exactly one."""
    _, servers = await _detect(client, project_id)
    return [sanitize(s) for s in servers]


def _target(servers: list[dict[str, Any]], project_id: str, server_id: str | None) -> str:
    ids = [str(s.get("id")) for s in servers if s.get("id")]
    if server_id:
        if server_id not in ids:
            raise ApiError("ENTITY_NOT_FOUND", f"MCP server {server_id} not found in project {project_id}", status=404)
        return server_id
    if not ids:
        raise ApiError("ENTITY_NOT_FOUND", f"project {project_id} has no MCP server", status=404)
    if len(ids) > 1:
        raise usage(f"project {project_id} has {len(ids)} MCP servers on this (older) platform",
                    hint="name one with --server: " + ", ".join(ids))
    return ids[0]


async def update_server(client: ActivepiecesClient, project_id: str, *, disabled_tools: list[str] | None = None,
                        name: str | None = None, server_id: str | None = None) -> dict[str, Any]:
    """Set the disabled tools (project era: ``{disabledTools}``); ``name`` on named servers. Tokens removed."""
    which, servers = await _detect(client, project_id)
    if which == PROJECT:
        if disabled_tools is None:
            raise usage("this platform's MCP server has no name; only its tools can be changed",
                        hint="use --disable/--enable TOOL or --disabled-tools LIST")
        body = {"disabledTools": list(disabled_tools)}
        return sanitize(await client.post(path_of("mcp.project.update", projectId=project_id), body,
                                          idempotent=True) or {})
    target = _target(servers, project_id, server_id)
    if which == EARLIEST:
        raise usage("this platform's (earliest) MCP server has no tool or name settings", code="MCP_NOT_SUPPORTED",
                    hint="upgrade Activepieces to change MCP tools")
    body2: dict[str, Any] = {}
    if name is not None:
        body2["name"] = name
    if disabled_tools is not None:
        body2["disabledTools"] = list(disabled_tools)
    return sanitize(await client.post(path_of("mcp.named.update", id=target), body2, idempotent=True) or {})


def _token_of(result: Any) -> Secret:
    token = result.get("token") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError("PLATFORM_BAD_RESPONSE", "the token was rotated but the answer carried no token",
                       exit_code=Exit.FAILED, hint="rotate again to obtain a usable token")
    return Secret(token)


async def rotate_token(client: ActivepiecesClient, project_id: str, *,
                       server_id: str | None = None) -> tuple[dict[str, Any], Secret]:
    """Rotate the token (never resent): the server (token removed) and the new token, shown once."""
    which, servers = await _detect(client, project_id)
    if which == PROJECT:
        path = path_of("mcp.project.rotate", projectId=project_id)
    else:
        target = _target(servers, project_id, server_id)
        path = path_of("mcp.named.rotate" if which == NAMED else "mcp.earliest.rotate", id=target)
    result = await client.post(path, {}) or {}
    return sanitize(result), _token_of(result)


async def oauth_era(client: ActivepiecesClient, project_id: str) -> bool:
    """Whether the server has ``POST …/mcp-server/token`` (MCP clients authenticate by OAuth there).

    Asked once per client. The route mints a short-lived (15 min) access token: its answer is
    dropped unread. Only the project era can have it.
    """
    if "mcp_oauth" in client.facts:
        return bool(client.facts["mcp_oauth"])
    which, _ = await _detect(client, project_id)
    found = False
    if which == PROJECT:
        try:
            await client.post(path_of("mcp.project.token", projectId=project_id), {})
            found = True
        except ApiError as err:
            if not route_missing(err):
                raise
    client.facts["mcp_oauth"] = found
    return found


async def get_platform_server(client: ActivepiecesClient) -> dict[str, Any]:
    """The platform's own MCP server (``GET /v1/mcp-server``, platform admin), token removed."""
    return sanitize(await client.get(PLATFORM) or {})


async def update_platform_server(client: ActivepiecesClient, disabled_tools: list[str]) -> dict[str, Any]:
    return sanitize(await client.post(PLATFORM, {"disabledTools": list(disabled_tools)}, idempotent=True) or {})


async def rotate_platform_token(client: ActivepiecesClient) -> tuple[dict[str, Any], Secret]:
    result = await client.post(path_of("mcp.platform.rotate"), {}) or {}
    return sanitize(result), _token_of(result)
