"""Platform API keys: ``GET /v1/api-keys``, ``DELETE /v1/api-keys/:id`` (EE ``api-key-module``).

The list is a SeekPage of ``ApiKeyResponseWithoutValue`` (``id, created, updated, platformId,
displayName, truncatedValue, lastUsedAt``): never the key itself, only its last four characters
(``truncatedValue``). Keys look like ``sk-`` + 61 characters, so four characters are enough to
find the profile's own key among a platform's handful, and ambiguity is reported, not guessed.
"""

from __future__ import annotations

from typing import Any

from aptui.activepieces.client import ActivepiecesClient
from aptui.masking import Secret

PATH = "/v1/api-keys"
TRUNCATED = 4  # api-key-service: secretKey.slice(-4)


async def list_api_keys(client: ActivepiecesClient) -> list[dict[str, Any]]:
    """Every API key of the platform (metadata only: the server never returns a value here)."""
    return [{k: v for k, v in item.items() if k not in ("value", "hashedValue")}
            async for item in client.items(PATH)]


def matching(keys: list[dict[str, Any]], key: Secret) -> list[dict[str, Any]]:
    """The listed keys whose ``truncatedValue`` is the last four characters of ``key``."""
    tail = key.reveal()[-TRUNCATED:]
    if len(tail) < TRUNCATED:
        return []
    return [k for k in keys if k.get("truncatedValue") == tail]


async def delete_api_key(client: ActivepiecesClient, key_id: str) -> None:
    """Revoke one key (200 with an empty body; 404 ``ENTITY_NOT_FOUND`` when it is gone)."""
    await client.delete(f"{PATH}/{key_id}")


async def create_api_key(client: ActivepiecesClient, display_name: str) -> tuple[dict[str, Any], Secret]:
    """``POST /v1/api-keys`` (201): the new key's entry, and its value, which the platform shows only now.

    Not retried (a POST); a call that got no answer may still have created a key: find it by its
    ``displayName`` (``stray``) and delete it, since its value can never be read again.
    """
    from aptui.activepieces.client import ApiError

    body = await client.post(PATH, {"displayName": display_name})
    value = body.pop("value", None) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip() or not body.get("id"):
        raise ApiError("PLATFORM_BAD_RESPONSE", f"POST {PATH} answered without the new key's id and value")
    body.pop("hashedValue", None)
    return body, Secret(value)


async def stray(client: ActivepiecesClient, display_name: str) -> list[dict[str, Any]]:
    """Listed keys named ``display_name`` (created by an attempt whose answer was lost)."""
    return [k for k in await list_api_keys(client) if k.get("displayName") == display_name]
