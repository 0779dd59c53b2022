"""AWS Secrets Manager (providerId ``aws``) with boto3 in worker threads.

Upstream (``aws-provider.ts``): check = ``ListSecrets {MaxResults: 1}``; fetch = one
``GetSecretValue`` per reference, then JSON parse, plain-object check and a *string* value at
``secretJsonKey``. aptui gives the same verdicts and messages but fetches each distinct secret
name once, through ``BatchGetSecretValue`` (≤ 20 ids a call) when two or more names are asked
for, falling back to ``GetSecretValue`` per name when the batch call is denied or unsupported.

Credentials, region and an endpoint override (the aptui-only ``endpoint`` field: moto, LocalStack,
a VPC endpoint; shown as "not AWS") come only from the connection config. botocore's ambient
sources are switched off: no ``AWS_ENDPOINT_URL*``, no ``~/.aws/config``/``credentials``, no
``AWS_PROFILE``, no ``AWS_CA_BUNDLE`` or ``HTTPS_PROXY`` (proxy and trust follow ``aptui.net``).
``api_calls`` counts every AWS request made.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aptui.masking import Secret
from aptui.net import NetRule
from aptui.providers import errors as E
from aptui.providers.base import FetchResult, ProviderOptions
from aptui.providers.retry import RetryPolicy, retry_async, with_timeout

PROVIDER = "aws"
BATCH_LIMIT = 20
EMPTY_OR_BINARY = "Secret value is empty or binary (binary secrets are not supported)"
UNEXPECTED = "Unexpected secret response from AWS"
PATH_MESSAGE = "Wrong key format. Should be secretName:secretJsonKey, got {path}"
CONCURRENCY = 4
NOT_AWS_CODE = "InvalidResponse"

_RETRYABLE_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
                    "InternalServiceError", "InternalFailure", "ServiceUnavailable"}
_CREDENTIAL_CODES = {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
                     "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
                     "MissingAuthenticationToken", "ExpiredToken"}
_BATCH_UNAVAILABLE = {"AccessDeniedException", "AccessDenied", "UnknownOperationException",
                      "InvalidAction", "NotImplemented", "UnsupportedOperation"}
# moto answers auth failures of this JSON service with an XML body botocore cannot parse.
_XML_CODE = re.compile(r"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def key_message(key: str) -> str:
    return f"Secret value for key {key} not found"


def evaluate(secret_string: str | None, key: str) -> tuple[str | None, str | None]:
    """Upstream's checks on one SecretString: ``(value, None)`` or ``(None, reason)``."""
    if not secret_string:
        return None, EMPTY_OR_BINARY
    try:
        parsed = E.js_json_parse(secret_string)
    except E.JsJsonError as exc:
        return None, str(exc)
    if not isinstance(parsed, dict):
        return None, UNEXPECTED
    value = parsed.get(key)
    if not isinstance(value, str):
        return None, key_message(key)
    return value, None


def check_answer(response_dict: dict[str, Any], **_: Any) -> None:
    """botocore hook: a successful answer must be complete JSON.

    botocore would parse a cut-short body or an HTML page (a proxy, a sign-in portal) into an empty
    result: ``ListSecrets`` would "pass" and ``GetSecretValue`` would read as an empty secret.
    """
    status = int(response_dict.get("status_code") or 0)
    body = response_dict.get("body") or b""
    if status >= 300 or not isinstance(body, bytes | bytearray) or not body:
        return
    headers = response_dict.get("headers") or {}
    try:
        expected = int(headers.get("content-length") or 0)
    except ValueError:
        expected = 0
    if expected > len(body):
        raise ConnectionError(f"incomplete answer: {len(body)} of {expected} bytes")
    try:
        json.loads(body)
    except ValueError:
        ctype = headers.get("content-type") or "no content type"
        raise _AwsCallError(NOT_AWS_CODE, f"the endpoint did not answer AWS JSON (HTTP {status}, {ctype})",
                            status) from None


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def boto_client(service: str, access_key: str, secret_key: str, region: str, config: Any,
                endpoint_url: str | None, verify: bool | str = True) -> Any:
    """A boto3 client with explicit credentials, built from one shared session.

    Creating a boto3 Session loads botocore's data files (100–160 ms); sharing one and passing
    the connection's credentials to ``client()`` makes every later client cost ~3 ms.
    Client creation is serialised: boto3 sessions are not thread-safe for it.
    """
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import boto3

            _SESSION = boto3.session.Session(botocore_session=hermetic_botocore_session())
        return _SESSION.client(service, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                               region_name=region, config=config, endpoint_url=endpoint_url or None,
                               verify=verify)


