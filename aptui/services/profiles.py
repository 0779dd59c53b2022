"""Profiles: add/list/remove/use/test, which profile a command uses, and its API key.

Profile choice: an explicit name (``--profile``), else ``APTUI_PROFILE``, else the profile marked
by ``profile use``, else config ``platform.default_profile``, else the only profile there is.
Credentials: the API key (principal SERVICE) and the user session (principal USER: ``aptui profile
login``), each optional. The client picks per route (``aptui.activepieces.routes``). A stored session
past its ``exp`` is not sent; one the server calls SESSION_EXPIRED is dropped from the store.
API key: the profile's stored key, else ``APTUI_PROFILE_<NAME>_API_KEY`` (the profile's own
variable: NAME upper-cased, ``.`` and ``-`` as ``_``), else the global ``AP_API_KEY`` — which goes
to whichever keyless profile is used, so using it prints a warning naming the host. With neither
credential, every platform command fails with "Activepieces API key not configured" (exit 2)
before any request.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from aptui import clock
from aptui.errors import AptuiError, usage
from aptui.masking import Secret
from aptui.services.context import Context
from aptui.store import profiles as store_profiles
from aptui.store.profiles import Profile

ENV_KEY = "AP_API_KEY"
ENV_PROFILE = "APTUI_PROFILE"


def profile_env_key(name: str) -> str:
    """The per-profile variable: ``APTUI_PROFILE_PROD_EU_API_KEY`` for profile ``prod-eu``."""
    return f"APTUI_PROFILE_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_API_KEY"


def key_source(profile: Profile) -> str:
    """Where ``profile``'s key would come from: stored, its own variable, AP_API_KEY, or none."""
    if profile.has_key:
        return "stored"
    own = profile_env_key(profile.name)
    if os.environ.get(own, "").strip():
        return own
    return ENV_KEY if os.environ.get(ENV_KEY, "").strip() else "none"


def _normalize_url(url: str) -> str:
    from aptui.activepieces.client import check_site_url

    return check_site_url(url)


def _check_ca_bundle(path: str | None) -> str | None:
    if not path:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise usage(f"CA bundle {path} is not a readable file", hint="give a PEM file with the CA certificate(s)")
    try:
        p.read_bytes()
    except OSError as exc:
        raise usage(f"CA bundle {path} cannot be read ({exc.strerror})") from None
    return str(p.resolve())


def add_profile(ctx: Context, name: str, url: str, *, api_key: Secret | None = None,
                default_project: str | None = None, ca_bundle: str | None = None, verify_tls: bool = True,
                make_default: bool = False) -> Profile:
    """Save a profile (no network). ``api_key`` None: AP_API_KEY will be used at run time."""
    ctx.require_writable("profile add")
    store_profiles.check_name(name)
    base = _normalize_url(url)
    bundle = _check_ca_bundle(ca_bundle)
    profile = store_profiles.create(ctx.store, name, base, api_key=api_key or None,
                                    default_project=default_project or None, ca_bundle=bundle,
                                    verify_tls=verify_tls, make_default=make_default)
    ctx.audit("profile.add", name, "ok", f"url={base}; key={'stored' if api_key else 'none (AP_API_KEY)'}"
              + ("; TLS verification OFF" if not verify_tls else ""))
    return profile


def list_profiles(ctx: Context) -> list[dict[str, Any]]:
    """Every profile with where its key comes from and whether it is the active one."""
    rows = store_profiles.list_all(ctx.store)
    try:
        active = resolve_profile(ctx).id if rows else None
    except AptuiError:
        active = None
    out = []
    for p in rows:
        data = p.to_dict()
        data["key_source"] = key_source(p)
        data.update(session_state(p))
        data["active"] = p.id == active
        data["integrity"] = "ok" if ctx.store.seal_ok(store_profiles.TABLE, p.id) else "tampered"
        out.append(data)
    return out


