"""Secret-manager connections: add/update (tested live first), list, show, remove, test, scope.

Mirrors Activepieces' secret-manager service: create and update call the provider's live check
before saving and save nothing when it fails (unless the caller opts out); listings never carry
credentials, only ``connection: {configured, connected}``. Which connections serve a project
follows upstream's ``getSecret`` query (see ``store.connections.Connection.serves``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

from aptui.errors import AptuiError, usage
from aptui.masking import Secret
from aptui.net import require_secure
from aptui.providers.base import Provider, ProviderOptions
from aptui.providers.fields import PROVIDERS, flag
from aptui.services.context import Context
from aptui.store import connections as store_conn
from aptui.store.cache import cache_for
from aptui.store.connections import PLATFORM, PROJECT, Connection

ProviderFactory = Callable[..., Provider]


# -- providers ------------------------------------------------------------------------------------

def provider_options(ctx: Context, provider_id: str) -> ProviderOptions:
    verify = ctx.settings.conjur_verify_tls if provider_id == "cyberark-conjur" else True
    return ProviderOptions(timeout=ctx.settings.timeout, retries=ctx.settings.retries, verify_tls=verify,
                           proxy=ctx.settings.proxy or None)


def default_factory() -> ProviderFactory:
    """``aptui.providers.registry.make_provider`` (imported on first use)."""
    from aptui.providers.registry import make_provider as factory

    return factory


def make_provider(ctx: Context, provider_id: str, config: dict[str, str], *,
                  connection_id: str | None = None) -> Provider:
    """Build a provider client. Tests (and the console) may set ``ctx.provider_factory``."""
    factory: ProviderFactory = getattr(ctx, "provider_factory", None) or default_factory()
    options = provider_options(ctx, provider_id)
    try:
        accepts_id = "connection_id" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        accepts_id = False
    if accepts_id:
        return factory(provider_id, config, options, connection_id=connection_id)
    return factory(provider_id, config, options)


async def client_for(ctx: Context, provider_id: str, config: dict[str, str], *,
                     connection_id: str) -> tuple[Provider, bool]:
    """A client for fetching, and whether the caller must close it.

    Without a test/console factory this is the connection's process-wide live client
    (``registry.provider_for``): Vault tokens, Conjur tokens and 1Password sessions are reused
    across calls, and the client is rebuilt when the connection's config changes.
    """
    if getattr(ctx, "provider_factory", None) is not None:
        return make_provider(ctx, provider_id, config, connection_id=connection_id), True
    from aptui.providers.registry import provider_for

    return await provider_for(connection_id, provider_id, config, provider_options(ctx, provider_id)), False


async def release_clients(connection_id: str | None = None) -> None:
    """Forget live clients (one connection's, or all) if any were built in this process."""
    registry = sys.modules.get("aptui.providers.registry")
    if registry is not None:
        await registry.release(connection_id)


async def live_check(ctx: Context, provider_id: str, config: dict[str, str], *,
                     connection_id: str | None = None) -> None:
    """The provider's connection check (raises SECRET_MANAGER_CONNECTION_FAILED)."""
    provider = make_provider(ctx, provider_id, config, connection_id=connection_id)
    try:
        await provider.check()
    except AptuiError:
        raise
    except Exception as exc:  # a provider bug must not leak text: type name only
        raise AptuiError("SECRET_MANAGER_CONNECTION_FAILED",
                         f"connection check failed ({type(exc).__name__})") from None
    finally:
        with contextlib.suppress(Exception):
            await provider.aclose()


# -- config validation ------------------------------------------------------------------------------

def spec_for(provider_id: str):
    spec = PROVIDERS.get(provider_id)
    if spec is None:
        raise usage(f"unknown provider {provider_id!r}", hint="providers: " + ", ".join(PROVIDERS))
    return spec


def validate_config(provider_id: str, config: dict[str, Any]) -> dict[str, str]:
    """Activepieces' DTO rules: known fields only, every required field a non-empty string."""
    spec = spec_for(provider_id)
    known = {f.name for f in spec.fields}
    for key in config:
        if key not in known:
            raise usage(f"unknown field {key!r} for provider {provider_id}",
                        hint="fields: " + ", ".join(f.name for f in spec.fields))
    clear: dict[str, str] = {}
    for key, value in config.items():
        text = value.reveal() if isinstance(value, Secret) else ("" if value is None else str(value))
        if text != "":
            clear[key] = text
    for f in spec.required:
        if not clear.get(f.name):
            raise usage(f"missing required field {f.name!r} for provider {provider_id}",
                        hint=("give it with --set-env, stdin or the prompt" if f.secret
                              else f"give it with --set {f.name}=VALUE"))
    if provider_id in ("hashicorp", "cyberark-conjur") and clear.get("url"):
        require_secure(clear["url"], allow_http=flag(clear, "allowHttp"),
                       what="Vault AppRole" if provider_id == "hashicorp" else "Conjur")
    return clear


# -- views ------------------------------------------------------------------------------------------

def ttls(ctx: Context, conn: Connection) -> tuple[float, float]:
    """(value TTL, status TTL) in seconds: the connection's own, else the settings'."""
    v = conn.value_ttl if conn.value_ttl is not None else ctx.settings.value_ttl
    s = conn.status_ttl if conn.status_ttl is not None else ctx.settings.status_ttl
    return float(v), float(s)


def _configured(ctx: Context, conn: Connection) -> tuple[bool, dict[str, str]]:
    try:
        config = store_conn.auth(ctx.store, conn)
    except AptuiError:
        return False, {}
    spec = PROVIDERS.get(conn.provider_id)
    ok = spec is not None and all(config.get(f.name) for f in spec.required)
    return ok, config


def view(ctx: Context, conn: Connection, *, entries: int | None = None,
         connected: bool | None = None) -> dict[str, Any]:
    """The listing shape: no credentials, secret fields only as ``"set"``."""
    configured, config = _configured(ctx, conn)
    spec = PROVIDERS.get(conn.provider_id)
    shown: dict[str, str] = {}
    if spec is not None:
        for f in spec.fields:
            if f.secret:
                if config.get(f.name):
                    shown[f.name] = "set"
            elif f.name in conn.public_config:
                shown[f.name] = conn.public_config[f.name]
    cache = cache_for(ctx.store)
    if connected is None:
        connected = True if cache.status(conn.id) else conn.last_test_ok
    if entries is None:
        entries = cache.stats([conn.id])[conn.id].entries
    value_ttl, status_ttl = ttls(ctx, conn)
    return {
        "id": conn.id,
        "providerId": conn.provider_id,
        "name": conn.name,
        "scope": conn.scope,
        "projectIds": list(conn.project_ids),
        "created": conn.created,
        "updated": conn.updated,
        "connection": {"configured": configured, "connected": connected},
        "lastTest": {"at": conn.last_test_at, "ok": conn.last_test_ok, "error": conn.last_test_error},
        "cache": {"entries": entries, "valueTtl": value_ttl, "statusTtl": status_ttl},
        "config": shown,
        "credentialSetAt": conn.credential_set_at,
        "notes": destination_notes(conn.provider_id, shown),
        "integrity": "ok" if ctx.store.seal_ok(store_conn.TABLE, conn.id) else "tampered",
    }


def destination_notes(provider_id: str, config: dict[str, str]) -> list[str]:
    """What the connection's destination means: an AWS endpoint override is not AWS; http:// labs."""
    notes: list[str] = []
    if provider_id == "aws" and config.get("endpoint"):
        notes.append(f"endpoint override {config['endpoint']}: not AWS (aptui-only; Activepieces always talks to "
                     "AWS Secrets Manager in the region)")
    if provider_id in ("hashicorp", "cyberark-conjur") and flag(config, "allowHttp"):
        notes.append("allowHttp: plain http:// allowed for a lab (aptui-only); `aptui audit hardening` reports it")
    if config.get("caBundle"):
        notes.append(f"TLS trust: only the CA bundle {config['caBundle']} (aptui-only)")
    return notes


# -- use cases ----------------------------------------------------------------------------------------

def find(ctx: Context, id_or_name: str) -> Connection:
    return store_conn.find(ctx.store, id_or_name)


def serving(ctx: Context, project_ids: str | list[str] | None = None) -> list[Connection]:
    """Connections that serve a resolution for the project(s); None → every connection (upstream)."""
    return store_conn.serving(ctx.store, project_ids)


async def list_connections(ctx: Context, *, project_id: str | None = None, provider_id: str | None = None,
                           check: bool = False) -> list[dict[str, Any]]:
    """Views of the connections serving ``project_id`` (all when None). ``check`` tests live the
    connections without a cached successful status, concurrently, as upstream's list does."""
    conns = store_conn.serving(ctx.store, [project_id] if project_id else None)
    if provider_id:
        conns = [c for c in conns if c.provider_id == provider_id]
    stats = cache_for(ctx.store).stats([c.id for c in conns])
    live: dict[str, bool] = {}
    if check:
        todo = [c for c in conns if not cache_for(ctx.store).status(c.id)]
        outcomes = await asyncio.gather(*(test(ctx, c.id) for c in todo))
        live = {c.id: o["ok"] for c, o in zip(todo, outcomes, strict=True)}
        conns = [store_conn.get(ctx.store, c.id) or c for c in conns]
    return [view(ctx, c, entries=stats[c.id].entries, connected=live.get(c.id)) for c in conns]


def show(ctx: Context, id_or_name: str) -> dict[str, Any]:
    return view(ctx, find(ctx, id_or_name))


async def add(ctx: Context, *, provider_id: str, name: str, config: dict[str, Any], scope: str = PLATFORM,
              project_ids: list[str] | None = None, test_first: bool = True,
              value_ttl: float | None = None, status_ttl: float | None = None,
              connection_id: str | None = None) -> dict[str, Any]:
    """Create a connection, after a successful live check unless ``test_first`` is False."""
    ctx.require_writable("sm add")
    clear = validate_config(provider_id, config)
    _projects_need_project_scope(scope, project_ids)
    scope, project_ids = store_conn.normalize_scope(scope, project_ids)
    if not name:
        raise usage("the name must not be empty")
    if store_conn.by_name(ctx.store, name) is not None:
        raise usage(f"a connection named {name!r} already exists", code="DUPLICATE_NAME",
                    hint="pick another --name, or use `aptui sm update`")
    _check_ttls(value_ttl, status_ttl)
    if test_first:
        try:
            await live_check(ctx, provider_id, clear, connection_id=connection_id)
        except AptuiError as err:
            ctx.audit("sm.add", name, "refused", f"{err.code}; nothing saved")
            hint = "nothing was saved; fix the connection or pass --no-test to save it untested"
            raise AptuiError(err.code, err.message, exit_code=err.exit_code, params=err.params,
                             hint=f"{err.hint}; {hint}" if err.hint else hint) from None
    conn = store_conn.create(ctx.store, provider_id=provider_id, name=name, config=clear, scope=scope,
                             project_ids=project_ids, connection_id=connection_id, value_ttl=value_ttl,
                             status_ttl=status_ttl, tested_ok=True if test_first else None)
    if test_first:
        cache_for(ctx.store).set_status(conn.id, True, ttls(ctx, conn)[1])
    ctx.audit("sm.add", conn.id, "ok", f"provider={provider_id} name={name} scope={scope}"
              + ("" if test_first else " untested"))
    return view(ctx, conn, entries=0)


def _projects_need_project_scope(scope: str | None, project_ids: list[str] | None) -> None:
    if project_ids and (scope or PLATFORM).upper() == PLATFORM:
        raise usage("project ids are only used with scope PROJECT; a PLATFORM connection serves every project",
                    hint="add --scope PROJECT")


def _check_ttls(value_ttl: float | None, status_ttl: float | None) -> None:
    for label, v in (("value TTL", value_ttl), ("status TTL", status_ttl)):
        if v is not None and v < 0:
            raise usage(f"the {label} must not be negative")


async def update(ctx: Context, id_or_name: str, *, name: str | None = None, scope: str | None = None,
                 project_ids: list[str] | None = None, set_fields: dict[str, Any] | None = None,
                 test_first: bool = True, value_ttl: float | None = None, status_ttl: float | None = None,
                 reset_ttls: bool = False) -> dict[str, Any]:
    """Change a connection. ``set_fields`` are merged into the stored config (``""`` removes an
    optional field). A config change is tested live first. Its cache entries are dropped."""
    ctx.require_writable("sm update")
    conn = find(ctx, id_or_name)
    _check_ttls(value_ttl, status_ttl)
    new_config: dict[str, str] | None = None
    changed_fields: list[str] = []
    if set_fields:
        old = store_conn.auth(ctx.store, conn)
        merged: dict[str, Any] = dict(old)
        for k, v in set_fields.items():
            merged[k] = v
        new_config = validate_config(conn.provider_id, merged)
        changed_fields = sorted(k for k in set(old) | set(new_config) if old.get(k) != new_config.get(k))
        if not changed_fields:
            new_config = None
    _projects_need_project_scope(scope or conn.scope, project_ids)
    if scope is not None and scope.upper() == PLATFORM and project_ids is None:
        project_ids = []
    if new_config is not None and test_first:
        try:
            await live_check(ctx, conn.provider_id, new_config, connection_id=conn.id)
        except AptuiError as err:
            store_conn.record_test(ctx.store, conn.id, False, err.one_line())
            ctx.audit("sm.update", conn.id, "refused", f"{err.code}; nothing saved")
            hint = "nothing was changed; fix the values or pass --no-test"
            raise AptuiError(err.code, err.message, exit_code=err.exit_code, params=err.params,
                             hint=f"{err.hint}; {hint}" if err.hint else hint) from None
    updated, changed_secrets = store_conn.update(
        ctx.store, conn.id, name=name, scope=scope, project_ids=project_ids, config=new_config,
        value_ttl=value_ttl, status_ttl=status_ttl, clear_ttls=reset_ttls,
        tested_ok=True if (new_config is not None and test_first) else None)
    cache = cache_for(ctx.store)
    cache.invalidate(conn.id)
    if new_config is not None and test_first:
        cache.set_status(conn.id, True, ttls(ctx, updated)[1])
    detail = "changed: " + (", ".join(changed_fields) if changed_fields else "metadata")
    ctx.audit("sm.update", conn.id, "ok", detail)
    result = view(ctx, updated, entries=0)
    result["changedFields"] = changed_fields
    result["changedSecretFields"] = changed_secrets
    return result


def remove(ctx: Context, id_or_name: str) -> dict[str, Any]:
    ctx.require_writable("sm remove")
    conn = find(ctx, id_or_name)
    removed = cache_for(ctx.store).invalidate(conn.id, reset_stats=True)
    store_conn.delete(ctx.store, conn.id)
    registry = sys.modules.get("aptui.providers.registry")
    if registry is not None:
        registry.forget(conn.id)
    ctx.audit("sm.remove", conn.id, "ok", f"name={conn.name} cache entries dropped={removed}")
    return {"ok": True, "id": conn.id, "name": conn.name, "cacheEntriesDropped": removed}


async def test(ctx: Context, id_or_name: str, *, use_cache: bool = False) -> dict[str, Any]:
    """Live connection test (``use_cache`` accepts a cached success). Records the outcome."""
    conn = find(ctx, id_or_name)
    cache = cache_for(ctx.store)
    if use_cache and cache.status(conn.id):
        return {"id": conn.id, "name": conn.name, "providerId": conn.provider_id, "ok": True, "cached": True,
                "error": None, "notes": []}
    notes: list[str] = []
    if conn.provider_id == "cyberark-conjur":
        notes.append("TLS: aptui verifies Conjur's certificate; Activepieces does not (rejectUnauthorized: false)"
                     if ctx.settings.conjur_verify_tls else
                     "TLS: certificate verification is off, as in Activepieces (providers.conjur_verify_tls)")
    notes.extend(destination_notes(conn.provider_id, conn.public_config))
    err: AptuiError | None = None
    try:
        config = store_conn.auth(ctx.store, conn)
        await live_check(ctx, conn.provider_id, config, connection_id=conn.id)
    except AptuiError as exc:
        err = exc
    store_conn.record_test(ctx.store, conn.id, err is None, err.one_line() if err else None)
    cache.set_status(conn.id, err is None, ttls(ctx, conn)[1])
    ctx.audit("sm.test", conn.id, "ok" if err is None else "failed", err.code if err else None)
    return {"id": conn.id, "name": conn.name, "providerId": conn.provider_id, "ok": err is None,
            "cached": False, "error": err, "notes": notes}


__all__ = ["PLATFORM", "PROJECT", "add", "find", "list_connections", "live_check", "make_provider",
           "remove", "serving", "show", "test", "ttls", "update", "validate_config", "view"]