def hermetic_botocore_session() -> Any:
    """A botocore session that reads no environment variable, profile, config or credentials file."""
    import botocore.session
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES as DEFAULTS  # (sic)

    session_vars = {name: (None, None, default, conv) for name, (_, _, default, conv) in DEFAULTS.items()}
    session_vars["config_file"] = (None, None, os.devnull, None)
    session_vars["credentials_file"] = (None, None, os.devnull, None)
    return botocore.session.Session(session_vars=session_vars)


def client_config(timeout: float, rule: NetRule, agent: str) -> Any:
    """botocore ``Config``: one attempt, timeouts, the proxy rule, configured endpoints ignored."""
    from botocore.config import Config

    return Config(connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1},
                  user_agent_extra=agent, proxies=rule.botocore_kwargs()["proxies"],
                  ignore_configured_endpoint_urls=True)


def aws_rule(region: str, endpoint: str | None, options: ProviderOptions, service: str = "secretsmanager") -> NetRule:
    url = endpoint or f"https://{service}.{region or 'us-east-1'}.amazonaws.com"
    return NetRule.for_url(url, proxy=options.proxy, verify=options.verify_tls)


@dataclass
class _Outcome:
    """What AWS said about one secret name."""

    secret_string: str | None = None
    error: str | None = None
    code: str | None = None


