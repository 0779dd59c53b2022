"""Vault AppRole calls for rotation: login, token lookup, secret-id lookup, generate and destroy.

- ``POST /v1/auth/approle/login`` → token + ``auth.metadata.role_name``;
- ``GET /v1/auth/token/lookup-self`` → the token's creation/expiry and ``meta.role_name``;
- ``POST /v1/auth/approle/role/<role>/secret-id/lookup {"secret_id"}`` → ``creation_time``,
  ``expiration_time`` ("0001-01-01T00:00:00Z" = never), ``secret_id_accessor`` (Vault answers 204
  when the secret id is unknown);
- ``POST /v1/auth/approle/role/<role>/secret-id`` → a new ``secret_id`` and its accessor;
- ``POST /v1/auth/approle/role/<role>/secret-id-accessor/destroy {"secret_id_accessor"}``.

The secret-id endpoints need a policy on ``auth/approle/role/<role>/secret-id*`` that plain
Activepieces connections do not have: a 403 is reported as such (``denied``), never guessed around.
httpx (imported on first use), same timeout/retry/error conventions as ``aptui.providers.vault``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aptui.clock import parse_iso
from aptui.errors import AptuiError, Exit
from aptui.masking import Secret
from aptui.net import NetRule, plain_http
from aptui.providers import errors as E
from aptui.providers.base import ProviderOptions
from aptui.providers.fields import flag
from aptui.providers.retry import RetryPolicy, retry_async, with_timeout
from aptui.providers.vault import INSECURE, LoginGuard, approle_config

PROVIDER = "hashicorp"
CODE = "VAULT_REQUEST_FAILED"
NEVER = "0001-01-01T00:00:00Z"
RETRY_STATUSES = {412, 429}


class VaultCallError(AptuiError):
    """A Vault answer >= 400 for a rotation call (``status``, Vault's ``errors`` joined)."""

    def __init__(self, what: str, status: int, errors: str | None) -> None:
        self.status = status
        self.what = what
        text = E.http_status_message(status) + (f" ({errors})" if errors else "")
        hint = f"the AppRole's policy must allow {what}" if status == 403 else None
        super().__init__(CODE, f"{what}: {text}", exit_code=Exit.FAILED, hint=hint,
                         params={"provider": PROVIDER, "status": status})

    @property
    def denied(self) -> bool:
        return self.status == 403


@dataclass
class Login:
    token: Secret
    role_name: str | None
    accessor: str | None
    lease_duration: int


@dataclass
class SecretIdInfo:
    accessor: str | None
    created: datetime | None
    expires: datetime | None  # None: never
    ttl: int


def _time(value: Any) -> datetime | None:
    if not value or value == NEVER:
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


def _errors(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(" ".join(str(e).split()) for e in body["errors"] if e) or None
    return None


class VaultAppRole:
    """AppRole management calls against one connection's Vault (``url``, ``namespace``)."""

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None) -> None:
        self.options = options or ProviderOptions()
        self.url, self.namespace, self._role_id, self._secret_id = approle_config(config)
        self._secrets: list[str] = [self._role_id, self._secret_id]
        self._allow_http = flag(config, "allowHttp")
        self.net = NetRule.for_url(self.url, proxy=self.options.proxy, ca_bundle=config.get("caBundle") or None,
                                   verify=self.options.verify_tls)
        self._policy = RetryPolicy.from_options(self.options)
        self._http: Any = None
        self.calls: Counter[str] = Counter()

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    def remember(self, value: str) -> None:
        """A value to scrub from every message (a token, a new secret id)."""
        if value:
            self._secrets.append(value)

    async def _client(self) -> Any:
        if self._http is None:
            import httpx

            headers = {"X-Vault-Request": "true"}
            if self.namespace:
                headers["X-Vault-Namespace"] = self.namespace
            self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=float(self.options.timeout),
                                           **self.net.httpx_kwargs())
        return self._http

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def _request(self, method: str, path: str, *, label: str, token: Secret | None = None,
                       body: dict[str, Any] | None = None) -> tuple[int, Any]:
        import httpx

        if plain_http(self.url) and not self._allow_http:
            from urllib.parse import urlsplit

            raise E.connection_failed(PROVIDER, INSECURE.format(host=urlsplit(self.url).hostname),
                                      hint="use https://, or set allowHttp=true on a lab connection")
        http = await self._client()
        headers = {"X-Vault-Token": token.reveal()} if token else {}

        async def once() -> tuple[int, Any]:
            self.calls[label] += 1
            resp = await with_timeout(http.request(method, path, headers=headers, json=body),
                                      2 * float(self.options.timeout) + 1)
            try:
                data = resp.json() if resp.content else None
            except ValueError:
                data = None
            return resp.status_code, data

        try:
            return await retry_async(once, self._policy,
                                     retry_on_result=lambda r: r[0] in RETRY_STATUSES or r[0] >= 500)
        except (httpx.TransportError, OSError, TimeoutError) as exc:
            raise E.transport_failed(PROVIDER, exc, url=self.url, timeout=self.options.timeout) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            raise E.connection_failed(PROVIDER, "invalid Vault URL", secrets=self._secrets) from None

    def _check(self, what: str, status: int, body: Any) -> None:
        if status >= 400:
            raise VaultCallError(what, status, E.clean(_errors(body) or "", self._secrets) or None)

    # -- calls --------------------------------------------------------------------------------------
    async def login(self) -> Login:
        guard = LoginGuard(self.url, self.namespace, self._role_id, self._secret_id)
        guard.before()
        status, body = await self._request("POST", "/v1/auth/approle/login", label="login",
                                           body={"role_id": self._role_id, "secret_id": self._secret_id})
        if status >= 400:
            raise guard.failed(status, body, self._secrets)
        guard.succeeded()
        auth = body.get("auth") if isinstance(body, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not token:
            raise E.connection_failed(PROVIDER, E.NO_TOKEN)
        self.remember(str(token))
        meta = auth.get("metadata") or {}
        return Login(Secret(str(token)), meta.get("role_name"), auth.get("accessor"),
                     int(auth.get("lease_duration") or 0))

    async def lookup_self(self, token: Secret) -> dict[str, Any]:
        status, body = await self._request("GET", "/v1/auth/token/lookup-self", label="lookup-self", token=token)
        self._check("auth/token/lookup-self", status, body)
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def _role_path(self, role: str, action: str) -> str:
        return f"/v1/auth/approle/role/{quote(role, safe='')}/{action}"

    async def lookup_secret_id(self, token: Secret, role: str, secret_id: str | None = None) -> SecretIdInfo | None:
        """The connection's own secret id (or ``secret_id``); None when Vault does not know it."""
        status, body = await self._request("POST", self._role_path(role, "secret-id/lookup"), label="secret-id/lookup",
                                           token=token, body={"secret_id": secret_id or self._secret_id})
        if status == 204 or (status == 404 and not _errors(body)):
            return None
        self._check(f"auth/approle/role/{role}/secret-id/lookup", status, body)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return None
        return SecretIdInfo(data.get("secret_id_accessor"), _time(data.get("creation_time")),
                            _time(data.get("expiration_time")), int(data.get("secret_id_ttl") or 0))

    async def generate_secret_id(self, token: Secret, role: str, *,
                                 metadata: dict[str, str] | None = None) -> tuple[Secret, str | None]:
        """A new secret id for ``role``: ``(secret id, accessor)``."""
        body: dict[str, Any] = {}
        if metadata:
            import json

            body["metadata"] = json.dumps(metadata)
        status, resp = await self._request("POST", self._role_path(role, "secret-id"), label="secret-id",
                                           token=token, body=body)
        self._check(f"auth/approle/role/{role}/secret-id", status, resp)
        data = resp.get("data") if isinstance(resp, dict) else None
        sid = data.get("secret_id") if isinstance(data, dict) else None
        if not sid:
            raise AptuiError(CODE, f"auth/approle/role/{role}/secret-id: the answer carried no secret id",
                             params={"provider": PROVIDER})
        self.remember(str(sid))
        return Secret(str(sid)), data.get("secret_id_accessor")

    async def destroy_accessor(self, token: Secret, role: str, accessor: str) -> None:
        status, body = await self._request("POST", self._role_path(role, "secret-id-accessor/destroy"),
                                           label="secret-id-accessor/destroy", token=token,
                                           body={"secret_id_accessor": accessor})
        self._check(f"auth/approle/role/{role}/secret-id-accessor/destroy", status, body)
