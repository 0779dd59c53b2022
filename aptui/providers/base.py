"""The one protocol every secret-manager client speaks, and its result type.

A provider is built from a connection's decrypted config. It never raises for a single
missing secret: ``fetch_many`` returns one ``FetchResult`` per requested path, carrying either
the value (a ``Secret``) or an ``AptuiError`` with Activepieces' code and message
(``SECRET_MANAGER_GET_SECRET_FAILED`` "[<path>] <reason>"). Whole-connection failures
(bad credentials, unreachable) raise ``AptuiError`` with ``SECRET_MANAGER_CONNECTION_FAILED``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aptui.errors import AptuiError
from aptui.masking import Secret


@dataclass
class FetchResult:
    """The outcome for one reference path."""

    path: str
    value: Secret | None = None
    error: AptuiError | None = None
    # Labelled differences from Activepieces, e.g. "read as KV v1 (aptui extension)".
    notes: list[str] = field(default_factory=list)
    # Whether Activepieces itself would get this value (False for aptui-only extensions).
    upstream_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None and self.value is not None


@dataclass
class ProviderOptions:
    """Knobs every provider honours."""

    timeout: float = 10.0
    retries: int = 3
    verify_tls: bool = True
    proxy: str | None = None  # the configured proxy (aptui.net applies it to non-loopback URLs only)
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """An async client for one secret-manager connection."""

    provider_id: str

    async def check(self) -> None:
        """Live connection test, as Activepieces' ``checkConnection``; raises CONNECTION_FAILED."""

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        """Fetch every path (already validated), batching where the provider allows it."""

    async def aclose(self) -> None:
        """Release sessions/tokens held by the client."""
