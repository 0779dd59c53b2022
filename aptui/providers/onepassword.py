"""1Password (providerId ``onepassword``) behind a small backend interface.

Upstream (``onepassword-provider.ts``): check = ``createClient`` + ``vaults.list()``; fetch = a
fresh client and ``secrets.resolve(path)`` per uncached reference; SDK errors become
GET_SECRET_FAILED ``"[<path>] <sdk message>"`` (also when authenticating fails during a fetch).

aptui keeps one authenticated session per connection (re-authenticating once if a reused session
fails), resolves references in bulk with ``resolve_all`` and asks ``resolve`` again only for the
references that failed, to report the SDK's own message. The real backend wraps
``onepassword-sdk`` (imported lazily); tests use a fake implementing ``OnePasswordBackend``.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from aptui import __version__
from aptui.masking import Secret
from aptui.providers import errors as E
from aptui.providers.base import FetchResult, ProviderOptions
from aptui.providers.retry import LoopLock, RetryPolicy, retry_async, with_timeout

PROVIDER = "onepassword"
INTEGRATION_NAME = "aptui"
PATH_MESSAGE = "Wrong secret reference format. Expected: op://vault/item/field"
# JS /^op:\/\/[^/]+\/[^/]+\/.+$/ ('.' stops at JS line terminators, '$' is the end of input).
OP_REFERENCE_PATTERN = re.compile(r"\Aop://[^/]+/[^/]+/[^\n\r\u2028\u2029]+\Z")
SDK_REJECTS_HINT = ("rejected offline by the 1Password SDK (Secrets.validate_secret_reference); "
                    "Activepieces' resolve() fails on the same parse error")
RESOLVE_ALL_CHUNK = 50
CONCURRENCY = 4


# --- the interface ----------------------------------------------------------------------------

class OnePasswordError(Exception):
    """A backend failure, classified: ``auth``, ``rate_limit``, ``network`` or ``other``."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class Resolved:
    """One reference's outcome from ``resolve_all``: a value, or an error type and message."""

    value: str | None = None
    error_type: str | None = None
    error_message: str | None = None


class OnePasswordSession(Protocol):
    async def list_vaults(self) -> list[str]:
        """Vault titles (the connection check)."""

    async def resolve_all(self, refs: list[str]) -> dict[str, Resolved]:
        """Resolve many references in one round trip."""

    async def resolve(self, ref: str) -> str:
        """Resolve one reference; raises ``OnePasswordError`` with the SDK's message."""

    async def close(self) -> None:
        """Release the session."""


class OnePasswordBackend(Protocol):
    async def authenticate(self, token: str) -> OnePasswordSession:
        """An authenticated session; raises ``OnePasswordError`` (kind ``auth`` for a bad token)."""

    def validate(self, ref: str) -> str | None:
        """Offline syntax check: ``None`` if valid, else the SDK's message."""


# --- the real backend (onepassword-sdk) -------------------------------------------------------

_NETWORK_HINTS = ("error sending request", "timed out", "timeout", "dns", "connection refused",
                  "failed to connect", "network", "connection reset")
_AUTH_HINTS = ("invalid service account token", "unauthorized", "authentication", "invalid token",
               "token", "expired")


def classify(exc: BaseException) -> OnePasswordError:
    """An SDK exception as a ``OnePasswordError`` (the SDK raises plain ``Exception`` for most)."""
    if isinstance(exc, OnePasswordError):
        return exc
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    low = str(message).lower()
    if type(exc).__name__ == "RateLimitExceededException" or "rate limit" in low:
        kind = "rate_limit"
    elif any(h in low for h in _NETWORK_HINTS):
        kind = "network"
    elif any(h in low for h in _AUTH_HINTS):
        kind = "auth"
    else:
        kind = "other"
    return OnePasswordError(str(message), kind)


class SdkSession:
    def __init__(self, client: object) -> None:
        self._client = client

    async def list_vaults(self) -> list[str]:
        try:
            vaults = await self._client.vaults.list()  # type: ignore[attr-defined]
        except Exception as exc:
            raise classify(exc) from None
        return [str(getattr(v, "title", "") or getattr(v, "id", "")) for v in vaults]

    async def resolve_all(self, refs: list[str]) -> dict[str, Resolved]:
        try:
            resp = await self._client.secrets.resolve_all(refs)  # type: ignore[attr-defined]
        except Exception as exc:
            raise classify(exc) from None
        out: dict[str, Resolved] = {}
        for ref, item in (resp.individual_responses or {}).items():
            if item.content is not None:
                out[ref] = Resolved(value=item.content.secret)
            else:
                err = item.error
                kind = getattr(getattr(err, "type", None), "value", None) or str(getattr(err, "type", "other"))
                out[ref] = Resolved(error_type=kind, error_message=getattr(err, "message", None))
        return out

    async def resolve(self, ref: str) -> str:
        try:
            return await self._client.secrets.resolve(ref)  # type: ignore[attr-defined]
        except Exception as exc:
            raise classify(exc) from None

    async def close(self) -> None:
        inner = getattr(getattr(self._client, "secrets", None), "inner_client", None)
        try:
            if inner is not None:
                inner.core.release_client(inner.client_id)
        except Exception:  # releasing is best effort; the SDK frees clients at exit anyway
            pass


