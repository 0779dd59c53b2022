"""`aptui platform secret-managers` (the platform's connections: a user session; cache clear: either)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from aptui.cli.common import app_context, confirm, json_option, read_secret, yes_option
from aptui.cli.output import emit, line, table
from aptui.cli.platform.common import _run, profile_option
from aptui.cli.platform.group import platform_group
from aptui.errors import Exit, usage
from aptui.masking import Secret

# secret managers ---------------------------------------------------------------------------------------


@platform_group.group("secret-managers")
def sm_group() -> None:
    """The platform's secret-manager connections (Enterprise; a signed-in user: aptui profile login) and its
    secret cache (the API key or the session)."""


SM_COLUMNS = ("id", "name", "provider", "scope", "projects", "configured", "connected")


def _sm_row(s: dict[str, Any]) -> tuple[Any, ...]:
    conn = s.get("connection") or {}
    return (s.get("id"), s.get("name"), s.get("providerId"), s.get("scope"), ",".join(s.get("projectIds") or []),
            "yes" if conn.get("configured") else "no", "yes" if conn.get("connected") else "no")


@sm_group.command("list")
@profile_option
@click.option("--project", default=None, metavar="ID", help="Only connections serving this project.")
@json_option
def sm_list_cmd(profile: str | None, project: str | None, as_json: bool) -> int:
    """List the platform's secret-manager connections (never their credentials)."""
    from aptui.services import platform

    rows = _run(lambda ctx: platform.list_remote_secret_managers(ctx, profile, project=project))
    emit(as_json, {"connections": rows, "count": len(rows)},
         lambda: table(SM_COLUMNS, [_sm_row(s) for s in rows]) if rows else line("(no secret-manager connections)"))
    return Exit.OK


def _collect_config(provider_id: str, sets: Sequence[str], set_envs: Sequence[str]) -> dict[str, Any]:
    """Non-secret fields from --set, secret ones from --set-env or stdin/prompt (never argv)."""
    from aptui.masking import name_or_mask
    from aptui.providers.fields import PROVIDERS

    spec = PROVIDERS.get(provider_id)
    if spec is None:
        raise usage(f"unknown provider {provider_id!r}", hint="one of: " + ", ".join(PROVIDERS))
    config: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise usage(f"--set expects FIELD=VALUE, got {name_or_mask(item)!r}")
        field = spec.field(key)
        if field is None:
            names = [f.name for f in spec.fields]
            raise usage(f"unknown field {name_or_mask(key, names)!r} for {provider_id}", hint="fields: "
                        + ", ".join(names))
        if field.secret:
            raise usage(f"{key} is a secret field: it must not be given on the command line",
                        hint=f"use --set-env {key}=VAR, or stdin")
        config[key] = value
    for item in set_envs:
        key, sep, var = item.partition("=")
        if not sep or spec.field(key) is None:
            raise usage(f"--set-env expects FIELD=ENV_VAR with a field of {provider_id}, got "
                        f"{name_or_mask(item, [f'{f.name}=' for f in spec.fields])!r}")
        config[key] = Secret(read_secret(key, env=var))
    for field in spec.fields:
        if field.secret and field.name not in config and not field.optional:
            config[field.name] = Secret(read_secret(f"{spec.display_name} {field.display_name}"))
    return config


def _sm_options(func: Callable) -> Callable:
    for opt in reversed([
        click.option("--provider", "provider_id", default=None,
                     type=click.Choice(["aws", "hashicorp", "cyberark-conjur", "onepassword"])),
        click.option("--name", default=None),
        click.option("--scope", type=click.Choice(["PLATFORM", "PROJECT"], case_sensitive=False), default="PLATFORM",
                     show_default=True),
        click.option("--project", "projects", multiple=True, metavar="ID", help="For PROJECT scope (repeatable)."),
        click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A non-secret config field."),
        click.option("--set-env", "set_envs", multiple=True, metavar="FIELD=VAR",
                     help="A config field read from an environment variable."),
        click.option("--from-local", "from_local", default=None, metavar="NAME",
                     help="Take provider, scope, projects and config from a local connection."),
    ]):
        func = opt(func)
    return func


