"""Cache status and clearing, per secret-manager connection.

aptui's own TTLs (defaults: values 5 min, status 30 s; per connection overrides) are shown next
to the Activepieces server's (1 h for both; status cached only after a successful check).
"""

from __future__ import annotations

from typing import Any

from aptui.services.connections import find, ttls
from aptui.services.context import Context
from aptui.store import connections as store_conn
from aptui.store.cache import SERVER_STATUS_TTL, SERVER_VALUE_TTL, cache_for

SERVER = {"valueTtl": SERVER_VALUE_TTL, "statusTtl": SERVER_STATUS_TTL, "statusCachedOnlyOnSuccess": True,
          "source": "Activepieces secret-manager-cache.ts (1 hour)"}


def status(ctx: Context, connection: str | None = None) -> dict[str, Any]:
    """Per-connection cache figures (all connections, or one by id or name)."""
    conns = [find(ctx, connection)] if connection else store_conn.list_all(ctx.store)
    stats = cache_for(ctx.store).stats([c.id for c in conns])
    rows = []
    for c in conns:
        s = stats[c.id]
        value_ttl, status_ttl = ttls(ctx, c)
        rows.append({
            "id": c.id, "name": c.name, "providerId": c.provider_id,
            "entries": s.entries, "expired": s.expired, "hits": s.hits, "misses": s.misses,
            "oldestAge": s.oldest_age, "newestAge": s.newest_age,
            "valueTtl": value_ttl, "statusTtl": status_ttl,
            "ttlSource": "connection" if (c.value_ttl is not None or c.status_ttl is not None) else "settings",
            "status": {"cached": bool(s.status_ok), "age": s.status_age, "expiresIn": s.status_expires_in},
            "server": {"valueTtl": SERVER_VALUE_TTL, "statusTtl": SERVER_STATUS_TTL},
        })
    return {"connections": rows, "server": SERVER,
            "defaults": {"valueTtl": ctx.settings.value_ttl, "statusTtl": ctx.settings.status_ttl}}


def clear(ctx: Context, connection: str | None = None) -> dict[str, Any]:
    """Drop aptui's local cached values, status and counters (one connection, or all)."""
    cache = cache_for(ctx.store)
    if connection:
        conn = find(ctx, connection)
        n = cache.invalidate(conn.id, reset_stats=True)
        ctx.audit("cache.clear", conn.id, "ok", f"{n} entries")
        return {"ok": True, "connection": conn.id, "name": conn.name, "cleared": n, "scope": "local"}
    n = cache.invalidate(None, reset_stats=True)
    ctx.audit("cache.clear", "*", "ok", f"{n} entries")
    return {"ok": True, "connection": None, "name": None, "cleared": n, "scope": "local"}
