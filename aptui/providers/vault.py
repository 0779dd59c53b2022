"""HashiCorp Vault (providerId ``hashicorp``): AppRole login and KV reads through hvac, in threads.

Upstream (``hashicorp-provider.ts``) logs in and reads ``sys/mounts`` before *every* fetch, then
``GET {url}/v1/{all parts but the last}`` and takes field ``<last part>`` from ``data.data``
(KV v2 shape); a missing or falsy field is "No secret found at requested path".

aptui does the same requests with the same verdicts, but
- reuses the token until shortly before its lease ends, and logs in again on a 403 that
  ``auth/token/lookup-self`` confirms is an expired/revoked token;
- reads ``sys/mounts`` once per token (at most every ``MOUNTS_TTL`` seconds);
- fetches each secret once for all the keys asked of it;
- reads KV v1 mounts too (labelled: ``upstream_ok=False``, Activepieces fails on them).

Only the connection's own credentials and destination are used: the HTTP adapter is built without
``hvac.Client`` (which would load ``VAULT_TOKEN``/``~/.vault-token``/``VAULT_CLIENT_CERT``), on a
``requests`` session that ignores the environment; proxy and TLS trust follow ``aptui.net``.
A refused AppRole login is never retried with the same secret id in this process: Vault and
OpenBao lock a role out after 5 refused logins in a row (403, 15 minutes by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from typing import Any

from aptui.errors import AptuiError
from aptui.masking import Secret
from aptui.net import NetRule, plain_http
from aptui.providers import errors as E
from aptui.providers.base import FetchResult, ProviderOptions
from aptui.providers.fields import flag
from aptui.providers.retry import LoopLock, RetryPolicy, retry_after_seconds, retry_async, with_timeout

PROVIDER = "hashicorp"
PATH_MESSAGE = "Wrong path format . should be mount/data/path/key. got {path}"
MOUNTS_DENIED = "Permission denied. make sure the app role policies has the necessary permissions "
V1_NOTE = ("read from a KV v1 mount (aptui extension): Activepieces reads only the KV v2 shape and fails "
           "here with \"No secret found at requested path\"")
MOUNTS_TTL = 60.0
RENEW_MARGIN = 30.0
CONCURRENCY = 8
RETRY_STATUSES = {412, 429}
LOCKOUT_THRESHOLD = 5
UNLOCK_PATH = ("unlock it with `bao write -f sys/locked-users/<approle mount accessor>/unlock/<role id>` "
               "(`vault write` on Vault; `read sys/locked-users` lists locked roles; needs a token allowed on "
               "sys/locked-users) or wait for the lockout to end (15 minutes by default)")
REFUSED_HINT = ("aptui will not retry this secret id: after {n} refused logins in a row Vault/OpenBao lock the "
                "role out (403 for 15 minutes by default, its valid secret id included); fix the secret id first")
NOT_RETRIED = "login not sent: this role id/secret id was refused earlier in this session"
LOCKED_HINT = ("the AppRole login was refused with 403 after {n} refused login(s): the role is most likely locked "
               "out (user lockout after {max} failed logins in a row, its valid secret id included); ") + UNLOCK_PATH
LOGIN_403_HINT = ("a 403 on the AppRole login: CIDR bounds (secret_id_bound_cidrs/token_bound_cidrs), the wrong "
                  "namespace, or a user lockout after earlier failed logins; for a lockout, ") + UNLOCK_PATH
INSECURE = "plain http:// is refused for {host}: the AppRole credentials would cross the network in clear"

# Refused logins in this process: ``(url, namespace, role id) -> consecutive refusals`` and the
# digests of refused secret ids, so no refused secret id is ever sent again (lockout, see above).
_FAILURES: Counter[tuple[str, str | None, str]] = Counter()
_REFUSED: set[tuple[str, str | None, str, str]] = set()


def forget_refusals() -> None:
    """Drop the record of refused logins (tests; a new process starts empty)."""
    _FAILURES.clear()
    _REFUSED.clear()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class LoginGuard:
    """The lockout rule for one AppRole identity: never resend a refused secret id, explain a 403."""

    def __init__(self, url: str, namespace: str | None, role_id: str, secret_id: str) -> None:
        self.key = (url, namespace, role_id)
        self.refused = (*self.key, _digest(secret_id))

    def before(self) -> None:
        """Raise instead of sending a login whose secret id was refused in this process."""
        if self.refused in _REFUSED:
            raise E.connection_failed(PROVIDER, NOT_RETRIED, hint=REFUSED_HINT.format(n=LOCKOUT_THRESHOLD))

    def failed(self, status: int, body: Any, secrets: list[str]) -> AptuiError:
        """The error for a login answered ``status`` (>= 400), with the lockout facts in the hint."""
        reason = vault_errors(body)
        extra: str | None = None
        if status == 400:
            _FAILURES[self.key] += 1
            _REFUSED.add(self.refused)
            extra = REFUSED_HINT.format(n=LOCKOUT_THRESHOLD)
        elif status == 403:
            failed = _FAILURES[self.key]
            extra = LOCKED_HINT.format(n=failed, max=LOCKOUT_THRESHOLD) if failed else LOGIN_403_HINT
        hint = "; ".join(p for p in (reason, extra) if p) or None
        return E.connection_failed(PROVIDER, E.http_status_message(status), secrets=secrets, hint=hint)

    def succeeded(self) -> None:
        _FAILURES.pop(self.key, None)


def split_path(path: str) -> tuple[str, str] | None:
    """Upstream's split: validation strips one trailing '/', the split itself does not."""
    stripped = path[:-1] if path.endswith("/") else path
    if len(stripped.split("/")) < 3:
        return None
    parts = path.split("/")
    return "/".join(parts[:-1]), parts[-1]


