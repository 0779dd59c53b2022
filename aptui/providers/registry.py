"""Build provider clients by id, and keep one live client per connection for reuse.

``make_provider`` builds a fresh client (the provider module is imported only then).
``provider_for`` returns the process-wide client of a connection, reusing it while the connection's
config and options are unchanged (Vault/Conjur tokens, 1Password sessions, boto3 clients), and
closes the old one when they change. ``release`` drops one or all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import threading
from typing import Any

from aptui.errors import usage
from aptui.providers.base import Provider, ProviderOptions
from aptui.providers.fields import PROVIDER_IDS, PROVIDERS

_CLASSES: dict[str, tuple[str, str]] = {
    "aws": ("aptui.providers.aws", "AwsProvider"),
    "hashicorp": ("aptui.providers.vault", "VaultProvider"),
    "cyberark-conjur": ("aptui.providers.conjur", "ConjurProvider"),
    "onepassword": ("aptui.providers.onepassword", "OnePasswordProvider"),
}

_LIVE: dict[str, tuple[str, Any, Provider]] = {}
_LOCK = threading.Lock()


def _require(provider_id: str, config: dict[str, str]) -> None:
    spec = PROVIDERS.get(provider_id)
    if spec is None or provider_id not in _CLASSES:
        raise usage(f"unknown secret-manager provider {provider_id!r}", hint="providers: " + ", ".join(PROVIDER_IDS))
    missing = [f.name for f in spec.required if not str(config.get(f.name) or "")]
    if missing:
        raise usage(f"{spec.display_name} connection is missing {', '.join(missing)}")


def make_provider(provider_id: str, config: dict[str, str], options: ProviderOptions | None = None, *,
                  connection_id: str | None = None, **kwargs: Any) -> Provider:
    """A new client for ``provider_id`` built from a decrypted connection config.

    ``connection_id`` goes into error params (``request.connectionId``). Extra keyword arguments
    reach the provider class (e.g. ``backend=`` for 1Password).
    """
    _require(provider_id, config)
    module_name, class_name = _CLASSES[provider_id]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(dict(config), options or ProviderOptions(), connection_id=connection_id, **kwargs)


def fingerprint(provider_id: str, config: dict[str, str], options: ProviderOptions | None) -> str:
    """A digest of what makes a client: provider, config and options (no clear values kept)."""
    o = options or ProviderOptions()
    doc = {"p": provider_id, "c": sorted((str(k), str(v)) for k, v in config.items()),
           "o": [o.timeout, o.retries, o.verify_tls, o.proxy,
                 sorted((str(k), repr(v)) for k, v in (o.extra or {}).items())]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


async def provider_for(connection_id: str, provider_id: str, config: dict[str, str],
                       options: ProviderOptions | None = None, **kwargs: Any) -> Provider:
    """The live client of a connection, built on first use and rebuilt when its config changes.

    A client belongs to the event loop that built it (httpx and SDK sessions are loop-bound): on
    another loop a new one is built, and the old one is dropped without awaiting its dead loop.
    """
    fp = fingerprint(provider_id, config, options)
    loop = asyncio.get_running_loop()
    with _LOCK:
        current = _LIVE.get(connection_id)
        if current is not None and current[0] == fp and current[1] is loop:
            return current[2]
        client = make_provider(provider_id, config, options, connection_id=connection_id, **kwargs)
        _LIVE[connection_id] = (fp, loop, client)
    if current is not None and current[1] is loop:
        await _close(current[2])
    return client


async def release(connection_id: str | None = None) -> int:
    """Close and forget the live client of one connection (or of all); returns how many."""
    with _LOCK:
        if connection_id is None:
            gone = list(_LIVE.values())
            _LIVE.clear()
        else:
            entry = _LIVE.pop(connection_id, None)
            gone = [entry] if entry else []
    loop = asyncio.get_running_loop()
    for _fp, owner, client in gone:
        if owner is loop:
            await _close(client)
    return len(gone)


def forget(connection_id: str) -> bool:
    """Drop a connection's live client without awaiting (for synchronous callers such as remove)."""
    with _LOCK:
        return _LIVE.pop(connection_id, None) is not None


def live_connections() -> list[str]:
    with _LOCK:
        return list(_LIVE)


async def _close(client: Provider) -> None:
    with contextlib.suppress(Exception):  # a dead session must not block replacing it
        await client.aclose()
