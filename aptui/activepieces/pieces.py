"""Pieces: ``GET /v1/pieces`` (a plain array of piece summaries); CUSTOM ones are private."""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient, SeekPage

PATH = "/v1/pieces"


def is_private(piece: dict[str, Any]) -> bool:
    """Private/custom pieces are installed by the platform: ``pieceType == CUSTOM``."""
    return piece.get("pieceType") == "CUSTOM"


async def list_pieces(client: ActivepiecesClient, *, project_id: str | None = None, include_hidden: bool = False,
                      search: str | None = None) -> list[dict[str, Any]]:
    params = {"projectId": project_id, "includeHidden": include_hidden, "searchQuery": search}
    body = await client.get(PATH, params)
    page = SeekPage.parse(body, f"GET {PATH}")
    items = list(page.data)
    if page.next:  # some versions page this list
        async for more in client.pages(PATH, params, cursor=page.next):
            items.extend(more.data)
    return [{**p, "private": is_private(p)} for p in items if isinstance(p, dict)]
