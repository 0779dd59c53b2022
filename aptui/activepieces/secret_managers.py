"""The platform's secret-manager connections (EE): list, create, update, delete, clear its cache.

Create/update bodies carry the provider config in clear (the server tests it live before
saving); it is passed to the client as secrets to scrub from any error text and never logged.
"""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient, SeekPage
from aptui.masking import Secret

PATH = "/v1/secret-managers"
SENSITIVE_KEYS = frozenset({"config", "auth"})


def sanitize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in SENSITIVE_KEYS}


async def list_connections(client: ActivepiecesClient, *, project_id: str | None = None) -> list[dict[str, Any]]:
    """Every connection (answers are a SeekPage or a plain array, depending on the version)."""
    params = {"projectId": project_id}
    first = SeekPage.parse(await client.get(PATH, params), f"GET {PATH}")
    items = list(first.data)
    if first.next:
        async for page in client.pages(PATH, params, cursor=first.next):
            items.extend(page.data)
    return [sanitize(i) for i in items if isinstance(i, dict)]


def connect_body(*, provider_id: str, name: str, scope: str, project_ids: list[str] | None,
                 config: dict[str, Any]) -> dict[str, Any]:
    """``ConnectSecretManagerRequestSchema``; ``Secret`` config values are revealed here only."""
    body: dict[str, Any] = {
        "providerId": provider_id,
        "name": name,
        "scope": scope,
        "config": {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in config.items() if v is not None},
    }
    if scope == "PROJECT" or project_ids:
        body["projectIds"] = list(project_ids or [])
    return body


def _secrets(body: dict[str, Any]) -> list[str]:
    return [v for v in body.get("config", {}).values() if isinstance(v, str) and len(v) >= 4]


async def create(client: ActivepiecesClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create (the server tests the connection first and saves nothing on failure). Not retried."""
    return sanitize(await client.post(PATH, body, secrets=_secrets(body)) or {})


async def update(client: ActivepiecesClient, connection_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Full replace (config included). ``POST /:id``; some versions have ``PATCH /:id`` instead (§7):
    tried after a route-missing 404, and remembered per client."""
    from aptui.activepieces.client import ApiError

    path, scrub = f"{PATH}/{connection_id}", _secrets(body)
    if client.facts.get("sm_update") != "PATCH":
        try:
            return sanitize(await client.post(path, body, idempotent=True, secrets=scrub) or {})
        except ApiError as err:
            if not (err.status == 404 and err.code != "ENTITY_NOT_FOUND"):
                raise
        client.facts["sm_update"] = "PATCH"
    return sanitize(await client.request("PATCH", path, json=body, idempotent=True, secrets=scrub) or {})


async def delete(client: ActivepiecesClient, connection_id: str) -> None:
    await client.delete(f"{PATH}/{connection_id}")


async def clear_cache(client: ActivepiecesClient, connection_id: str | None = None) -> None:
    """Clear the platform's secret cache: all of it, or one connection's entries (admin only)."""
    await client.delete(f"{PATH}/cache", {"connectionId": connection_id})
