"""The HTTP layer for one Activepieces platform: base URL, auth, timeouts, retries, errors, pages.

Retries (bounded by ``retries``, exponential backoff with jitter, ``Retry-After`` honoured):
- idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) and POSTs the caller marks idempotent
  (app-connection upsert keyed by projectId+externalId, MCP/secret-manager updates) are retried
  on 429, 500, 502, 503, 504 and on transport failures (refused, reset, timeout);
- any other POST is retried only when the server provably did not process it: the TCP
  connection could not be opened, or a 429 from the rate limiter. A timeout or a reset after the
  body was sent gives ``PLATFORM_OUTCOME_UNKNOWN`` instead (never a blind resend);
- a DELETE whose retry answers 404 after an ambiguous first attempt counts as done.
Credentials: every request names a route of ``routes.ROUTES`` (a path outside the table is refused
before sending, ``ROUTE_NOT_IN_TABLE``). The client holds up to two credentials, the API key
(principal SERVICE) and a user session token (principal USER), and sends the one the route admits:
the API key where SERVICE is admitted, else the session. A USER-only route without a session fails
before sending with ``USER_SESSION_REQUIRED`` (exit 2). A 403 ``SESSION_EXPIRED`` answered to the
session calls ``on_session_expired`` (the service drops the stored session). Credentials live only
in the ``Authorization`` header of the request that needs them; they are redacted from every error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from aptui import __version__
from aptui.activepieces import routes
from aptui.activepieces.routes import SERVICE, USER, Route
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret, redact
from aptui.net import is_loopback

log = logging.getLogger("aptui.activepieces")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_MAX = 100

# Code used when an error body carries none (Fastify's 404 for an unknown route, proxies...).
_STATUS_CODES = {
    400: "BAD_REQUEST", 401: "AUTHENTICATION", 402: "FEATURE_DISABLED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 405: "NOT_FOUND", 409: "CONFLICT", 413: "BAD_REQUEST", 429: "RATE_LIMITED",
}
# Paths -> feature name, for the plain 402 FEATURE_DISABLED wording.
_FEATURES = (
    ("/v1/secret-managers", "secret managers"),
    ("/v1/global-connections", "global connections"),
    ("/v1/api-keys", "API keys"),
    ("/v1/mcp", "MCP servers"),
    ("/v1/pieces", "private pieces"),
    ("/v1/projects", "project management"),
    ("/v1/flow-runs", "flow run management"),
)
AUTH_HINT = "check the profile's API key (`aptui profile set-key NAME`) or AP_API_KEY; a platform admin creates keys"
API_KEY, SESSION = "api-key", "session"  # which credential a request carried


class ApiError(AptuiError):
    """An ``AptuiError`` from the platform, with the HTTP status (None: no answer)."""

    def __init__(self, code: str, message: str, *, exit_code: int = Exit.FAILED, hint: str | None = None,
                 params: dict[str, Any] | None = None, status: int | None = None,
                 outcome_unknown: bool = False, credential: str | None = None) -> None:
        super().__init__(code, message, exit_code=exit_code, hint=hint, params=params)
        self.status = status
        self.outcome_unknown = outcome_unknown
        self.credential = credential


# -- URLs ---------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1, localhost: the one loopback rule (``aptui.net``)."""
    return is_loopback(host)


def check_site_url(url: str) -> str:
    """Validate an operator-given URL and return it without a trailing slash.

    ``https://`` anywhere; ``http://`` only for loopback (127.0.0.0/8, ::1, localhost).
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise usage(f"not a valid URL: {text!r}", hint="e.g. https://ap.example.com") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise usage(f"not an http(s) URL: {text!r}", hint="e.g. https://ap.example.com")
    if parts.username or parts.password:
        raise usage("the URL must not contain credentials", hint="the API key is asked for separately")
    if parts.query or parts.fragment:
        # not repeated as given: a pasted link can carry a token in its query
        raise usage(f"the URL must not have a query or fragment: '{scheme}://{parts.netloc}{parts.path}?…'",
                    hint="give the site URL only, e.g. https://ap.example.com")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise usage(f"plain http:// is refused for {parts.hostname} (the API key would cross the network in clear)",
                    code="INSECURE_URL", hint="use https://, or http:// only for 127.0.0.1, ::1 or localhost")
    path = parts.path.rstrip("/")
    return f"{scheme}://{parts.netloc}{path}"


def api_base_url(site_url: str) -> str:
    """``https://ap.example.com`` → ``https://ap.example.com/api``; a URL ending in ``/api`` stays."""
    site = check_site_url(site_url)
    return site if site.endswith("/api") else site + "/api"


