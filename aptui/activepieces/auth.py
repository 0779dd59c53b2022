"""Signing in as a platform user: ``POST /v1/authentication/sign-in`` (§12) and the token's ``exp``.

The answer is an ``AuthenticationResponse``: user fields plus ``token`` (a JWT, 7 days by default)
and ``projectId``. The token is handed out only as a ``Secret``. Newer servers may answer with an
MFA challenge instead of a token (shape unconfirmed): an answer without ``token`` that carries a
challenge marker is reported as ``MfaChallenge`` and the code is sent with the same sign-in.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aptui.activepieces.client import ActivepiecesClient, ApiError
from aptui.errors import Exit
from aptui.masking import Secret

SIGN_IN = "/v1/authentication/sign-in"
MFA_MARKERS = ("mfaRequired", "twoFactorRequired", "otpRequired", "challenge", "mfa")
MFA_FIELD = "mfaCode"  # UNCONFIRMED: the field the code goes back in (docs/activepieces.md)


@dataclass
class SignedIn:
    token: Secret
    expires: str | None  # ISO-8601 from the JWT's exp, None when the token has none
    email: str | None
    platform_role: str | None
    project_id: str | None


class MfaChallenge(Exception):
    """The server wants a second factor before it hands out a token."""


def token_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT as an aware datetime; None when absent. Not a JWT: ValueError."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a JWT (three dot-separated parts)")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the JWT's payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the JWT's payload is not an object")
    exp = claims.get("exp")
    if exp is None:
        return None
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise ValueError("the JWT's exp is not a number")
    return datetime.fromtimestamp(float(exp), UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_challenge(body: Any) -> bool:
    return isinstance(body, dict) and not body.get("token") and any(body.get(k) for k in MFA_MARKERS)


async def sign_in(client: ActivepiecesClient, email: str, password: Secret, *,
                  mfa_code: Secret | None = None) -> SignedIn:
    """Sign in with e-mail and password (never retried: a POST). ``MfaChallenge`` when a code is needed."""
    body: dict[str, Any] = {"email": email, "password": password.reveal()}
    if mfa_code is not None:
        body[MFA_FIELD] = mfa_code.reveal()
    scrub = [password.reveal(), *([mfa_code.reveal()] if mfa_code else [])]
    answer = await client.post(SIGN_IN, body, secrets=scrub)
    if _is_challenge(answer):
        if mfa_code is not None:
            raise ApiError("INVALID_OTP", "the platform asked for the second factor again: the code was not accepted",
                           exit_code=Exit.USAGE)
        raise MfaChallenge()
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError("PLATFORM_BAD_RESPONSE", f"POST {SIGN_IN} answered without a token")
    try:
        expires = token_expiry(token)
    except ValueError as exc:
        raise ApiError("PLATFORM_BAD_RESPONSE", f"POST {SIGN_IN} answered a token that is {exc}") from None
    return SignedIn(Secret(token), iso(expires), answer.get("email") or email, answer.get("platformRole"),
                    answer.get("projectId"))