class _AwsCallError(Exception):
    def __init__(self, code: str, message: str, status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class AwsProvider:
    provider_id = PROVIDER

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None, *,
                 connection_id: str | None = None) -> None:
        self.options = options or ProviderOptions()
        self.connection_id = connection_id
        self._access_key = config.get("accessKeyId", "")
        self._secret_key = config.get("secretAccessKey", "")
        self._region = config.get("region", "")
        self._endpoint = (self.options.extra or {}).get("endpoint_url") or config.get("endpoint") or None
        self.net = aws_rule(self._region, self._endpoint, self.options)
        self._secrets = [self._access_key, self._secret_key]
        self._policy = RetryPolicy.from_options(self.options)
        self._client: Any = None
        self._lock = threading.Lock()
        self._batch_ok = True
        self.calls: Counter[str] = Counter()

    @property
    def api_calls(self) -> int:
        """Number of AWS API requests made (every attempt counts)."""
        return sum(self.calls.values())

    # --- plumbing -------------------------------------------------------------------------------

    def _boto_client(self) -> Any:
        with self._lock:
            if self._client is None:
                cfg = client_config(float(self.options.timeout), self.net, "aptui")
                self._client = boto_client("secretsmanager", self._access_key, self._secret_key, self._region,
                                           cfg, self._endpoint, self.net.botocore_kwargs()["verify"])
                self._client.meta.events.register("before-parse.secrets-manager", check_answer)
            return self._client

    def endpoint(self) -> str | None:
        client = self._client
        return client.meta.endpoint_url if client is not None else self._endpoint

    def _invoke(self, op: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        client = self._boto_client()
        try:
            resp = getattr(client, op)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {}) or {}
            code = str(err.get("Code", "") or "")
            message = str(err.get("Message", "") or "")
            status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if "<Code>" in message:  # moto's XML body for auth failures
                m_code, m_msg = _XML_CODE.search(message), _XML_MESSAGE.search(message)
                code = m_code.group(1) if m_code else code
                message = m_msg.group(1) if m_msg else message
            raise _AwsCallError(code, message or code or "Unknown error", status) from None
        return resp

    def _is_transport(self, exc: BaseException) -> bool:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        return isinstance(exc, BotoConnectionError | HTTPClientError | TimeoutError | OSError)

    async def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """One AWS operation, retried on throttling/5xx; transport failures raise CONNECTION_FAILED (4)."""

        async def once() -> dict[str, Any]:
            self.calls[op] += 1
            return await with_timeout(asyncio.to_thread(self._invoke, op, kwargs),
                                      2 * float(self.options.timeout) + 1)

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, _AwsCallError) and (
                exc.code in _RETRYABLE_CODES or (exc.status or 0) >= 500)

        try:
            # Build the client first (botocore loads its models: CPU, not network), so the per-call
            # guard below only measures the request and the error names the endpoint really used.
            await asyncio.to_thread(self._boto_client)
            return await retry_async(once, self._policy, retry_on_error=retryable)
        except _AwsCallError:
            raise
        except Exception as exc:
            from botocore.exceptions import BotoCoreError

            if self._is_transport(exc):
                raise E.transport_failed(PROVIDER, exc, url=self.endpoint() or f"https://secretsmanager."
                                         f"{self._region}.amazonaws.com", timeout=self.options.timeout) from None
            if isinstance(exc, BotoCoreError):  # bad region, profile, parameter validation
                raise _AwsCallError(type(exc).__name__, E.clean(str(exc), self._secrets), None) from None
            raise

    # --- protocol -------------------------------------------------------------------------------

    async def check(self) -> None:
        """``ListSecrets MaxResults=1``, as Activepieces' ``checkConnection``."""
        try:
            answer = await self._call("list_secrets", MaxResults=1)
        except _AwsCallError as exc:
            raise E.connection_failed(PROVIDER, exc.message, secrets=self._secrets) from None
        if not isinstance(answer.get("SecretList"), list):
            raise E.connection_failed(PROVIDER, "ListSecrets answered without a SecretList",
                                      hint=f"{E.where(self.endpoint())} is not Secrets Manager (a proxy, a portal or "
                                           "another service?)")

    async def fetch_many(self, paths: list[str]) -> dict[str, FetchResult]:
        results: dict[str, FetchResult] = {}
        by_name: dict[str, list[tuple[str, str]]] = {}
        for path in dict.fromkeys(paths):
            i = path.find(":")
            if i == -1:
                results[path] = FetchResult(path, error=E.validation_failed(PATH_MESSAGE.format(path=path)))
                continue
            by_name.setdefault(path[:i], []).append((path, path[i + 1:]))

        outcomes = await self._fetch_names(list(by_name))
        for name, refs in by_name.items():
            outcome = outcomes[name]
            for path, key in refs:
                results[path] = self._result(path, key, outcome)
        return {p: results[p] for p in dict.fromkeys(paths)}

    async def aclose(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # --- fetching -------------------------------------------------------------------------------

    def _result(self, path: str, key: str, outcome: _Outcome) -> FetchResult:
        if outcome.error is not None:
            reason = outcome.error
        else:
            value, reason = evaluate(outcome.secret_string, key)
            if value is not None:
                return FetchResult(path, value=Secret(value))
        return FetchResult(path, error=E.get_secret_failed(PROVIDER, path, reason or "Unknown error",
                                                           connection_id=self.connection_id,
                                                           secrets=self._secrets))

    async def _fetch_names(self, names: list[str]) -> dict[str, _Outcome]:
        outcomes: dict[str, _Outcome] = {}
        sem = asyncio.Semaphore(CONCURRENCY)
        batchable = [n for n in names if n]
        singles = [n for n in names if not n]
        if self._batch_ok and len(batchable) >= 2:
            chunks = [batchable[i:i + BATCH_LIMIT] for i in range(0, len(batchable), BATCH_LIMIT)]

            async def run_chunk(chunk: list[str]) -> None:
                async with sem:
                    leftover = await self._batch(chunk, outcomes)
                singles.extend(leftover)

            await asyncio.gather(*(run_chunk(c) for c in chunks))
        else:
            singles.extend(batchable)

        async def run_single(name: str) -> None:
            async with sem:
                outcomes[name] = await self._get_one(name)

        await asyncio.gather(*(run_single(n) for n in singles))
        return outcomes

    async def _get_one(self, name: str) -> _Outcome:
        try:
            resp = await self._call("get_secret_value", SecretId=name)
        except _AwsCallError as exc:
            return _Outcome(error=exc.message, code=exc.code)
        return _Outcome(secret_string=resp.get("SecretString"))

    async def _batch(self, chunk: list[str], outcomes: dict[str, _Outcome]) -> list[str]:
        """Fill ``outcomes`` for one ≤20-name chunk; return the names left for ``GetSecretValue``."""
        wanted = set(chunk)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"SecretIdList": chunk}
            if token:
                kwargs["NextToken"] = token
            try:
                resp = await self._call("batch_get_secret_value", **kwargs)
            except _AwsCallError as exc:
                if exc.code in _CREDENTIAL_CODES:
                    for name in chunk:
                        outcomes.setdefault(name, _Outcome(error=exc.message, code=exc.code))
                    return []
                # Denied (needs secretsmanager:BatchGetSecretValue), unsupported or refused: per-name
                # reads, which attribute every error to its own reference. Remember a denial.
                if exc.code in _BATCH_UNAVAILABLE or exc.status in (403, 404, 501):
                    self._batch_ok = False
                return [n for n in chunk if n not in outcomes]
            for item in resp.get("SecretValues") or []:
                name = item.get("Name")
                hit = name if name in wanted else item.get("ARN") if item.get("ARN") in wanted else None
                if hit is not None:
                    outcomes[hit] = _Outcome(secret_string=item.get("SecretString"))
            for err in resp.get("Errors") or []:
                sid = err.get("SecretId")
                if sid in wanted and sid not in outcomes:
                    outcomes[sid] = _Outcome(error=str(err.get("Message") or err.get("ErrorCode") or
                                                       "Unknown error"), code=err.get("ErrorCode"))
            token = resp.get("NextToken")
            if not token:
                break
        return [n for n in chunk if n not in outcomes]

