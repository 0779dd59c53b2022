"""`aptui profile add|list|remove|use|test|set-key|update`: Activepieces platforms and their API keys."""

from __future__ import annotations

import sys

import click

from aptui.cli.common import app_context, confirm, json_option, read_secret, run_async, yes_option
from aptui.cli.output import emit, line, table
from aptui.errors import Exit, usage
from aptui.masking import Secret


def _read_key(key_env: str | None, *, prompt_label: str) -> Secret | None:
    """The API key from ``--key-env VAR``, piped stdin, or a hidden prompt; None when none is given."""
    if key_env:
        return Secret(read_secret("API key", env=key_env))
    if not sys.stdin.isatty():
        value = read_secret("API key", allow_empty=True).strip()
        return Secret(value) if value else None
    value = read_secret(prompt_label, allow_empty=True).strip()
    return Secret(value) if value else None


@click.group("profile")
def profile_group() -> None:
    """Activepieces platforms (URL, default project, TLS, encrypted API key)."""


@profile_group.command("add")
@click.argument("name")
@click.option("--url", required=True, help="Site URL, e.g. https://ap.example.com (/api is appended).")
@click.option("--project", "default_project", default=None, help="Default project id for project-scoped commands.")
@click.option("--ca-bundle", default=None, type=click.Path(dir_okay=False),
              help="PEM file of CA certificates to trust.")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (not recommended).")
@click.option("--key-env", default=None, metavar="VAR", help="Read the API key from this environment variable.")
@click.option("--no-key", is_flag=True, help="Store no key; AP_API_KEY is used at run time.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default profile.")
@json_option
def add_cmd(name: str, url: str, default_project: str | None, ca_bundle: str | None, insecure: bool,
            key_env: str | None, no_key: bool, make_default: bool, as_json: bool) -> int:
    """Save a profile. The API key comes from --key-env, stdin or a hidden prompt (never argv);
    with none, AP_API_KEY from the environment is used when commands run."""
    from aptui.services import profiles

    if no_key and key_env:
        raise usage("--no-key and --key-env exclude each other")
    ctx = app_context()
    ctx.require_writable("profile add")
    key = None if no_key else _read_key(key_env, prompt_label="Activepieces API key (empty: use AP_API_KEY)")
    profile = profiles.add_profile(ctx, name, url, api_key=key, default_project=default_project,
                                   ca_bundle=ca_bundle, verify_tls=not insecure, make_default=make_default)
    data = {"ok": True, "profile": profile.to_dict()}

    def render() -> None:
        where = ("key stored encrypted" if profile.has_key else
                 f"no key stored: {profiles.profile_env_key(profile.name)} or else AP_API_KEY will be used")
        line(f"profile {profile.name} → {profile.base_url} ({where})"
             + (" [default]" if profile.is_default else ""))
        if insecure:
            line("warning: TLS certificate verification is OFF for this profile")

    emit(as_json, data, render)
    return Exit.OK


@profile_group.command("list")
@json_option
def list_cmd(as_json: bool) -> int:
    """List profiles (never their keys)."""
    from aptui.services import profiles

    rows = profiles.list_profiles(app_context())

    def render() -> None:
        if not rows:
            line("no profiles; add one with: aptui profile add NAME --url https://ap.example.com")
            return
        table(["", "name", "url", "project", "key", "tls", "server"],
              [("*" if r["active"] else "", r["name"], r["base_url"], r["default_project"] or "", r["key_source"],
                "off" if not r["verify_tls"] else ("ca-bundle" if r["ca_bundle"] else "on"),
                r["server_version"] or "") for r in rows])

    emit(as_json, {"profiles": rows}, render)
    return Exit.OK