def _sm_request(provider_id: str | None, name: str | None, scope: str, projects: Sequence[str],
                sets: Sequence[str], set_envs: Sequence[str], from_local: str | None) -> dict[str, Any]:
    if from_local:
        if provider_id or sets or set_envs:
            raise usage("--from-local takes everything from the local connection; drop --provider/--set/--set-env")
        from aptui.store import connections as store_connections

        ctx = app_context()
        local = store_connections.find(ctx.store, from_local)
        return {"provider_id": local.provider_id, "name": name or local.name, "scope": local.scope,
                "project_ids": list(local.project_ids), "config": store_connections.auth(ctx.store, local)}
    if not provider_id or not name:
        raise usage("--provider and --name are required (or --from-local NAME)")
    return {"provider_id": provider_id, "name": name, "scope": scope.upper(), "project_ids": list(projects),
            "config": _collect_config(provider_id, sets, set_envs)}


@sm_group.command("create")
@profile_option
@_sm_options
@json_option
def sm_create_cmd(profile: str | None, provider_id: str | None, name: str | None, scope: str,
                  projects: tuple[str, ...], sets: tuple[str, ...], set_envs: tuple[str, ...],
                  from_local: str | None, as_json: bool) -> int:
    """Create a secret-manager connection on the platform (tested live by the platform first)."""
    from aptui.services import platform

    app_context().require_writable("secret-manager create")
    req = _sm_request(provider_id, name, scope, projects, sets, set_envs, from_local)
    item = _run(lambda ctx: platform.create_remote_secret_manager(ctx, profile, **req))
    emit(as_json, {"ok": True, "connection": item},
         lambda: line(f"created {item.get('name')} ({item.get('id')}) on the platform"))
    return Exit.OK


@sm_group.command("update")
@click.argument("connection_id")
@profile_option
@_sm_options
@json_option
def sm_update_cmd(connection_id: str, profile: str | None, provider_id: str | None, name: str | None, scope: str,
                  projects: tuple[str, ...], sets: tuple[str, ...], set_envs: tuple[str, ...],
                  from_local: str | None, as_json: bool) -> int:
    """Replace a platform secret-manager connection's settings and credentials."""
    from aptui.services import platform

    app_context().require_writable("secret-manager update")
    req = _sm_request(provider_id, name, scope, projects, sets, set_envs, from_local)
    item = _run(lambda ctx: platform.update_remote_secret_manager(ctx, profile, connection_id=connection_id, **req))
    emit(as_json, {"ok": True, "connection": item},
         lambda: line(f"updated {item.get('name')} ({connection_id}) on the platform"))
    return Exit.OK


@sm_group.command("delete")
@click.argument("connection_id")
@profile_option
@yes_option
@json_option
def sm_delete_cmd(connection_id: str, profile: str | None, yes: bool, as_json: bool) -> int:
    """Delete a platform secret-manager connection (references to it stop resolving)."""
    from aptui.services import platform

    app_context().require_writable("secret-manager delete")
    confirm(f"Delete secret-manager connection {connection_id} on the platform? References to it stop resolving.",
            yes=yes)
    _run(lambda ctx: platform.delete_remote_secret_manager(ctx, profile, connection_id=connection_id))
    emit(as_json, {"ok": True, "deleted": connection_id}, lambda: line(f"deleted {connection_id} on the platform"))
    return Exit.OK


@sm_group.command("clear-cache")
@profile_option
@click.option("--connection", "connection_id", default=None, metavar="ID", help="Only this connection's entries.")
@yes_option
@json_option
def sm_clear_cache_cmd(profile: str | None, connection_id: str | None, yes: bool, as_json: bool) -> int:
    """Clear the platform's secret cache (all, or one connection): the next runs fetch fresh values."""
    from aptui.services import platform

    app_context().require_writable("remote cache clear")
    confirm(f"Clear the platform's secret cache for {connection_id or 'every connection'}?", yes=yes)
    data = _run(lambda ctx: platform.clear_remote_cache(ctx, profile, connection_id))
    emit(as_json, data, lambda: line(f"cleared the platform's secret cache ({connection_id or 'all connections'})"))
    return Exit.OK


# flow runs -----------------------------------------------------------------------------------------------
