"""`aptui cache status|clear`: aptui's per-connection secret cache (and the server's TTLs)."""

from __future__ import annotations

import click

from aptui.cli.common import app_context, confirm, json_option, run_async, yes_option
from aptui.cli.output import emit, line, table
from aptui.clock import human_age
from aptui.errors import Exit


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else human_age(seconds)


def _dur(seconds: float) -> str:
    """``1h``, ``5m``, ``30s``, ``90s``: exact, short."""
    s = float(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)}{unit}"
    return f"{s:g}s"


@click.group("cache")
def cache_group() -> None:
    """aptui's local secret cache, per secret-manager connection."""


@cache_group.command("status")
@click.option("--connection", default=None, help="One connection (id or name).")
@json_option
def status_cmd(connection: str | None, as_json: bool) -> int:
    """Entries, hits, misses, ages and TTLs per connection, next to the server's TTLs."""
    from aptui.services import cache as svc

    data = svc.status(app_context(), connection)

    def render() -> None:
        table(["connection", "entries", "hits", "misses", "oldest", "newest", "ttl", "server ttl", "status"],
              [(r["name"], r["entries"], r["hits"], r["misses"], _age(r["oldestAge"]), _age(r["newestAge"]),
                f"{_dur(r['valueTtl'])}/{_dur(r['statusTtl'])}",
                f"{_dur(r['server']['valueTtl'])}/{_dur(r['server']['statusTtl'])}",
                (f"ok {_age(r['status']['age'])}" if r["status"]["cached"] else "-")) for r in data["connections"]])
        line(f"ttl = values/status. aptui defaults: {_dur(data['defaults']['valueTtl'])}/"
             f"{_dur(data['defaults']['statusTtl'])}. The Activepieces server keeps both for 1h "
             "(status only after a successful check); `aptui cache clear --server` clears it.")

    emit(as_json, data, render)
    return Exit.OK


@cache_group.command("clear")
@click.option("--connection", default=None, help="Only this connection (id or name).")
@click.option("--server", is_flag=True,
              help="Also clear the Activepieces server's cache (DELETE /v1/secret-managers/cache).")
@click.option("--profile", default=None, metavar="NAME", help="Platform profile for --server.")
@yes_option
@json_option
def clear_cmd(connection: str | None, server: bool, profile: str | None, yes: bool, as_json: bool) -> int:
    """Drop aptui's locally cached values and status (one connection, or all); --server also clears
    the platform's cache, which otherwise keeps values for up to 1 h."""
    from aptui.services import cache as svc

    ctx = app_context()
    if server:
        ctx.require_writable("remote cache clear")
        target = connection or "every connection"
        confirm(f"Clear aptui's cache and the Activepieces server's secret cache for {target}?", yes=yes)
    data = svc.clear(ctx, connection)
    if server:
        from aptui.services import platform

        data["server"] = run_async(platform.clear_remote_cache(ctx, profile, data["connection"]))
    emit(as_json, data, lambda: line(
        f"cleared {data['cleared']} cached values"
        + (f" of {data['name']} ({data['connection']})" if data["connection"] else " of every connection")
        + ("; the Activepieces server's cache was cleared too" if server else
           " (local cache only; the server keeps its own for up to 1 h: add --server, "
           "or `aptui platform secret-managers clear-cache`)")))
    return Exit.OK
