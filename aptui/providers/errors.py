"""Error construction shared by the provider clients: Activepieces' codes, clean one-line messages.

Every message that comes from a provider (SDK text, HTTP body) goes through ``clean()``: one line,
scrubbed with ``redact()`` against the connection's secret values (and tokens obtained from them),
capped in length. Transport failures become ``SECRET_MANAGER_CONNECTION_FAILED`` with exit 4.
"""

from __future__ import annotations

import json
import math
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aptui.errors import AptuiError, Exit, unreachable
from aptui.masking import redact

CONNECTION_FAILED = "SECRET_MANAGER_CONNECTION_FAILED"
GET_SECRET_FAILED = "SECRET_MANAGER_GET_SECRET_FAILED"
NOT_FOUND = "No secret found at requested path"
NO_TOKEN = "No token received"
MAX_MESSAGE = 300


def clean(text: object, secrets: Iterable[str] = (), limit: int = MAX_MESSAGE) -> str:
    """One line, secrets masked, at most ``limit`` characters."""
    one = " ".join(str(text).split())
    one = redact(one, [s for s in secrets if s])
    return one if len(one) <= limit else one[: limit - 1] + "…"


def where(url: str | None) -> str:
    """``scheme://host:port`` of a URL, without user info or path (safe to show)."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "?"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"


def http_status_message(status: int) -> str:
    """The text Activepieces shows for an HTTP error (axios' message)."""
    return f"Request failed with status code {status}"


def _params(provider: str, connection_id: str | None, path: str | None = None,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"provider": provider}
    if path is not None:
        request: dict[str, Any] = {}
        if connection_id:
            request["connectionId"] = connection_id
        request["path"] = path
        request.update(extra or {})
        params["request"] = request
    return params


def connection_failed(provider: str, message: str, *, secrets: Iterable[str] = (), hint: str | None = None,
                      exit_code: int = Exit.FAILED, template: str = "") -> AptuiError:
    """CONNECTION_FAILED with the provider's message (exit 1: the connection check failed).

    ``template`` is Activepieces' fixed text before the message, kept exactly as upstream builds it
    (its trailing space too, also when ``message`` is empty); only ``message`` is cleaned.
    """
    return AptuiError(CONNECTION_FAILED, template + clean(message, secrets), exit_code=exit_code,
                      hint=clean(hint, secrets) if hint else None, params=_params(provider, None))


def get_secret_failed(provider: str, path: str, reason: str, *, connection_id: str | None = None,
                      secrets: Iterable[str] = (), hint: str | None = None,
                      request: dict[str, Any] | None = None) -> AptuiError:
    """GET_SECRET_FAILED ``"[<path>] <reason>"`` as Activepieces' ``throwGetSecretError``."""
    return AptuiError(GET_SECRET_FAILED, f"[{path}] {clean(reason, secrets)}", exit_code=Exit.FAILED,
                      hint=clean(hint, secrets) if hint else None,
                      params=_params(provider, connection_id, path, request))


def validation_failed(message: str) -> AptuiError:
    return AptuiError("VALIDATION", message, exit_code=Exit.USAGE)


# --- transport failures -------------------------------------------------------------------------

def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop(0)
        if any(e is s for s in seen):
            continue
        seen.append(e)
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None),
                    *(getattr(e, "kwargs", {}) or {}).values(), *getattr(e, "args", ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def describe_transport(exc: BaseException, timeout: float) -> str:
    """A short, secret-free description of why a remote could not be reached."""
    chain = _chain(exc)
    names = " ".join(type(e).__name__ for e in chain).lower()
    text = " ".join(str(e) for e in chain).lower()
    if "timeout" in names or "timed out" in text or any(isinstance(e, TimeoutError) for e in chain):
        return f"timed out after {timeout:g}s"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in text \
            or "nodename nor servname" in text or "name resolution" in text or "getaddrinfo" in text:
        return "host name not resolved"
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ssl" in names or "certificate" in text:
        verify = "certificate verify failed" in text or "invalid peer certificate" in text
        return f"TLS error: {'certificate verify failed' if verify else 'handshake failed'}"
    if any(w in text for w in ("reset", "closed", "disconnected", "eof", "broken", "incomplete")):
        return "connection closed by the remote"
    return "connection failed"


def transport_failed(provider: str, exc: BaseException, *, url: str | None, timeout: float,
                     hint: str | None = None) -> AptuiError:
    """CONNECTION_FAILED, exit 4: the provider could not be reached (refused, DNS, timeout, TLS)."""
    return unreachable(CONNECTION_FAILED, f"{describe_transport(exc, timeout)} ({where(url)})", hint=hint,
                       params=_params(provider, None))


# --- JavaScript semantics Activepieces relies on ----------------------------------------------

def js_truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value: ``""``, ``0``, ``false``, ``null`` are falsy; ``[]``/``{}`` are not."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True


class JsJsonError(ValueError):
    """``JSON.parse`` failed; ``message`` is a stable, V8-like text without any input excerpt."""


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def js_json_parse(text: str) -> Any:
    """``JSON.parse`` for the value shapes that matter: no NaN/Infinity, same whitespace rules.

    On failure raises ``JsJsonError`` with ``"Unexpected end of JSON input"`` or
    ``"Unexpected token in JSON at position N"``. V8's own text names the token (newer versions
    quote part of the input), which would put secret characters in a message, so it is not copied.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        if e.msg.startswith("Extra data"):
            raise JsJsonError(f"Unexpected non-whitespace character after JSON at position {e.pos}") from None
        if e.pos >= len(text.rstrip(" \t\n\r")) or e.msg.startswith("Unterminated string"):
            raise JsJsonError("Unexpected end of JSON input") from None
        raise JsJsonError(f"Unexpected token in JSON at position {e.pos}") from None
    except ValueError as e:  # NaN / Infinity / -Infinity, which JSON.parse rejects
        raise JsJsonError(f"Unexpected token in JSON at position {max(text.find(str(e)), 0)}") from None


def render_value(value: Any) -> tuple[str, list[str]]:
    """A resolved value as text: strings as they are, anything else as compact JSON plus a note."""
    if isinstance(value, str):
        return value, []
    kind = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else \
        "boolean" if isinstance(value, bool) else "number" if isinstance(value, int | float) else "value"
    note = f"non-string value ({kind}) shown as JSON text; Activepieces passes the raw {kind} on"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False), [note]