def session_state(profile: Profile, now=None) -> dict[str, Any]:
    """``session``: none | valid | expired, and ``session_expires_in`` ("2 d"), never the token."""
    if not profile.has_session:
        return {"session": "none", "session_expires_in": None}
    if not profile.session_expires:
        return {"session": "valid", "session_expires_in": "unknown (no exp in the token)"}
    left = (clock.parse_iso(profile.session_expires) - (now or clock.utc_now())).total_seconds()
    if left <= 0:
        return {"session": "expired", "session_expires_in": None}
    return {"session": "valid", "session_expires_in": expires_in_text(left)}


def expires_in_text(seconds: float) -> str:
    """``2 d``, ``5 h``, ``12 min`` (whole units, rounded down)."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "under a minute"


def remove_profile(ctx: Context, name: str) -> Profile:
    ctx.require_writable("profile remove")
    profile = store_profiles.delete(ctx.store, name)
    ctx.audit("profile.remove", name, "ok")
    return profile


def use_profile(ctx: Context, name: str) -> Profile:
    ctx.require_writable("profile use")
    profile = store_profiles.set_default(ctx.store, name)
    ctx.audit("profile.use", name, "ok")
    return profile


def set_profile_key(ctx: Context, name: str, api_key: Secret | None) -> Profile:
    """Store a new key (or remove it with None). Recorded for rotation tracking, never logged."""
    ctx.require_writable("profile set-key")
    profile = store_profiles.set_api_key(ctx.store, name, api_key or None)
    ctx.audit("profile.set-key", name, "ok", "key replaced" if api_key else "key removed (AP_API_KEY fallback)")
    return profile


def update_profile(ctx: Context, name: str, *, url: str | None = None, default_project: str | None = None,
                   ca_bundle: str | None = None, verify_tls: bool | None = None) -> Profile:
    ctx.require_writable("profile update")
    base = _normalize_url(url) if url else None
    bundle = _check_ca_bundle(ca_bundle) if ca_bundle else ca_bundle
    profile = store_profiles.update(ctx.store, name, base_url=base, default_project=default_project,
                                    ca_bundle=bundle, verify_tls=verify_tls)
    ctx.audit("profile.update", name, "ok")
    return profile


def resolve_profile(ctx: Context, name: str | None = None) -> Profile:
    """The profile a platform command uses (see the module docstring for the order)."""
    store = ctx.store
    if name:
        return store_profiles.require(store, name)
    env = os.environ.get(ENV_PROFILE, "").strip()
    if env:
        return store_profiles.require(store, env)
    marked = store_profiles.default(store)
    if marked:
        return marked
    configured = (ctx.settings.default_profile or "").strip()
    if configured:
        return store_profiles.require(store, configured)
    rows = store_profiles.list_all(store)
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise usage("no Activepieces profile configured", code="PROFILE_MISSING",
                    hint="add one: aptui profile add NAME --url https://ap.example.com")
    raise usage(f"{len(rows)} profiles and none is the default", code="PROFILE_MISSING",
                hint="pass --profile NAME or run `aptui profile use NAME`")


def resolve_api_key(ctx: Context, profile: Profile) -> Secret:
    """The profile's key, else AP_API_KEY; exit 2 with no request made when neither exists."""
    key = store_profiles.api_key(ctx.store, profile)
    if key:
        return key
    own = profile_env_key(profile.name)
    value = os.environ.get(own, "").strip()
    if value:
        return Secret(value)
    env = os.environ.get(ENV_KEY, "").strip()
    if env:
        from urllib.parse import urlsplit

        host = urlsplit(profile.base_url).netloc or profile.base_url
        ctx.warn(f"profile {profile.name!r} has no key: sending {ENV_KEY} from the environment to {host}",
                 once=f"{ENV_KEY}:{profile.id}",
                 hint=f"store a key with `aptui profile set-key {profile.name}`, or set {own} for this profile only")
        return Secret(env)
    raise usage("Activepieces API key not configured", code="API_KEY_MISSING",
                hint=f"store one with `aptui profile set-key {profile.name}` (stdin or prompt), or set {own}")