@profile_group.command("remove")
@click.argument("name")
@yes_option
@json_option
def remove_cmd(name: str, yes: bool, as_json: bool) -> int:
    """Delete a profile and its stored key."""
    from aptui.services import profiles
    from aptui.store import profiles as store_profiles

    ctx = app_context()
    ctx.require_writable("profile remove")
    store_profiles.require(ctx.store, name)
    confirm(f"Remove profile {name} and its stored API key?", yes=yes)
    profiles.remove_profile(ctx, name)
    emit(as_json, {"ok": True, "removed": name}, lambda: line(f"removed profile {name}"))
    return Exit.OK


@profile_group.command("use")
@click.argument("name")
@json_option
def use_cmd(name: str, as_json: bool) -> int:
    """Make NAME the default profile."""
    from aptui.services import profiles

    profile = profiles.use_profile(app_context(), name)
    emit(as_json, {"ok": True, "default": profile.name}, lambda: line(f"default profile: {profile.name}"))
    return Exit.OK


@profile_group.command("set-key")
@click.argument("name")
@click.option("--key-env", default=None, metavar="VAR", help="Read the API key from this environment variable.")
@click.option("--remove", "remove_key", is_flag=True, help="Remove the stored key (AP_API_KEY is used instead).")
@json_option
def set_key_cmd(name: str, key_env: str | None, remove_key: bool, as_json: bool) -> int:
    """Replace a profile's API key (from --key-env, stdin or a hidden prompt)."""
    from aptui.services import profiles
    from aptui.store import profiles as store_profiles

    ctx = app_context()
    ctx.require_writable("profile set-key")
    store_profiles.require(ctx.store, name)
    key = None
    if not remove_key:
        key = _read_key(key_env, prompt_label="new Activepieces API key")
        if key is None:
            raise usage("no API key given", hint="pipe it on stdin, use --key-env VAR, or --remove")
    profile = profiles.set_profile_key(ctx, name, key)
    emit(as_json, {"ok": True, "profile": profile.to_dict()},
         lambda: line(f"{'stored a new key' if key else 'removed the key'} for profile {name}"))
    return Exit.OK


@profile_group.command("update")
@click.argument("name")
@click.option("--url", default=None)
@click.option("--project", "default_project", default=None, help="Default project id ('' clears it).")
@click.option("--ca-bundle", default=None, help="PEM file of CA certificates ('' clears it).")
@click.option("--verify-tls/--insecure", default=None, help="Verify TLS certificates (default) or not.")
@json_option
def update_cmd(name: str, url: str | None, default_project: str | None, ca_bundle: str | None,
               verify_tls: bool | None, as_json: bool) -> int:
    """Change a profile's URL, default project or TLS options."""
    from aptui.services import profiles

    profile = profiles.update_profile(app_context(), name, url=url, default_project=default_project,
                                      ca_bundle=ca_bundle, verify_tls=verify_tls)
    emit(as_json, {"ok": True, "profile": profile.to_dict()}, lambda: line(f"updated profile {name}"))
    return Exit.OK


@profile_group.command("test")
@click.argument("name", required=False)
@json_option
def test_cmd(name: str | None, as_json: bool) -> int:
    """Check reachability, authentication and latency with one cheap authenticated call."""
    from aptui.services import profiles

    ctx = app_context()
    result = run_async(profiles.test_profile(ctx, name))
    ok = result["reachable"] and result["authenticated"]
    code = Exit.OK if ok else int(result.pop("exit_code", Exit.FAILED))
    result.pop("exit_code", None)
    result["ok"] = ok

    def render() -> None:
        line(f"profile {result['profile']} at {result['url']}")
        line(f"  reachable:     {'yes' if result['reachable'] else 'no'}"
             + (f" (Activepieces {result['server_version']}, {result['edition'] or '?'})"
                if result["server_version"] else ""))
        line(f"  authenticated: {'yes' if result['authenticated'] else 'no'}")
        if result["latency_ms"] is not None:
            line(f"  latency:       {result['latency_ms']:.0f} ms")
        if result["error"]:
            err = result["error"]
            line(f"  error:         {err['code']}: {err['message']}" + (f" ({err['hint']})" if err.get("hint") else ""))

    emit(as_json, result, render)
    return code
