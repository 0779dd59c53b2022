"""An in-memory secret-manager provider that speaks ``aptui.providers.base.Provider``.

Fixture ``fake_provider`` (needs ``ctx``): installs a ``FakeBackend`` as ``ctx.provider_factory``
so every service call on that Context builds ``FakeProvider`` clients. Seed values with
``backend.values[(provider_id, path)] = "v"`` (or an ``AptuiError`` to fail that path), make the
connection check fail with ``backend.check_error``, make ``fetch_many`` raise with
``backend.fetch_error``, mark extension reads with ``backend.extension_paths``. It records every
check and every ``fetch_many`` call (``backend.fetch_calls``: list of (connection id, paths)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from aptui.errors import AptuiError
from aptui.masking import Secret
from aptui.providers.base import FetchResult, ProviderOptions
from aptui.references import paths as ref_paths


@dataclass
class FakeBackend:
    values: dict[tuple[str, str], str | AptuiError] = field(default_factory=dict)
    check_error: AptuiError | None = None
    fetch_error: AptuiError | None = None
    extension_paths: set[str] = field(default_factory=set)
    required_config: dict[str, str] = field(default_factory=dict)
    checks: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)
    fetch_calls: list[tuple[str | None, list[str]]] = field(default_factory=list)
    closed: int = 0

    def factory(self, provider_id: str, config: dict[str, str], options: ProviderOptions | None = None, *,
                connection_id: str | None = None) -> FakeProvider:
        return FakeProvider(self, provider_id, dict(config), options or ProviderOptions(), connection_id)

    @property
    def fetched_paths(self) -> list[str]:
        return [p for _, paths in self.fetch_calls for p in paths]


class FakeProvider:
    def __init__(self, backend: FakeBackend, provider_id: str, config: dict[str, str], options: ProviderOptions,
                 connection_id: str | None) -> None:
        self.backend = backend
        self.provider_id = provider_id
        self.config = config
        self.options = options
        self.connection_id = connection_id
        self.api_calls = 0

    def _creds_ok(self) -> bool:
        return all(self.config.get(k) == v for k, v in self.backend.required_config.items())

    async def check(self) -> None:
        self.backend.checks.append((self.connection_id, dict(self.config)))
        if self.backend.check_error is not None:
            raise self.backend.check_error
        if not self._creds_ok():
            raise AptuiError("SECRET_MANAGER_CONNECTION_FAILED", "invalid credentials",
                             params={"provider": self.provider_id})

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        self.backend.fetch_calls.append((self.connection_id, list(paths)))
        self.api_calls += 1
        if self.backend.fetch_error is not None:
            raise self.backend.fetch_error
        out: dict[str, FetchResult] = {}
        for path in paths:
            try:
                ref_paths.split(self.provider_id, path)
            except AptuiError as err:
                out[path] = FetchResult(path, error=err)
                continue
            if not self._creds_ok():
                out[path] = FetchResult(path, error=AptuiError(
                    "SECRET_MANAGER_GET_SECRET_FAILED", f"[{path}] invalid credentials"))
                continue
            value = self.backend.values.get((self.provider_id, path))
            if isinstance(value, AptuiError):
                out[path] = FetchResult(path, error=value)
            elif value is None:
                out[path] = FetchResult(path, error=AptuiError(
                    "SECRET_MANAGER_GET_SECRET_FAILED", f"[{path}] No secret found at requested path",
                    params={"provider": self.provider_id,
                            "request": {"connectionId": self.connection_id, "path": path}}))
            elif path in self.backend.extension_paths:
                out[path] = FetchResult(path, value=Secret(value), upstream_ok=False,
                                        notes=["read as KV v1 (aptui extension)"])
            else:
                out[path] = FetchResult(path, value=Secret(value))
        return out

    async def aclose(self) -> None:
        self.backend.closed += 1


@pytest.fixture
def fake_provider(ctx) -> FakeBackend:
    backend = FakeBackend()
    ctx.provider_factory = backend.factory
    return backend
