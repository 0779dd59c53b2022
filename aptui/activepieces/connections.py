"""App connections: list (filters, cursor), upsert a SECRET_TEXT connection, update, delete.

The upsert body carries the connection value in clear (the server needs it); nothing here logs
it, and it is passed to the client as a secret to scrub from any error text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aptui.activepieces.client import PAGE_MAX, ActivepiecesClient, SeekPage
from aptui.masking import Secret

PATH = "/v1/app-connections"
STATUSES = ("ACTIVE", "MISSING", "ERROR")
SCOPES = ("PROJECT", "PLATFORM")
SENSITIVE_KEYS = frozenset({"value"})


def sanitize(conn: dict[str, Any]) -> dict[str, Any]:
    """The connection without any value field (the API never sends one; be sure)."""
    return {k: v for k, v in conn.items() if k not in SENSITIVE_KEYS}


def list_params(project_id: str, *, piece_name: str | None = None, display_name: str | None = None,
                status: list[str] | None = None, scope: str | None = None) -> dict[str, Any]:
    return {"projectId": project_id, "pieceName": piece_name, "displayName": display_name,
            "status": list(status or []), "scope": scope}


async def page(client: ActivepiecesClient, project_id: str, *, cursor: str | None = None,
               limit: int = 50, **filters: Any) -> SeekPage:
    """One page (for paged views): ``limit`` items from ``cursor``."""
    async for p in client.pages(PATH, list_params(project_id, **filters), limit=limit, cursor=cursor):
        p.data = [sanitize(c) for c in p.data]
        return p
    return SeekPage(data=[])


async def iter_connections(client: ActivepiecesClient, project_id: str, *, limit: int = PAGE_MAX,
                           **filters: Any) -> AsyncIterator[dict[str, Any]]:
    """Every matching connection, streamed page by page."""
    async for item in client.items(PATH, list_params(project_id, **filters), limit=limit):
        yield sanitize(item)


def upsert_body(*, project_id: str, external_id: str, display_name: str, piece_name: str, value: Secret,
                metadata: dict[str, Any] | None = None, piece_version: str | None = None) -> dict[str, Any]:
    """``UpsertAppConnectionRequestBody`` for a secret text. Holds the value: never log it."""
    body: dict[str, Any] = {
        "projectId": project_id,
        "externalId": external_id,
        "displayName": display_name,
        "pieceName": piece_name,
        "type": "SECRET_TEXT",
        "value": {"type": "SECRET_TEXT", "secret_text": value.reveal()},
    }
    if metadata is not None:
        body["metadata"] = metadata
    if piece_version:
        body["pieceVersion"] = piece_version
    return body


async def upsert_secret_text(client: ActivepiecesClient, *, value: Secret, **fields: Any) -> dict[str, Any]:
    """Create or replace the connection keyed by (projectId, externalId). Safe to retry."""
    body = upsert_body(value=value, **fields)
    result = await client.post(PATH, body, idempotent=True, secrets=[value.reveal()])
    return sanitize(result or {})


async def update(client: ActivepiecesClient, connection_id: str, *, display_name: str,
                 metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"displayName": display_name}
    if metadata is not None:
        body["metadata"] = metadata
    return sanitize(await client.post(f"{PATH}/{connection_id}", body, idempotent=True) or {})


async def delete(client: ActivepiecesClient, connection_id: str, *, project_id: str | None = None) -> None:
    await client.delete(f"{PATH}/{connection_id}", {"projectId": project_id})


def tenant_of(conn: dict[str, Any]) -> str | None:
    """Ever Gauzy's tenant (``metadata.tenantId``); filtering by it happens client-side."""
    meta = conn.get("metadata")
    value = meta.get("tenantId") if isinstance(meta, dict) else None
    return None if value is None else str(value)


def gauzy_external_id(tenant_id: str, organization_id: str) -> str:
    """Ever Gauzy's convention for an externalId."""
    return f"gauzy-tenant-{tenant_id}-org-{organization_id}"
