"""User sessions of a profile: sign in (password, MFA code) or take a pasted token; log out.

The password is used for one request and never stored; the token is stored encrypted on the
profile row (like the API key) with its expiry from the JWT's ``exp``. Neither reaches the audit
trail, a log or an exception message: the audit says who signed in and until when, nothing more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aptui import clock
from aptui.activepieces import auth as ap_auth
from aptui.activepieces.client import ActivepiecesClient, ApiError
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret
from aptui.services import profiles as profile_service
from aptui.services.context import Context
from aptui.store import profiles as store_profiles

MfaPrompt = Callable[[], Secret | Awaitable[Secret]]
PASSWORD_MIN, PASSWORD_MAX = 8, 64  # SignInRequest's PasswordType


def _anonymous(ctx: Context, profile: store_profiles.Profile) -> ActivepiecesClient:
    """A client with no credential at all (sign-in is public: nothing else is sent to it)."""
    return ActivepiecesClient(profile.base_url, None, profile=profile.name,
                              options=profile_service.client_options(ctx, profile))


def _sign_in_error(err: ApiError, name: str) -> AptuiError:
    if err.status == 401 or err.code in ("INVALID_CREDENTIALS", "AUTHENTICATION"):
        return AptuiError("INVALID_CREDENTIALS", "the platform refused the e-mail or password", exit_code=Exit.USAGE,
                          hint="check them and try again; nothing was stored")
    if err.code in ("EMAIL_AUTH_DISABLED", "DOMAIN_NOT_ALLOWED") or err.status == 403:
        return AptuiError(err.code, f"the platform refused password sign-in ({err.message})", exit_code=Exit.USAGE,
                          hint=f"if it signs in through SSO, copy the session token from the web app and run "
                               f"`aptui profile login {name} --token-stdin`")
    return err


async def _answer(prompt: MfaPrompt) -> Secret:
    value = prompt()
    if isinstance(value, Awaitable):
        value = await value
    return value


def _store(ctx: Context, profile: store_profiles.Profile, signed: ap_auth.SignedIn, how: str) -> dict[str, Any]:
    if signed.expires and clock.parse_iso(signed.expires) <= clock.utc_now():
        raise usage(f"the session token expired at {signed.expires}", code="SESSION_EXPIRED",
                    hint="sign in again, or copy a fresh token from the web app")
    prof = store_profiles.set_session(ctx.store, profile.id, signed.token, expires=signed.expires,
                                      user=signed.email)
    ctx.audit("profile.login", profile.name, "ok", f"{how}; user={signed.email or '?'}; "
              f"expires={signed.expires or 'unknown'}")
    return {"profile": prof.name, "user": signed.email, "platformRole": signed.platform_role,
            "expires": signed.expires, **profile_service.session_state(prof)}


async def login(ctx: Context, name: str, *, email: str, password: Secret,
                mfa_prompt: MfaPrompt | None = None) -> dict[str, Any]:
    """Sign in with ``POST /v1/authentication/sign-in`` and store the session (never the password)."""
    ctx.require_writable("profile login")
    profile = store_profiles.require(ctx.store, name)
    email = (email or "").strip()
    if "@" not in email:
        raise usage(f"not an e-mail address: {email!r}", hint="pass --email you@example.com")
    if not isinstance(password, Secret) or not (PASSWORD_MIN <= len(password) <= PASSWORD_MAX):
        raise usage(f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters (as Activepieces requires)")
    client = _anonymous(ctx, profile)
    try:
        try:
            signed = await ap_auth.sign_in(client, email, password)
            how = "password"
        except ap_auth.MfaChallenge:
            if mfa_prompt is None:
                raise usage("the platform asks for a second factor (MFA code); nothing was stored", code="MFA_REQUIRED",
                            hint="give the code from your authenticator: the console's MFA field, the CLI's "
                                 "prompt, or --mfa-code-env VAR") from None
            code = await _answer(mfa_prompt)
            if not code:
                raise usage("no MFA code given; nothing was stored", code="MFA_REQUIRED") from None
            signed = await ap_auth.sign_in(client, email, password, mfa_code=code)
            how = "password+MFA"
    except ApiError as err:
        ctx.audit("profile.login", profile.name, "failed", err.code)
        raise _sign_in_error(err, profile.name) from None
    finally:
        await client.aclose()
    return _store(ctx, profile, signed, how)


async def login_with_token(ctx: Context, name: str, token: Secret, *, verify: bool = True) -> dict[str, Any]:
    """Store a session token the operator copied from the web app (SSO-only platforms).

    It must be a JWT whose ``exp`` is ahead; ``verify`` tries it on ``GET /v1/projects`` first.
    """
    ctx.require_writable("profile login")
    profile = store_profiles.require(ctx.store, name)
    text = token.reveal().strip() if isinstance(token, Secret) else ""
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    if not text:
        raise usage("no session token given", hint="paste it on stdin: aptui profile login NAME --token-stdin")
    if text.startswith("sk-"):
        raise usage("that is an API key, not a session token", code="NOT_A_SESSION_TOKEN",
                    hint=f"store API keys with `aptui profile set-key {profile.name}`")
    try:
        expires = ap_auth.iso(ap_auth.token_expiry(text))
    except ValueError as exc:
        raise usage(f"the session token is not usable: {exc}", code="NOT_A_SESSION_TOKEN",
                    hint="copy the token of a signed-in web session (a JWT: three parts separated by dots)") from None
    signed = ap_auth.SignedIn(Secret(text), expires, None, None, None)
    if expires and clock.parse_iso(expires) <= clock.utc_now():
        raise usage(f"the session token expired at {expires}", code="SESSION_EXPIRED",
                    hint="sign in to the web app again and copy a fresh token")
    if verify:
        from aptui.activepieces.client import ActivepiecesClient

        client = ActivepiecesClient(profile.base_url, None, session=signed.token, profile=profile.name,
                                    options=profile_service.client_options(ctx, profile))
        try:
            await client.get("/v1/projects", {"limit": 1})
        except ApiError as err:
            ctx.audit("profile.login", profile.name, "failed", f"token; {err.code}")
            if err.status in (401, 403):
                raise AptuiError("INVALID_BEARER_TOKEN", f"the platform refused the session token ({err.code})",
                                 exit_code=Exit.USAGE, hint="copy a fresh token from the web app") from None
            raise
        finally:
            await client.aclose()
    return _store(ctx, profile, signed, "pasted token")


def logout(ctx: Context, name: str) -> dict[str, Any]:
    """Forget the profile's session (the server is not told: tokens live until ``exp``)."""
    ctx.require_writable("profile logout")
    profile = store_profiles.require(ctx.store, name)
    had = profile.has_session
    if had:
        store_profiles.set_session(ctx.store, profile.id, None)
    ctx.audit("profile.logout", profile.name, "ok", "session dropped" if had else "no session held")
    return {"profile": profile.name, "dropped": had}
