"""Server flags: ``GET /v1/flags`` (public), read once per profile for the server version."""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient

PATH = "/v1/flags"
VERSION_KEYS = ("CURRENT_VERSION", "currentVersion")


async def get_flags(client: ActivepiecesClient) -> dict[str, Any]:
    body = await client.get(PATH)
    return body if isinstance(body, dict) else {}


def server_version(flags: dict[str, Any]) -> str | None:
    for key in VERSION_KEYS:
        value = flags.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def edition(flags: dict[str, Any]) -> str | None:
    value = flags.get("EDITION")
    return value if isinstance(value, str) else None
