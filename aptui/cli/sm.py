"""`aptui sm add|list|show|update|remove|test`: secret-manager connections and their scopes.

Secret fields never come from argv: ``--set-env key=VAR``, a JSON object (or one line) on stdin,
or a hidden prompt per field on a terminal. ``--set key=value`` is for non-secret fields only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from aptui.cli.common import app_context, confirm, json_option, run_async, tampered_rows, yes_option
from aptui.cli.output import emit, line, table
from aptui.clock import human_age, parse_iso, utc_now
from aptui.errors import AptuiError, Exit, usage
from aptui.providers.fields import PROVIDER_IDS, PROVIDERS, ProviderSpec

SCOPE_NOTE = ("without --project every connection is listed; like Activepieces, resolving a reference without a "
              "project accepts any connection, PROJECT-scoped ones included")


def _duration(value: str | None, label: str) -> float | None:
    if value is None:
        return None
    from aptui.config import parse_duration

    seconds = parse_duration(value)
    if seconds < 0:
        raise usage(f"{label} must not be negative")
    return seconds


def _pairs(items: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise usage(f"{option} expects KEY=VALUE, got an argument without '='" if not sep
                        else f"{option} expects KEY=VALUE with a non-empty KEY")
        out.append((key.strip(), value))
    return out


def _field_or_fail(spec: ProviderSpec, key: str, option: str):
    f = spec.field(key)
    if f is None:
        from aptui.masking import name_or_mask

        names = [x.name for x in spec.fields]
        raise usage(f"{option}: unknown field {name_or_mask(key, names)!r} for provider {spec.provider_id}",
                    hint="fields: " + ", ".join(names))
    return f


def collect_fields(spec: ProviderSpec, sets: tuple[str, ...], set_envs: tuple[str, ...]) -> dict[str, str]:
    """Fields from ``--set`` (non-secret only) and ``--set-env`` (any field)."""
    config: dict[str, str] = {}
    for key, value in _pairs(sets, "--set"):
        f = _field_or_fail(spec, key, "--set")
        if f.secret:
            raise usage(f"{key} is a secret field and cannot be given on the command line",
                        hint=f"use --set-env {key}=ENV_VAR, pipe it on stdin, or answer the hidden prompt")
        config[key] = value
    for key, var in _pairs(set_envs, "--set-env"):
        _field_or_fail(spec, key, "--set-env")
        value = os.environ.get(var)
        if value is None:
            from aptui.cli.common import env_missing

            raise env_missing(var, key)
        config[key] = value
    return config


def read_secret_fields(spec: ProviderSpec, missing: list[str]) -> dict[str, str]:
    """Secret fields from stdin (JSON object, or one line for a single field) or hidden prompts."""
    if not missing:
        return {}
    if not sys.stdin.isatty():
        text = sys.stdin.read()
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except ValueError:
                raise usage("stdin is not a valid JSON object of secret fields") from None
            if not isinstance(data, dict):
                raise usage("stdin must hold a JSON object of secret fields")
            out: dict[str, str] = {}
            for key, value in data.items():
                f = _field_or_fail(spec, str(key), "stdin")
                if not isinstance(value, str):
                    raise usage(f"stdin: field {f.name} must be a string")
                out[f.name] = value
            return out
        if len(missing) == 1 and stripped:
            first = text.splitlines()[0] if text.splitlines() else ""
            return {missing[0]: first.rstrip("\r")}
        if stripped:
            raise usage(f"stdin holds one line but {len(missing)} secret fields are missing "
                        f"({', '.join(missing)})", hint='pipe a JSON object such as {"field": "value", ...}')
        return {}
    import getpass

    out = {}
    for name in missing:
        f = spec.field(name)
        label = f.display_name if f else name
        value = getpass.getpass(f"{label} ({name}, hidden): ")
        if value:
            out[name] = value
    return out


def _age(iso_text: str | None) -> str:
    if not iso_text:
        return "never"
    try:
        return human_age((utc_now() - parse_iso(iso_text)).total_seconds()) + " ago"
    except ValueError:
        return iso_text


def _yes_no(value: Any) -> str:
    return "?" if value is None else ("yes" if value else "no")


def render_view(v: dict[str, Any]) -> None:
    rows = [
        ("id", v["id"]), ("name", v["name"]), ("provider", v["providerId"]),
        ("scope", v["scope"] + (f" ({', '.join(v['projectIds'])})" if v["projectIds"] else "")),
        ("configured", _yes_no(v["connection"]["configured"])), ("connected", _yes_no(v["connection"]["connected"])),
        ("last test", (_age(v["lastTest"]["at"]) + ("" if v["lastTest"]["ok"] is None else
                                                     (": ok" if v["lastTest"]["ok"] else
                                                      f": failed ({v['lastTest']['error']})")))),
        ("cache", f"{v['cache']['entries']} entries, values {v['cache']['valueTtl']:g}s, "
                  f"status {v['cache']['statusTtl']:g}s (server: 3600s)"),
        ("credentials set", _age(v.get("credentialSetAt"))),
        ("created", v["created"]), ("updated", v["updated"]),
    ]
    if v.get("integrity") == "tampered":
        rows.insert(0, ("INTEGRITY", "TAMPERED: changed outside aptui; its credentials are not used"))
    rows += [(f"config.{k}", val) for k, val in v["config"].items()]
    rows += [("note", n) for n in v.get("notes", [])]
    for k, val in rows:
        line(f"{k:16} {val}")


@click.group("sm")
def sm_group() -> None:
    """Secret-manager connections (aws, hashicorp, cyberark-conjur, onepassword) and their scopes."""


@sm_group.command("add")
@click.option("--provider", "provider_id", required=True, type=click.Choice(PROVIDER_IDS))
@click.option("--name", required=True, help="Unique name.")
@click.option("--scope", type=click.Choice(["PLATFORM", "PROJECT"], case_sensitive=False), default="PLATFORM",
              show_default=True)
@click.option("--project", "projects", multiple=True, help="Project id served (PROJECT scope; repeatable).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A non-secret field (repeatable).")
@click.option("--set-env", "set_envs", multiple=True, metavar="KEY=ENV_VAR",
              help="A field read from an environment variable (repeatable).")
@click.option("--no-test", is_flag=True, help="Save without the live connection test.")
@click.option("--value-ttl", default=None, help="Cache values this long (e.g. 5m; 0 = no caching).")
@click.option("--status-ttl", default=None, help="Cache a successful status this long (e.g. 30s).")
@json_option
def add_cmd(provider_id: str, name: str, scope: str, projects: tuple[str, ...], sets: tuple[str, ...],
            set_envs: tuple[str, ...], no_test: bool, value_ttl: str | None, status_ttl: str | None,
            as_json: bool) -> int:
    """Add a connection; it is tested live first and not saved if the test fails."""
    from aptui.services import connections as svc

    spec = PROVIDERS[provider_id]
    config = collect_fields(spec, sets, set_envs)
    missing = [f.name for f in spec.secret_fields if not config.get(f.name) and not f.optional]
    config.update({k: v for k, v in read_secret_fields(spec, missing).items() if k not in config or not config[k]})
    ctx = app_context()
    result = run_async(svc.add(ctx, provider_id=provider_id, name=name, config=config, scope=scope.upper(),
                               project_ids=list(projects), test_first=not no_test,
                               value_ttl=_duration(value_ttl, "--value-ttl"),
                               status_ttl=_duration(status_ttl, "--status-ttl")))
    emit(as_json, {"ok": True, "connection": result},
         lambda: line(f"added {result['name']} ({result['id']}), {result['providerId']}, {result['scope']}"
                      + ("" if no_test else "; connection test passed")
                      + f"\nreference form: {{{{{result['id']}|ap_sep_v1|<path>}}}}"))
    return Exit.OK


@sm_group.command("list")
@click.option("--project", "project_id", default=None, help="Only connections serving this project.")
@click.option("--provider", "provider_id", type=click.Choice(PROVIDER_IDS), default=None)
@click.option("--check", is_flag=True, help="Test live the connections without a cached status (as upstream).")
@json_option
def list_cmd(project_id: str | None, provider_id: str | None, check: bool, as_json: bool) -> int:
    """List connections (never their credentials)."""
    from aptui.services import connections as svc

    ctx = app_context()
    views = run_async(svc.list_connections(ctx, project_id=project_id, provider_id=provider_id, check=check))
    note = None if project_id else SCOPE_NOTE

    def render() -> None:
        table(["name", "id", "provider", "scope", "connected", "cached"],
              [(v["name"] + (" [TAMPERED]" if v.get("integrity") == "tampered" else ""), v["id"], v["providerId"],
                v["scope"] + (f" {','.join(v['projectIds'])}" if v["projectIds"] else ""),
                _yes_no(v["connection"]["connected"]) if v["connection"]["configured"] else "not configured",
                v["cache"]["entries"]) for v in views])
        if project_id:
            line(f"connections serving project {project_id}: PLATFORM ones plus PROJECT ones listing it")
        elif note:
            line(f"note: {note}")

    emit(as_json, {"data": views, "projectId": project_id, "note": note}, render)
    return tampered_rows(views, "connection")


@sm_group.command("show")
@click.argument("connection")
@json_option
def show_cmd(connection: str, as_json: bool) -> int:
    """Show one connection (by id or name), without credentials."""
    from aptui.services import connections as svc

    v = svc.show(app_context(), connection)
    emit(as_json, v, lambda: render_view(v))
    return tampered_rows([v], "connection")


@sm_group.command("update")
@click.argument("connection")
@click.option("--name", default=None, help="New name.")
@click.option("--scope", type=click.Choice(["PLATFORM", "PROJECT"], case_sensitive=False), default=None)
@click.option("--project", "projects", multiple=True, help="Replace the project ids (repeatable).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A non-secret field ('' clears an optional one).")
@click.option("--set-env", "set_envs", multiple=True, metavar="KEY=ENV_VAR")
@click.option("--secret", "secret_fields", multiple=True, metavar="FIELD",
              help="Read a new value for this secret field from stdin or a hidden prompt (repeatable).")
@click.option("--no-test", is_flag=True, help="Save a changed config without the live test.")
@click.option("--value-ttl", default=None)
@click.option("--status-ttl", default=None)
@click.option("--default-ttls", is_flag=True, help="Use the settings' TTLs again.")
@json_option
def update_cmd(connection: str, name: str | None, scope: str | None, projects: tuple[str, ...],
               sets: tuple[str, ...], set_envs: tuple[str, ...], secret_fields: tuple[str, ...], no_test: bool,
               value_ttl: str | None, status_ttl: str | None, default_ttls: bool, as_json: bool) -> int:
    """Change a connection; a changed config is tested live first. Its cache entries are dropped."""
    from aptui.services import connections as svc

    ctx = app_context()
    conn = svc.find(ctx, connection)
    spec = PROVIDERS[conn.provider_id]
    fields = collect_fields(spec, sets, set_envs)
    for name_ in secret_fields:
        f = _field_or_fail(spec, name_, "--secret")
        if not f.secret:
            raise usage(f"--secret {name_}: not a secret field; use --set {name_}=VALUE")
    wanted = [f for f in secret_fields if f not in fields]
    got = read_secret_fields(spec, wanted)
    for f in wanted:
        if not got.get(f):
            raise usage(f"no value given for secret field {f}")
    fields.update(got)
    if not any((name, scope, projects, fields, value_ttl, status_ttl, default_ttls)):
        raise usage("nothing to change", hint="see `aptui sm update --help`")
    result = run_async(svc.update(ctx, conn.id, name=name, scope=scope.upper() if scope else None,
                                  project_ids=list(projects) if projects else None, set_fields=fields or None,
                                  test_first=not no_test, value_ttl=_duration(value_ttl, "--value-ttl"),
                                  status_ttl=_duration(status_ttl, "--status-ttl"), reset_ttls=default_ttls))
    changed = result["changedFields"]
    emit(as_json, {"ok": True, "connection": result},
         lambda: line(f"updated {result['name']} ({result['id']})"
                      + (f"; changed fields: {', '.join(changed)}" if changed else "")
                      + "; its cache entries were dropped"))
    return Exit.OK


@sm_group.command("remove")
@click.argument("connection")
@yes_option
@json_option
def remove_cmd(connection: str, yes: bool, as_json: bool) -> int:
    """Remove a connection and its cache entries."""
    from aptui.services import connections as svc

    ctx = app_context()
    conn = svc.find(ctx, connection)
    ctx.require_writable("sm remove")
    confirm(f"Remove secret-manager connection {conn.name} ({conn.id})?", yes=yes)
    result = svc.remove(ctx, conn.id)
    emit(as_json, result, lambda: line(f"removed {result['name']} ({result['id']}); "
                                       f"{result['cacheEntriesDropped']} cache entries dropped"))
    return Exit.OK


@sm_group.command("test")
@click.argument("connection")
@click.option("--cached", "use_cache", is_flag=True, help="Accept a cached successful status.")
@json_option
def test_cmd(connection: str, use_cache: bool, as_json: bool) -> int:
    """Test a connection live (exit 1 if it fails, 4 if unreachable)."""
    from aptui.services import connections as svc

    outcome = run_async(svc.test(app_context(), connection, use_cache=use_cache))
    err: AptuiError | None = outcome["error"]
    data = {**outcome, "error": err.to_dict() if err else None}

    def render() -> None:
        if err is None:
            line(f"{outcome['name']} ({outcome['id']}): connected" + (" (cached status)" if outcome["cached"] else ""))
        else:
            line(f"{outcome['name']} ({outcome['id']}): FAILED {err.one_line()}")
        for note in outcome["notes"]:
            line(f"note: {note}")

    emit(as_json, data, render)
    if err is None:
        return Exit.OK
    return Exit.UNREACHABLE if err.exit_code == Exit.UNREACHABLE else Exit.FAILED