def optional_api_key(ctx: Context, profile: Profile) -> Secret | None:
    """The API key, or None when the profile has none (a damaged or tampered store still raises)."""
    try:
        return resolve_api_key(ctx, profile)
    except AptuiError as err:
        if err.code != "API_KEY_MISSING":
            raise
        return None


def usable_session(ctx: Context, profile: Profile) -> tuple[Secret | None, str | None]:
    """The stored session if its ``exp`` is still ahead, else (None, why there is none)."""
    if not profile.has_session:
        return None, None
    state = session_state(profile)
    if state["session"] == "expired":
        return None, f"the session stored for {profile.name} expired at {profile.session_expires}"
    return store_profiles.session_token(ctx.store, profile), None


def drop_session(ctx: Context, profile: Profile, why: str) -> None:
    """Forget the stored session (the server said it expired, or logout)."""
    if store_profiles.get(ctx.store, profile.id) is not None:
        store_profiles.set_session(ctx.store, profile.id, None)
        ctx.audit("profile.session.drop", profile.name, "ok", why)


def client_options(ctx: Context, profile: Profile):
    from aptui.activepieces.client import ClientOptions

    verify: bool | str = profile.ca_bundle or True
    if not profile.verify_tls:
        verify = False
    return ClientOptions(timeout=ctx.settings.timeout, retries=ctx.settings.retries, verify=verify,
                         proxy=ctx.settings.proxy or None)


def client_for(ctx: Context, profile: Profile, *, api_key: Secret | None = None, require: bool = True):
    """A new ``ActivepiecesClient`` for ``profile`` with the credentials it holds (``api_key``
    replaces the stored key, e.g. a key being tested). ``require``: exit 2 when it holds none."""
    from aptui.activepieces.client import ActivepiecesClient

    key = api_key or optional_api_key(ctx, profile)
    session, note = usable_session(ctx, profile)
    if require and key is None and session is None:
        raise usage("Activepieces API key not configured" + (f" ({note})" if note else ""), code="API_KEY_MISSING",
                    hint=f"store one with `aptui profile set-key {profile.name}` (stdin or prompt), set {ENV_KEY}, "
                         f"or sign in: aptui profile login {profile.name}")
    return ActivepiecesClient(profile.base_url, key, session=session, profile=profile.name, session_note=note,
                              on_session_expired=lambda: drop_session(ctx, profile, "SESSION_EXPIRED from the server"),
                              options=client_options(ctx, profile))


async def test_profile(ctx: Context, name: str | None = None) -> dict[str, Any]:
    """Reachability (``GET /v1/flags``), authentication (``GET /v1/projects?limit=1``) and latency."""
    from aptui.activepieces import flags as ap_flags
    from aptui.activepieces.client import ApiError

    profile = resolve_profile(ctx, name)
    client = client_for(ctx, profile)
    result: dict[str, Any] = {"profile": profile.name, "url": client.base_url, "reachable": False,
                              "authenticated": False, "latency_ms": None, "server_version": None,
                              "edition": None, "error": None}
    try:
        try:
            flags = await ap_flags.get_flags(client)
            result["reachable"] = True
            result["server_version"] = ap_flags.server_version(flags)
            result["edition"] = ap_flags.edition(flags)
        except ApiError as err:
            result["reachable"] = err.status is not None
            if err.status is None:
                result["error"] = err.to_dict()
                result["exit_code"] = err.exit_code
        if result["reachable"]:
            started = time.perf_counter()
            try:
                await client.get("/v1/projects", {"limit": 1})
                result["authenticated"] = True
                result["credential"] = "api-key" if client.has_api_key else "session"
            except ApiError as err:
                result["error"] = err.to_dict()
                result["exit_code"] = err.exit_code
                result["reachable"] = err.status is not None
            result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    finally:
        await client.aclose()
    if result["server_version"] and result["server_version"] != profile.server_version:
        store_profiles.set_server_version(ctx.store, profile, result["server_version"])
    ok = result["reachable"] and result["authenticated"]
    ctx.audit("profile.test", profile.name, "ok" if ok else "failed",
              None if ok else (result["error"] or {}).get("code"))
    return result
