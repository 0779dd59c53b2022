"""`aptui profile add|list|show|remove|use|test|set-key|update|login|logout`: platforms and credentials.

A profile holds up to two credentials: the API key (principal SERVICE) and a signed-in user's
session (principal USER, `profile login`). Neither value is ever printed, --json included.
"""

from __future__ import annotations

import sys

import click

from aptui.cli.common import app_context, confirm, json_option, read_secret, run_async, tampered_rows, yes_option
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
        table(["", "name", "url", "project", "key", "session", "tls", "server"],
              [("*" if r["active"] else "", r["name"] + (" [TAMPERED]" if r["integrity"] == "tampered" else ""),
                r["base_url"], r["default_project"] or "", r["key_source"],
                _session_cell(r), "off" if not r["verify_tls"] else ("ca-bundle" if r["ca_bundle"] else "on"),
                r["server_version"] or "") for r in rows])

    emit(as_json, {"profiles": rows}, render)
    return tampered_rows(rows, "profile")


def _session_cell(row: dict) -> str:
    if row["session"] == "valid":
        return f"expires in {row['session_expires_in']}"
    return row["session"]


@profile_group.command("show")
@click.argument("name", required=False)
@json_option
def show_cmd(name: str | None, as_json: bool) -> int:
    """One profile: URL, TLS, which credentials it holds and when the session expires (never values)."""
    from aptui.services import profiles

    ctx = app_context()
    prof = profiles.resolve_profile(ctx, name)
    row = next(r for r in profiles.list_profiles(ctx) if r["id"] == prof.id)

    def render() -> None:
        line(f"profile {row['name']}" + (" [default]" if row["is_default"] else ""))
        if row["integrity"] == "tampered":
            line("  INTEGRITY: TAMPERED: changed outside aptui; its key and session are not used")
        line(f"  url:      {row['base_url']}")
        line(f"  project:  {row['default_project'] or '-'}")
        line(f"  API key:  {row['key_source']}" + (" (SERVICE: connections, runs, pieces, cache flush)"
                                                   if row["key_source"] != "none" else ""))
        who = f" as {row['session_user']}" if row.get("session_user") and row["session"] == "valid" else ""
        line(f"  session:  {_session_cell(row)}{who}"
             + (" (USER: MCP, secret managers, API keys)" if row["session"] == "valid" else
                f" (sign in: aptui profile login {row['name']})"))
        line(f"  TLS:      {'off' if not row['verify_tls'] else ('ca-bundle' if row['ca_bundle'] else 'on')}")

    emit(as_json, {"ok": row["integrity"] == "ok", "profile": row}, render)
    return tampered_rows([row], "profile")


def _read_password(password_env: str | None) -> Secret:
    """From --password-env VAR, piped stdin (first line) or a hidden prompt; never argv."""
    return Secret(read_secret("password", env=password_env))


@profile_group.command("login")
@click.argument("name")
@click.option("--email", default=None, help="The user's e-mail (default: the last one used for this profile).")
@click.option("--password-env", default=None, metavar="VAR", help="Read the password from this variable.")
@click.option("--mfa-code-env", default=None, metavar="VAR", help="Read an MFA code, if asked, from this variable.")
@click.option("--token-stdin", is_flag=True, help="Store a session token copied from the web app (SSO platforms).")
@click.option("--no-verify", is_flag=True, help="With --token-stdin: store without trying the token first.")
@json_option
def login_cmd(name: str, email: str | None, password_env: str | None, mfa_code_env: str | None, token_stdin: bool,
              no_verify: bool, as_json: bool) -> int:
    """Sign in as a platform user (POST /v1/authentication/sign-in) and store the session encrypted.

    The password comes from a hidden prompt, stdin or --password-env, and is never stored. An MFA
    code is asked for when the platform wants one (prompt, next stdin line, or --mfa-code-env)."""
    from aptui.services import sessions
    from aptui.store import profiles as store_profiles

    ctx = app_context()
    ctx.require_writable("profile login")
    prof = store_profiles.require(ctx.store, name)
    if token_stdin:
        if password_env or email:
            raise usage("--token-stdin takes no --email or --password-env")
        token = Secret(read_secret("session token").strip())
        result = run_async(sessions.login_with_token(ctx, name, token, verify=not no_verify))
    else:
        email = email or prof.session_user
        if not email:
            if not sys.stdin.isatty():
                raise usage("no e-mail given", hint=f"pass --email: aptui profile login {name} --email you@example.com")
            email = click.prompt("e-mail")
        password = _read_password(password_env)
        result = run_async(sessions.login(ctx, name, email=email, password=password,
                                          mfa_prompt=lambda: Secret(read_secret("MFA code", env=mfa_code_env).strip())))
    result["ok"] = True
    emit(as_json, result, lambda: line(f"signed in to profile {name}" + (f" as {result['user']}" if result.get("user")
                                       else "") + f"; session expires in {result['session_expires_in']}"))
    return Exit.OK


@profile_group.command("logout")
@click.argument("name")
@json_option
def logout_cmd(name: str, as_json: bool) -> int:
    """Drop the profile's stored session (the API key, if any, stays)."""
    from aptui.services import sessions

    result = sessions.logout(app_context(), name)
    result["ok"] = True
    emit(as_json, result, lambda: line(f"session of profile {name} dropped" if result["dropped"]
                                       else f"profile {name} held no session"))
    return Exit.OK


@profile_group.command("remove")
@click.argument("name")
@yes_option
@json_option
def remove_cmd(name: str, yes: bool, as_json: bool) -> int:
    """Delete a profile and its stored credentials (API key, session)."""
    from aptui.services import profiles
    from aptui.store import profiles as store_profiles

    ctx = app_context()
    ctx.require_writable("profile remove")
    store_profiles.require(ctx.store, name)
    confirm(f"Remove profile {name} and its stored credentials?", yes=yes)
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
        line(f"  authenticated: {'yes' if result['authenticated'] else 'no'}"
             + (f" (with the {result['credential']})" if result.get("credential") else ""))
        if result["latency_ms"] is not None:
            line(f"  latency:       {result['latency_ms']:.0f} ms")
        if result["error"]:
            err = result["error"]
            line(f"  error:         {err['code']}: {err['message']}" + (f" ({err['hint']})" if err.get("hint") else ""))

    emit(as_json, result, render)
    return code
