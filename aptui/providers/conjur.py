"""CyberArk Conjur (providerId ``cyberark-conjur``) over ``httpx.AsyncClient``.

Upstream (``cyberark-conjur-provider.ts``) authenticates before every fetch
(``POST {url}/authn/{account}/{encodeURIComponent(login)}/authenticate``, API key as text/plain),
base64-encodes the trimmed token itself, and reads ``GET /secrets/{account}/variable/{encodeURIComponent(path)}``
with axios ``responseType: 'json'``: a value that parses as JSON is parsed, and a falsy result
(empty, ``0``, ``false``, ``null``) is "No secret found at requested path". It never verifies TLS.

aptui: reuses the token for less than 8 minutes (Conjur tokens live 8), re-authenticates on 401,
reads several variables with one batch call (``GET /secrets?variable_ids=…``) and falls back to
single reads when the batch fails (one bad variable fails the whole batch), so every error is
attributed to its reference. TLS is verified unless ``options.verify_tls`` is False (upstream's
behaviour, labelled in every result's notes).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

from aptui.masking import Secret
from aptui.net import NetRule, host_of, plain_http
from aptui.providers import errors as E
from aptui.providers.base import FetchResult, ProviderOptions
from aptui.providers.fields import flag
from aptui.providers.retry import LoopLock, RetryPolicy, retry_after_seconds, retry_async, with_timeout

PROVIDER = "cyberark-conjur"
TOKEN_MAX_AGE = 7 * 60.0  # Conjur access tokens live 8 minutes
BATCH_MAX_IDS = 50
BATCH_MAX_URL = 6000
CONCURRENCY = 4
TLS_OFF_NOTE = ("TLS certificate verification is off (as in Activepieces, which never verifies Conjur "
                "certificates)")
TLS_ON_HINT = ("aptui verifies Conjur's certificate, Activepieces does not; set providers.conjur_verify_tls = "
               "false to match it")
NOT_A_TOKEN_HINT = ("something other than Conjur answered (a proxy or a sign-in page?); aptui checks the token's "
                    "shape, Activepieces would send it as a token and fail on the next call")
AXIOS_JSON_NOTE = "the value parses as JSON, so Activepieces (axios responseType 'json') returns it parsed"


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent``."""
    return quote(text.encode("utf-8"), safe="!~*'()")  # lone surrogates raise, as JS throws URIError


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def looks_like_token(text: str) -> bool:
    """A Conjur access token is a JSON object (or, with ``Accept-Encoding: base64``, its base64)."""

    def is_object(candidate: str) -> bool:
        try:
            return isinstance(json.loads(candidate), dict)
        except ValueError:
            return False

    if is_object(text):
        return True
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return False
    return is_object(decoded)


def axios_json(text: str) -> tuple[Any, bool]:
    """axios' response transform for ``responseType: 'json'``: ``(value, parsed?)``."""
    if not text:
        return text, False
    try:
        return E.js_json_parse(text), True
    except E.JsJsonError:
        return text, False