# -- pages ----------------------------------------------------------------------------------


@dataclass
class SeekPage:
    """One page of a list: ``{"data": [...], "next": cursor|null, "previous": cursor|null}``."""

    data: list[dict[str, Any]]
    next: str | None = None
    previous: str | None = None

    @classmethod
    def parse(cls, body: Any, where: str) -> SeekPage:
        if isinstance(body, list):  # routes that answer a plain array (pieces)
            return cls(data=body)
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            nxt, prev = body.get("next"), body.get("previous")
            return cls(data=body["data"], next=nxt if isinstance(nxt, str) and nxt else None,
                       previous=prev if isinstance(prev, str) and prev else None)
        raise ApiError("PLATFORM_BAD_RESPONSE", f"{where} did not answer a list page", exit_code=Exit.FAILED)


def query_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Drop None and empty lists; booleans as ``true``/``false``; lists repeat the key."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out


# -- errors ----------------------------------------------------------------------------------


def _redact_obj(obj: Any, secrets: list[str]) -> Any:
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: _redact_obj(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_obj(v, secrets) for v in obj]
    return obj


def feature_for(path: str) -> str:
    if "/mcp" in path:
        return "MCP servers"
    return next((name for prefix, name in _FEATURES if path.startswith(prefix)), "this feature")


def error_from_response(method: str, path: str, status: int, body: Any, secrets: list[str],
                        content_type: str = "", *, credential: str | None = None,
                        profile: str | None = None) -> ApiError:
    """Map an error answer (Activepieces or Fastify body, or none) to one ``ApiError``."""
    where = f"{method} {path}"
    code: str | None = None
    message: str | None = None
    params: dict[str, Any] = {}
    if isinstance(body, dict):
        if isinstance(body.get("code"), str) and isinstance(body.get("params"), dict):
            code = body["code"]  # ActivepiecesError
            params = {k: v for k, v in body["params"].items() if k != "message"}
            raw = body["params"].get("message")
            message = raw if isinstance(raw, str) and raw else None
        elif "statusCode" in body or "error" in body or "message" in body:
            code = body.get("code") if isinstance(body.get("code"), str) else None  # Fastify
            raw = body.get("message")
            message = raw if isinstance(raw, str) and raw else None
    if code is None:
        code = _STATUS_CODES.get(status, "PLATFORM_UNAVAILABLE" if status >= 500 else "PLATFORM_HTTP_ERROR")
    if message is None:
        message = f"{where} answered HTTP {status}"
        if "html" in content_type:
            message += " (an HTML page, not the API)"
    message = redact(message, secrets)
    params = _redact_obj(params, secrets)
    hint = None
    exit_code = Exit.FAILED
    login = f"aptui profile login {profile or 'NAME'}"
    if status == 401 and credential == SESSION:
        hint = f"the platform refused the session: log in again ({login})"
    elif status == 401:
        hint = AUTH_HINT
    elif status == 403:
        hint = _forbidden_hint(code, path, credential, login)
    elif status == 402 and code == "FEATURE_DISABLED":
        message = f"{feature_for(path)} need an Enterprise plan on this platform (FEATURE_DISABLED)"
    elif status == 400 and code == "FST_ERR_VALIDATION":
        exit_code = Exit.USAGE
    elif status == 429:
        exit_code = Exit.UNREACHABLE
        hint = "the platform is rate limiting; try again later"
    elif status >= 500:
        exit_code = Exit.UNREACHABLE
        if message.endswith(f"HTTP {status}"):
            message = f"{where}: the platform failed (HTTP {status})"
    return ApiError(code, message, exit_code=exit_code, hint=hint, params=params, status=status,
                    credential=credential)


