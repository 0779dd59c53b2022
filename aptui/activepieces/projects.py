"""Projects: ``GET /v1/projects`` (SeekPage of ``Project``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aptui.activepieces.client import PAGE_MAX, ActivepiecesClient

PATH = "/v1/projects"


def iter_projects(client: ActivepiecesClient, *, display_name: str | None = None,
                  limit: int = PAGE_MAX) -> AsyncIterator[dict[str, Any]]:
    """Every project the key can see, page by page."""
    return client.items(PATH, {"displayName": display_name}, limit=limit)


async def list_projects(client: ActivepiecesClient, **kwargs: Any) -> list[dict[str, Any]]:
    return [p async for p in iter_projects(client, **kwargs)]