class SdkBackend:
    """``onepassword-sdk``: ``Client.authenticate(auth=..., integration_name="aptui", ...)``."""

    async def authenticate(self, token: str) -> OnePasswordSession:
        from onepassword.client import Client

        try:
            client = await Client.authenticate(auth=token, integration_name=INTEGRATION_NAME,
                                               integration_version=f"v{__version__}")
        except Exception as exc:
            raise classify(exc) from None
        return SdkSession(client)

    def validate(self, ref: str) -> str | None:
        try:
            from onepassword.secrets import Secrets

            Secrets.validate_secret_reference(ref)
        except ImportError:
            return None
        except Exception as exc:
            return str(getattr(exc, "message", None) or exc)
        return None


# --- the provider -----------------------------------------------------------------------------

class OnePasswordProvider:
    provider_id = PROVIDER

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None, *,
                 connection_id: str | None = None, backend: OnePasswordBackend | None = None) -> None:
        self.options = options or ProviderOptions()
        self.connection_id = connection_id
        self._token = config.get("serviceAccountToken", "")
        self._secrets = [self._token]
        self._backend: OnePasswordBackend = backend or SdkBackend()
        self._policy = RetryPolicy.from_options(self.options)
        self._session: OnePasswordSession | None = None
        self._auth_lock = LoopLock()
        self.calls: Counter[str] = Counter()
        self.logins = 0

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    async def _run(self, label: str, make) -> object:
        async def once():
            self.calls[label] += 1
            return await with_timeout(make(), float(self.options.timeout))

        try:
            return await retry_async(once, self._policy,
                                     retry_on_error=lambda e: isinstance(e, OnePasswordError)
                                     and e.kind == "rate_limit")
        except TimeoutError as exc:
            raise E.transport_failed(PROVIDER, exc, url="https://my.1password.com",
                                     timeout=self.options.timeout) from None
        except OnePasswordError as exc:
            if exc.kind == "network":
                raise E.transport_failed(PROVIDER, exc, url="https://my.1password.com",
                                         timeout=self.options.timeout) from None
            raise

    async def _ensure_session(self, *, replace: OnePasswordSession | None = None) -> OnePasswordSession:
        async with self._auth_lock.get():
            if self._session is not None and self._session is not replace:
                return self._session
            if self._session is not None:
                await self._session.close()
                self._session = None
            self.logins += 1
            self._session = await self._run("authenticate", lambda: self._backend.authenticate(self._token))
            return self._session

    async def check(self) -> None:
        """Authenticate (or reuse the session) and list vaults, as Activepieces' ``checkConnection``."""
        try:
            reused = self._session is not None
            session = await self._ensure_session()
            try:
                await self._run("vaults.list", session.list_vaults)
            except OnePasswordError:
                if not reused:
                    raise
                session = await self._ensure_session(replace=session)
                await self._run("vaults.list", session.list_vaults)
        except OnePasswordError as exc:
            raise E.connection_failed(PROVIDER, exc.message or "Unknown error", secrets=self._secrets) from None

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        unique = list(dict.fromkeys(paths))
        results: dict[str, FetchResult] = {}
        todo: list[str] = []
        for ref in unique:
            if not OP_REFERENCE_PATTERN.match(ref):
                results[ref] = FetchResult(ref, error=E.validation_failed(PATH_MESSAGE))
                continue
            sdk_says = self._backend.validate(ref)
            if sdk_says:  # upstream's resolve() fails on the same parse error, after a round trip
                results[ref] = self._error(ref, sdk_says, hint=SDK_REJECTS_HINT)
                continue
            todo.append(ref)
        if todo:
            try:
                session = await self._ensure_session()
            except OnePasswordError as exc:  # upstream authenticates inside its try: a per-path error
                return {p: results.get(p) or self._error(p, exc.message) for p in unique}
            resolved = await self._resolve(session, todo)
            failed = [r for r in todo if resolved.get(r) is None or resolved[r].value is None]
            for ref in todo:
                if ref not in failed:
                    results[ref] = FetchResult(ref, value=Secret(resolved[ref].value or ""))
            sem = asyncio.Semaphore(CONCURRENCY)

            async def exact(ref: str) -> None:
                async with sem:
                    results[ref] = await self._resolve_one(ref, resolved.get(ref))

            await asyncio.gather(*(exact(r) for r in failed))
        return {p: results[p] for p in unique}

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _resolve(self, session: OnePasswordSession, refs: list[str]) -> dict[str, Resolved]:
        out: dict[str, Resolved] = {}
        for i in range(0, len(refs), RESOLVE_ALL_CHUNK):
            chunk = refs[i:i + RESOLVE_ALL_CHUNK]
            try:
                out.update(await self._run("secrets.resolve_all", lambda c=chunk: session.resolve_all(c)))
            except OnePasswordError:
                continue  # every reference of the chunk is asked again one by one
        return out

    async def _resolve_one(self, ref: str, bulk: Resolved | None) -> FetchResult:
        """The exact SDK message for a reference ``resolve_all`` could not resolve."""
        session = self._session
        if session is None:
            return self._error(ref, (bulk and bulk.error_message) or "Unknown error")
        try:
            value = await self._run("secrets.resolve", lambda: session.resolve(ref))
        except OnePasswordError as exc:
            return self._error(ref, exc.message or (bulk and bulk.error_message) or "Unknown error")
        return FetchResult(ref, value=Secret(str(value)))

    def _error(self, path: str, reason: str, *, hint: str | None = None) -> FetchResult:
        return FetchResult(path, error=E.get_secret_failed(PROVIDER, path, reason, connection_id=self.connection_id,
                                                           secrets=self._secrets, hint=hint))