def _forbidden_hint(code: str, path: str, credential: str | None, login: str) -> str:
    """What a 403 means for the credential that was sent (never "use an admin's key" where no key reaches)."""
    if code == "SESSION_EXPIRED":
        return f"the session has expired or was revoked: log in again ({login})"
    if credential == API_KEY:
        return (f"the platform does not admit an API key here ({path}); a signed-in platform user may be: "
                f"{login}")
    if credential == SESSION:
        return "the signed-in user lacks the role or permission this needs (platform admin, or the project's " \
               "MCP permissions)"
    return "not allowed for this credential"


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


# -- the client -------------------------------------------------------------------------------


@dataclass
class ClientOptions:
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 30.0
    verify: bool | str = True  # True, False, or a CA bundle path
    proxy: str | None = None  # the configured proxy; aptui.net skips it for loopback


@dataclass
class _Attempt:
    number: int = 0
    ambiguous: bool = False  # an earlier attempt may have been applied
    delays: list[float] = field(default_factory=list)


class ActivepiecesClient:
    """One keep-alive ``httpx.AsyncClient`` for one platform; use as an async context manager.

    ``api_key`` (SERVICE) and ``session`` (USER) are each optional; ``profile`` names the profile
    in messages; ``session_note`` says why no session is held (e.g. it expired) for the refusal.
    """

    def __init__(self, site_url: str, api_key: Secret | None = None, *, session: Secret | None = None,
                 profile: str | None = None, session_note: str | None = None,
                 on_session_expired: Callable[[], None] | None = None,
                 options: ClientOptions | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        for value in (api_key, session):
            if value is not None and not isinstance(value, Secret):
                raise TypeError("credentials must be Secret values")
        self.base_url = api_base_url(site_url)
        self.options = options or ClientOptions()
        self._key = api_key or None
        self._session = session or None
        self.profile = profile
        self.session_note = session_note
        self._on_session_expired = on_session_expired
        self._sleep = sleep or asyncio.sleep
        self.facts: dict[str, Any] = {}  # what was learnt about the server (version, MCP API era)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": f"aptui/{__version__}"},
            timeout=httpx.Timeout(self.options.timeout),
            **_net(self.base_url, self.options),
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    def __repr__(self) -> str:
        return f"ActivepiecesClient({self.base_url!r}, api_key={self._key!r}, session={self._session!r})"

    async def __aenter__(self) -> ActivepiecesClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    @property
    def has_api_key(self) -> bool:
        return self._key is not None

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def credential_for(self, route: Route) -> tuple[str | None, Secret | None]:
        """``(kind, secret)`` the route admits (None, None for a public route), or the one-line refusal."""
        if route.public:
            return None, None
        if SERVICE in route.principals and self._key is not None:
            return API_KEY, self._key
        if USER in route.principals and self._session is not None:
            return SESSION, self._session
        name = self.profile or "NAME"
        if route.user_only:
            who = "platform admin" if route.admin else "platform user"
            why = f"; {self.session_note}" if self.session_note else ""
            raise ApiError("USER_SESSION_REQUIRED",
                           f"{route.noun} need a signed-in {who}{why} (aptui profile login {name})",
                           exit_code=Exit.USAGE)
        raise ApiError("API_KEY_MISSING", "Activepieces API key not configured", exit_code=Exit.USAGE,
                       hint=f"store one with `aptui profile set-key {name}` or sign in: aptui profile login {name}")

    def _scrub(self, extra: Iterable[str]) -> list[str]:
        return [s.reveal() for s in (self._key, self._session) if s is not None] + [s for s in extra if s]

    def _session_expired(self, err: ApiError) -> ApiError:
        """A 403 SESSION_EXPIRED to the session: drop it (here and, through the callback, in the store)."""
        self._session = None
        self.session_note = "the session expired or was revoked on the server"
        if self._on_session_expired is not None:
            self._on_session_expired()
        name = self.profile or "NAME"
        return ApiError("SESSION_EXPIRED", f"the session of profile {name} has expired or was revoked "
                        f"({err.message}); it was dropped: log in again (aptui profile login {name})",
                        exit_code=Exit.USAGE, status=403, credential=SESSION)

    # -- requests ---------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = None, idempotent: bool | None = None,
                      secrets: Iterable[str] = ()) -> Any:
        """Send one request (with retries as described above) and return the decoded JSON body.

        ``secrets`` are extra strings (e.g. a connection value) scrubbed from any error text.
        """
        method = method.upper()
        route = routes.find(method, path)
        if route is None:
            raise ApiError("ROUTE_NOT_IN_TABLE", f"{method} {path} is not a route aptui knows the principals of",
                           exit_code=Exit.FAILED, hint="add it to aptui/activepieces/routes.py from the contract")
        credential, secret = self.credential_for(route)
        headers = {"Authorization": f"Bearer {secret.reveal()}"} if secret is not None else {}
        idem = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        scrub = self._scrub(secrets)
        attempt = _Attempt()
        while True:
            started = time.perf_counter()
            try:
                resp = await self._http.request(method, path, params=query_params(params), json=json,
                                                headers=headers)
            except httpx.TransportError as exc:
                not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                log.debug("%s %s -> %s after %.0f ms (attempt %d)", method, path, type(exc).__name__,
                          (time.perf_counter() - started) * 1000, attempt.number + 1)
                if attempt.number < self.options.retries and (idem or not_sent):
                    attempt.ambiguous = attempt.ambiguous or not not_sent
                    await self._backoff(attempt, None)
                    continue
                raise self._transport_error(method, path, exc, sent=not not_sent, idempotent=idem) from None
            log.debug("%s %s -> %d in %.0f ms (attempt %d)", method, path, resp.status_code,
                      (time.perf_counter() - started) * 1000, attempt.number + 1)
            status = resp.status_code
            if status in RETRY_STATUSES and (idem or status == 429):
                delay = retry_after_seconds(resp.headers.get("Retry-After"))
                if delay is not None and delay > self.options.max_retry_after:
                    raise self._error(method, path, resp, scrub, retry_after=delay)
                if attempt.number < self.options.retries:
                    attempt.ambiguous = attempt.ambiguous or status != 429
                    await self._backoff(attempt, delay)
                    continue
            if method == "DELETE" and status == 404 and attempt.ambiguous:
                return None  # an earlier attempt deleted it
            if status >= 300:
                err = self._error(method, path, resp, scrub, credential=credential)
                if err.code == "SESSION_EXPIRED" and credential == SESSION:
                    raise self._session_expired(err)
                raise err
            return self._decode(method, path, resp, applied_maybe=not idem)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, *, idempotent: bool = False,
                   params: dict[str, Any] | None = None, secrets: Iterable[str] = ()) -> Any:
        return await self.request("POST", path, json=json if json is not None else {},
                                  idempotent=idempotent, params=params, secrets=secrets)

    async def delete(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    # -- pagination ---------------------------------------------------------------------------
    async def pages(self, path: str, params: dict[str, Any] | None = None, *, limit: int = PAGE_MAX,
                    cursor: str | None = None) -> AsyncIterator[SeekPage]:
        """Every page of a SeekPage list, fetched one at a time as the caller iterates."""
        limit = max(1, min(int(limit), PAGE_MAX))
        seen: set[str] = set()
        while True:
            body = await self.get(path, {**(params or {}), "limit": limit, "cursor": cursor})
            page = SeekPage.parse(body, f"GET {path}")
            yield page
            if not page.next:
                return
            if page.next in seen:
                raise ApiError("PLATFORM_BAD_RESPONSE", f"GET {path} repeated a page cursor; stopped listing")
            seen.add(page.next)
            cursor = page.next

    async def items(self, path: str, params: dict[str, Any] | None = None, *, limit: int = PAGE_MAX,
                    max_items: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every item of every page, streamed: memory holds one page at a time."""
        count = 0
        async for page in self.pages(path, params, limit=limit):
            for item in page.data:
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    # -- internals ------------------------------------------------------------------------------
    async def _backoff(self, attempt: _Attempt, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after
        else:
            base = min(self.options.backoff_max, self.options.backoff * (2 ** attempt.number))
            delay = base * (0.5 + random.random() / 2)
        attempt.number += 1
        attempt.delays.append(delay)
        await self._sleep(delay)

    def _decode(self, method: str, path: str, resp: httpx.Response, *, applied_maybe: bool = False) -> Any:
        """The JSON body of a 2xx answer. An unreadable answer to a non-idempotent POST leaves its
        outcome unknown (something answered 2xx: it may have been applied)."""
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except (ValueError, UnicodeDecodeError):
            ctype = resp.headers.get("content-type", "")
            hint = f"is {self.base_url} the Activepieces API? (got {ctype or 'no content type'})"
            if applied_maybe:
                hint += "; it may or may not have been applied: check on the platform before trying again"
            raise ApiError("PLATFORM_BAD_RESPONSE",
                           f"{method} {path} answered HTTP {resp.status_code} with a body that is not valid JSON",
                           hint=hint, status=resp.status_code, outcome_unknown=applied_maybe) from None

    def _error(self, method: str, path: str, resp: httpx.Response, scrub: list[str],
               retry_after: float | None = None, credential: str | None = None) -> ApiError:
        if 300 <= resp.status_code < 400:
            location = resp.headers.get("location", "")
            return ApiError("PLATFORM_REDIRECT", f"{method} {path} was redirected (HTTP {resp.status_code})",
                            hint=f"use the final URL in the profile: {redact(location, scrub)}" if location else None,
                            status=resp.status_code)
        try:
            body = resp.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        err = error_from_response(method, path, resp.status_code, body, scrub,
                                  resp.headers.get("content-type", ""), credential=credential,
                                  profile=self.profile)
        if retry_after is not None:
            err.hint = f"the platform asked to retry after {retry_after:.0f}s"
        return err

    def _transport_error(self, method: str, path: str, exc: httpx.TransportError, *, sent: bool,
                         idempotent: bool) -> ApiError:
        where = f"{method} {path}"
        if sent and not idempotent:
            return ApiError("PLATFORM_OUTCOME_UNKNOWN",
                            f"no complete answer to {where} ({_reason(exc, self.options.timeout)}); "
                            "it may or may not have been applied",
                            exit_code=Exit.UNREACHABLE, outcome_unknown=True,
                            hint="check on the platform before trying again")
        if isinstance(exc, httpx.TimeoutException):
            code = "PLATFORM_TIMEOUT"
        elif isinstance(exc, httpx.ConnectError):
            code = "PLATFORM_UNREACHABLE"
        else:
            code = "PLATFORM_CONNECTION_FAILED"
        return ApiError(code, f"{where} at {self.base_url}: {_reason(exc, self.options.timeout)}",
                        exit_code=Exit.UNREACHABLE, hint="check the URL, the network and the server")


def _reason(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection not established within {timeout:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "ssl" in text or "certificate" in text:
            return "TLS handshake failed (certificate not trusted? use --ca-bundle)"
        if "refused" in text or "all connection attempts failed" in text:
            return "connection refused (is the server running at that address?)"
        if "name" in text and ("resolution" in text or "not known" in text):
            return "host name not found"
        return "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection without a complete answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection was reset"
    return type(exc).__name__


def _net(url: str, options: ClientOptions) -> dict[str, Any]:
    """The one proxy/TLS rule (``aptui.net``): verify, proxy, and no environment."""
    from aptui.net import proxy_for, ssl_context

    verify = options.verify
    tls = _verify(verify) if isinstance(verify, str) else ssl_context(None, verify=verify is not False)
    return {"verify": tls, "proxy": proxy_for(url, options.proxy), "trust_env": False}


def _verify(verify: bool | str) -> bool | ssl.SSLContext:
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise usage(f"CA bundle {verify} cannot be used ({reason})",
                        hint="give a PEM file with the CA certificate(s)") from None
    return bool(verify)