class ConjurProvider:
    provider_id = PROVIDER

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None, *,
                 connection_id: str | None = None) -> None:
        self.options = options or ProviderOptions()
        self.connection_id = connection_id
        url = config.get("url", "")
        self.url = url[:-1] if url.endswith("/") else url
        self.account = config.get("organizationAccountName", "")
        self.login = config.get("loginId", "")
        self._api_key = config.get("apiKey", "")
        self._secrets: list[str] = [self._api_key]
        self._allow_http = flag(config, "allowHttp")
        self.net = NetRule.for_url(self.url, proxy=self.options.proxy, ca_bundle=config.get("caBundle") or None,
                                   verify=self.verify_tls)
        self._policy = RetryPolicy.from_options(self.options)
        self._max_age = float((self.options.extra or {}).get("token_max_age", TOKEN_MAX_AGE))
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._auth_lock = LoopLock()
        self._token: str | None = None
        self._token_at = 0.0
        self.calls: Counter[str] = Counter()
        self.logins = 0

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def verify_tls(self) -> bool:
        return bool(self.options.verify_tls)

    # --- HTTP ----------------------------------------------------------------------------------

    def _http_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            import httpx

            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.options.timeout), follow_redirects=False,
                                             **self.net.httpx_kwargs())
            self._client_loop = loop
        return self._client

    async def _request(self, method: str, url: str, *, label: str, headers: dict[str, str] | None = None,
                       content: str | None = None) -> Any:
        if plain_http(self.url) and not self._allow_http:
            raise E.connection_failed(PROVIDER, f"plain http:// is refused for {host_of(self.url)}: the API key "
                                      "would cross the network in clear",
                                      hint="use https://, or set allowHttp=true on a lab connection")
        client = self._http_client()

        async def once() -> Any:
            self.calls[label] += 1
            return await with_timeout(client.request(method, url, headers=headers, content=content),
                                      float(self.options.timeout) + 1)

        try:
            return await retry_async(once, self._policy,
                                     retry_on_result=lambda r: r.status_code >= 500 or r.status_code == 429,
                                     server_delay=lambda r: retry_after_seconds(r.headers.get("Retry-After")))
        except Exception as exc:
            import httpx

            if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
                raise E.connection_failed(PROVIDER, f"invalid Conjur URL ({type(exc).__name__})",
                                          hint="use e.g. https://conjur.example.com") from None
            if isinstance(exc, httpx.TransportError | OSError | TimeoutError):
                hint = TLS_ON_HINT if self.verify_tls and "TLS" in E.describe_transport(exc, 0) else None
                raise E.transport_failed(PROVIDER, exc, url=self.url, timeout=self.options.timeout,
                                         hint=hint) from None
            raise

    # --- token ---------------------------------------------------------------------------------

    async def _authenticate(self) -> str:
        self.logins += 1
        url = f"{self.url}/authn/{self.account}/{encode_uri_component(self.login)}/authenticate"
        resp = await self._request("POST", url, label="authenticate", content=self._api_key,
                                   headers={"Content-Type": "text/plain"})
        if resp.status_code >= 400:
            raise E.connection_failed(PROVIDER, E.http_status_message(resp.status_code), secrets=self._secrets)
        raw = resp.text
        if not raw:
            raise E.connection_failed(PROVIDER, E.NO_TOKEN)
        if not looks_like_token(raw.strip()):
            ctype = resp.headers.get("Content-Type") or "no content type"
            raise E.connection_failed(PROVIDER, f"the answer to authenticate is not a Conjur access token ({ctype})",
                                      secrets=self._secrets, hint=NOT_A_TOKEN_HINT)
        token = base64.b64encode(raw.strip().encode("utf-8")).decode("ascii")
        self._token, self._token_at = token, time.monotonic()
        self._secrets.extend([token, raw.strip()])
        return token

    async def _ensure_token(self, *, force: bool = False, replace: str | None = None) -> str:
        async with self._auth_lock.get():
            fresh = self._token is not None and time.monotonic() - self._token_at < self._max_age
            if not force and fresh and self._token != replace:
                return self._token  # type: ignore[return-value]
            return await self._authenticate()

    async def _authed_get(self, url: str, label: str, headers: dict[str, str] | None = None) -> Any:
        token = await self._ensure_token()
        resp = await self._request("GET", url, label=label,
                                   headers={"Authorization": f'Token token="{token}"', **(headers or {})})
        if resp.status_code == 401:  # expired or revoked token: authenticate once more
            token = await self._ensure_token(replace=token)
            resp = await self._request("GET", url, label=label,
                                       headers={"Authorization": f'Token token="{token}"', **(headers or {})})
        return resp

    # --- protocol ------------------------------------------------------------------------------

    async def check(self) -> None:
        """Authenticate, as Activepieces' ``checkConnection``."""
        await self._ensure_token(force=True)

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        unique = list(dict.fromkeys(paths))
        results: dict[str, FetchResult] = {}
        if not unique:
            return results
        await self._ensure_token()
        singles: list[str] = []
        # Conjur splits variable_ids on ',' after decoding, so such ids can only be read one by one.
        batchable = [p for p in unique if p and "," not in p and _encodable(p)]
        alone = set(unique) - set(batchable)
        singles.extend(p for p in unique if p in alone)
        if len(batchable) >= 2:
            for chunk in self._chunks(batchable):
                got = await self._batch(chunk)
                if got is None:
                    singles.extend(chunk)
                    continue
                for path in chunk:
                    if path in got:
                        results[path] = self._value_result(path, got[path])
                    else:
                        singles.append(path)
        else:
            singles.extend(batchable)

        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(path: str) -> None:
            async with sem:
                results[path] = await self._single(path)

        await asyncio.gather(*(one(p) for p in singles))
        return {p: results[p] for p in unique}

    async def aclose(self) -> None:
        client, loop = self._client, self._client_loop
        self._client, self._client_loop, self._token = None, None, None
        if client is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                await client.aclose()

    # --- reading -------------------------------------------------------------------------------

    def _qualified(self, path: str) -> str:
        return f"{self.account}:variable:{path}"

    def _chunks(self, paths: list[str]) -> list[list[str]]:
        chunks: list[list[str]] = [[]]
        size = 0
        for p in paths:
            enc = len(encode_uri_component(self._qualified(p))) + 1
            if chunks[-1] and (len(chunks[-1]) >= BATCH_MAX_IDS or size + enc > BATCH_MAX_URL):
                chunks.append([])
                size = 0
            chunks[-1].append(p)
            size += enc
        return chunks

    async def _batch(self, chunk: list[str]) -> dict[str, str] | None:
        ids = ",".join(encode_uri_component(self._qualified(p)) for p in chunk)
        resp = await self._authed_get(f"{self.url}/secrets?variable_ids={ids}", "batch")
        if resp.status_code != 200:
            return None  # one missing/forbidden/binary variable fails the batch: read one by one
        try:
            body = resp.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        wanted = {self._qualified(p): p for p in chunk}
        return {wanted[k]: v for k, v in body.items() if k in wanted and isinstance(v, str)}

    async def _single(self, path: str) -> FetchResult:
        try:
            encoded = encode_uri_component(path)
        except UnicodeEncodeError:
            return self._error(path, "URI malformed")
        resp = await self._authed_get(f"{self.url}/secrets/{self.account}/variable/{encoded}", "variable")
        if resp.status_code >= 400:
            return self._error(path, E.http_status_message(resp.status_code))
        raw = resp.content
        try:
            text = raw.decode("utf-8")
            notes: list[str] = []
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            notes = ["the value is not UTF-8 text; Activepieces decodes it lossily like this"]
        return self._value_result(path, text, notes)

    def _value_result(self, path: str, text: str, notes: list[str] | None = None) -> FetchResult:
        value, parsed = axios_json(text)
        if not E.js_truthy(value):
            return self._error(path, E.NOT_FOUND)
        shown, more = E.render_value(value)
        all_notes = list(notes or [])
        if parsed:
            all_notes.append(AXIOS_JSON_NOTE)
        all_notes.extend(more)
        if not self.verify_tls:
            all_notes.append(TLS_OFF_NOTE)
        return FetchResult(path, value=Secret(shown), notes=all_notes)

    def _error(self, path: str, reason: str) -> FetchResult:
        return FetchResult(path, error=E.get_secret_failed(PROVIDER, path, reason, connection_id=self.connection_id,
                                                           secrets=self._secrets))