def vault_errors(body: Any) -> str | None:
    """The ``errors`` list of a Vault error body, joined (may be empty)."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        text = "; ".join(str(e) for e in body["errors"] if e)
        return text or None
    return None


def parse_mounts(body: Any) -> dict[str, dict[str, Any]]:
    """``sys/mounts`` → ``{"secret/": {"type": "kv", "options": {...}}}`` (top level or under ``data``)."""
    if not isinstance(body, dict):
        return {}
    source = body.get("data") if isinstance(body.get("data"), dict) else body
    return {k: v for k, v in source.items() if isinstance(k, str) and k.endswith("/") and isinstance(v, dict)}


def kv_version(info: dict[str, Any] | None) -> str | None:
    if not info or info.get("type") not in ("kv", "generic"):
        return None
    options = info.get("options") or {}
    return str(options.get("version") or "1")


def approle_config(config: dict[str, str]) -> tuple[str, str | None, str, str]:
    """A connection's ``url`` (no trailing slash), ``namespace`` (None when empty), role id, secret id."""
    url = config.get("url", "")
    return (url[:-1] if url.endswith("/") else url, config.get("namespace") or None,
            config.get("roleId", ""), config.get("secretId", ""))


class VaultProvider:
    provider_id = PROVIDER

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None, *,
                 connection_id: str | None = None) -> None:
        self.options = options or ProviderOptions()
        self.connection_id = connection_id
        self.url, self.namespace, self._role_id, self._secret_id = approle_config(config)
        self._secrets: list[str] = [self._role_id, self._secret_id]
        self._allow_http = flag(config, "allowHttp")
        self.net = NetRule.for_url(self.url, proxy=self.options.proxy, ca_bundle=config.get("caBundle") or None,
                                   verify=self.options.verify_tls)
        self._policy = RetryPolicy.from_options(self.options)
        self._client: Any = None
        self._lock = threading.Lock()
        self._login_lock = LoopLock()
        self._token: str | None = None
        self._deadline: float | None = None
        self._mounts: dict[str, dict[str, Any]] | None = None
        self._mounts_key: tuple[str | None, float] = (None, 0.0)
        self.calls: Counter[str] = Counter()
        self.logins = 0

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    # --- HTTP through hvac's adapter ---------------------------------------------------------------

    def _adapter(self) -> Any:
        """hvac's RawAdapter on an env-free session: no ambient token, client cert, CA, proxy or namespace."""
        with self._lock:
            if self._client is None:
                from hvac.adapters import RawAdapter

                session = self.net.requests_session()
                adapter = RawAdapter(base_uri=self.url, token=None, cert=None, verify=session.verify,
                                     timeout=self.options.timeout, proxies=session.proxies, session=session,
                                     namespace=self.namespace)
                adapter.token = None  # belt and braces: hvac puts adapter.token on every request
                self._client = adapter
            return self._client

    def _send(self, method: str, path: str, token: str | None,
              body: dict[str, Any] | None) -> tuple[int, Any, str | None]:
        """``(status, JSON body or None, Retry-After header)``."""
        adapter = self._adapter()
        headers = {"X-Vault-Token": token} if token else {}
        resp = adapter.request(method, path, headers=headers, raise_exception=False, json=body)
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = None
        return resp.status_code, data, resp.headers.get("Retry-After")

    async def _http(self, method: str, path: str, *, token: str | None, label: str,
                    body: dict[str, Any] | None = None) -> tuple[int, Any]:
        if plain_http(self.url) and not self._allow_http:
            from urllib.parse import urlsplit

            raise E.connection_failed(PROVIDER, INSECURE.format(host=urlsplit(self.url).hostname),
                                      hint="use https://; http:// is for 127.0.0.1, ::1 or localhost, or set "
                                           "allowHttp=true on a lab connection")

        async def once() -> tuple[int, Any, str | None]:
            self.calls[label] += 1
            return await with_timeout(asyncio.to_thread(self._send, method, path, token, body),
                                      2 * float(self.options.timeout) + 1)

        try:
            status, data, _ = await retry_async(once, self._policy,
                                                retry_on_result=lambda r: r[0] in RETRY_STATUSES or r[0] >= 500,
                                                server_delay=lambda r: retry_after_seconds(r[2]))
            return status, data
        except Exception as exc:
            import requests
            from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

            if isinstance(exc, InvalidURL | MissingSchema | InvalidSchema):
                raise E.connection_failed(PROVIDER, f"invalid Vault URL ({type(exc).__name__})",
                                          hint="use e.g. https://vault.example.com:8200") from None
            if isinstance(exc, requests.RequestException | OSError | TimeoutError):
                raise E.transport_failed(PROVIDER, exc, url=self.url, timeout=self.options.timeout) from None
            raise

    # --- token ---------------------------------------------------------------------------------

    def _expiring(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    async def _login(self) -> str:
        guard = LoginGuard(self.url, self.namespace, self._role_id, self._secret_id)
        guard.before()
        self.logins += 1
        status, body = await self._http("POST", "/v1/auth/approle/login", token=None, label="login",
                                        body={"role_id": self._role_id, "secret_id": self._secret_id})
        if status >= 400:
            raise guard.failed(status, body, self._secrets)
        guard.succeeded()
        auth = body.get("auth") if isinstance(body, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not token:
            raise E.connection_failed(PROVIDER, E.NO_TOKEN)
        lease = auth.get("lease_duration") or 0
        try:
            lease = float(lease)
        except (TypeError, ValueError):
            lease = 0.0
        self._token = str(token)
        self._secrets.append(self._token)
        self._deadline = time.monotonic() + max(lease - min(RENEW_MARGIN, lease * 0.1), 0.0) if lease > 0 else None
        self._mounts = None
        return self._token

    async def _ensure_token(self, *, force: bool = False, replace: str | None = None) -> str:
        async with self._login_lock.get():
            if not force and self._token and self._token != replace and not self._expiring():
                return self._token
            return await self._login()

    async def _authed(self, method: str, path: str, label: str) -> tuple[int, Any]:
        """A request with the current token; one re-login if Vault says the token itself is dead."""
        token = await self._ensure_token()
        status, body = await self._http(method, path, token=token, label=label)
        if status == 403:
            probe, _ = await self._http("GET", "/v1/auth/token/lookup-self", token=token, label="lookup-self")
            if probe == 403:
                token = await self._ensure_token(replace=token)
                status, body = await self._http(method, path, token=token, label=label)
        return status, body

    async def _ensure_mounts(self, *, force: bool = False) -> dict[str, dict[str, Any]]:
        key_token, at = self._mounts_key
        if (not force and self._mounts is not None and key_token == self._token
                and time.monotonic() - at < MOUNTS_TTL):
            return self._mounts
        status, body = await self._authed("GET", "/v1/sys/mounts", "sys/mounts")
        if status >= 400:
            raise E.connection_failed(PROVIDER, E.http_status_message(status), template=MOUNTS_DENIED,
                                      secrets=self._secrets, hint=vault_errors(body))
        self._mounts = parse_mounts(body)
        self._mounts_key = (self._token, time.monotonic())
        return self._mounts

    async def _mount_info(self, mount_path: str) -> tuple[str | None, dict[str, Any] | None]:
        """The mount holding ``mount_path``: from sys/mounts, else ``sys/internal/ui/mounts``."""
        probe = mount_path.strip("/") + "/"
        best = max((m for m in (self._mounts or {}) if probe.startswith(m)), key=len, default=None)
        if best is not None:
            return best, (self._mounts or {})[best]
        status, body = await self._authed("GET", f"/v1/sys/internal/ui/mounts/{mount_path.strip('/')}",
                                          "sys/internal/ui/mounts")
        data = body.get("data") if status == 200 and isinstance(body, dict) else None
        if isinstance(data, dict) and data.get("type"):
            return str(data.get("path") or ""), data
        return None, None

    # --- protocol ------------------------------------------------------------------------------

    async def check(self) -> None:
        """AppRole login then ``GET /v1/sys/mounts``, as Activepieces' ``checkConnection``."""
        await self._ensure_token(force=True)
        await self._ensure_mounts(force=True)

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        results: dict[str, FetchResult] = {}
        groups: dict[str, list[tuple[str, str]]] = {}
        for path in dict.fromkeys(paths):
            split = split_path(path)
            if split is None:
                results[path] = FetchResult(path, error=E.validation_failed(PATH_MESSAGE.format(path=path)))
                continue
            groups.setdefault(split[0], []).append((path, split[1]))
        if groups:
            await self._ensure_token()
            await self._ensure_mounts()
            sem = asyncio.Semaphore(CONCURRENCY)

            async def one(mount_path: str, refs: list[tuple[str, str]]) -> None:
                async with sem:
                    results.update(await self._read(mount_path, refs))

            await asyncio.gather(*(one(m, r) for m, r in groups.items()))
        return {p: results[p] for p in dict.fromkeys(paths)}

    async def aclose(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        self._token = None
        if client is not None:
            await asyncio.to_thread(client.close)

    # --- reading -------------------------------------------------------------------------------

    def _error(self, path: str, reason: str, *, hint: str | None = None,
               request: dict[str, Any] | None = None) -> FetchResult:
        return FetchResult(path, error=E.get_secret_failed(PROVIDER, path, reason, connection_id=self.connection_id,
                                                           secrets=self._secrets, hint=hint, request=request))

    async def _read(self, mount_path: str, refs: list[tuple[str, str]]) -> dict[str, FetchResult]:
        status, body = await self._authed("GET", f"/v1/{mount_path}", "read")
        if status >= 400:
            hint = await self._http_hint(mount_path, status, body)
            url = f"{self.url}/v1/{mount_path}"
            return {p: self._error(p, E.http_status_message(status), hint=hint, request={"url": url})
                    for p, _ in refs}
        upstream = body.get("data") if isinstance(body, dict) else None
        upstream = upstream.get("data") if isinstance(upstream, dict) else None
        out: dict[str, FetchResult] = {}
        version: str | None = "?"
        for path, key in refs:
            if isinstance(upstream, dict) and key in upstream and E.js_truthy(upstream[key]):
                text, notes = E.render_value(upstream[key])
                out[path] = FetchResult(path, value=Secret(text), notes=notes)
                continue
            if version == "?":
                version = kv_version((await self._mount_info(mount_path))[1])
            v1 = body.get("data") if isinstance(body, dict) else None
            if version == "1" and isinstance(v1, dict) and key in v1 and E.js_truthy(v1[key]):
                text, notes = E.render_value(v1[key])
                out[path] = FetchResult(path, value=Secret(text), notes=[V1_NOTE, *notes], upstream_ok=False)
                continue
            hint = "KV v1 mount: the field is missing or empty" if version == "1" else None
            out[path] = self._error(path, E.NOT_FOUND, hint=hint)
        return out

    async def _http_hint(self, mount_path: str, status: int, body: Any) -> str | None:
        """Why a read failed, in Vault's words plus what aptui knows (soft delete, missing /data/)."""
        parts = [vault_errors(body) or ""]
        data = body.get("data") if isinstance(body, dict) else None
        meta = data.get("metadata") if isinstance(data, dict) else None
        if status == 404 and isinstance(meta, dict):
            if meta.get("destroyed"):
                parts.append(f"version {meta.get('version')} is destroyed")
            elif meta.get("deletion_time"):
                parts.append(f"version {meta.get('version')} was deleted at {meta.get('deletion_time')}")
        elif status in (403, 404):  # a real Vault answers 403 here under a secret/data/* policy
            mount, info = await self._mount_info(mount_path)
            rest = mount_path.strip("/")[len(mount or ""):].lstrip("/") if mount else ""
            if kv_version(info) == "2" and not rest.startswith(("data/", "metadata/")) and rest != "data":
                parts.append(f"'{mount}' is a KV v2 mount: write the API path {mount}data/<secret>/<key>")
        text = "; ".join(p for p in parts if p)
        return text or None
