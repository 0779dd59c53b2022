"""AWS calls for rotation: IAM access keys, STS identity, Secrets Manager metadata (boto3 in threads).

Used by the rotation tracker and assisted rotation, with a connection's own credentials:
- ``sts:GetCallerIdentity`` tells an IAM user's key from role/temporary credentials;
- ``iam:ListAccessKeys`` / ``CreateAccessKey`` / ``UpdateAccessKey`` / ``DeleteAccessKey`` without
  ``UserName`` act on the calling user; ``GetAccessKeyLastUsed``;
- ``secretsmanager:DescribeSecret`` / ``ListSecretVersionIds`` for the age of referenced secrets.

Same conventions as ``aptui.providers.aws``: boto3 is imported on first use, every call runs in a
thread with a timeout, throttling and 5xx are retried with backoff, transport failures are
``SECRET_MANAGER_CONNECTION_FAILED`` (exit 4), and every message is scrubbed of the credentials.
The endpoint is the connection's own ``endpoint`` override (or ``options.extra["endpoint_url"]``),
never the environment or ``~/.aws/config``; IAM is global and signed for us-east-1.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aptui.errors import AptuiError, Exit
from aptui.masking import Secret, mask
from aptui.providers import errors as E
from aptui.providers.base import ProviderOptions
from aptui.providers.retry import RetryPolicy, retry_async, with_timeout

PROVIDER = "aws"
CODE = "AWS_REQUEST_FAILED"
ACTIVE, INACTIVE = "Active", "Inactive"
_RETRYABLE = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
              "ServiceUnavailable", "InternalFailure", "InternalServiceError"}
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_XML_CODE = re.compile(r"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_OPS = {"get_caller_identity": "sts:GetCallerIdentity", "list_access_keys": "iam:ListAccessKeys",
        "create_access_key": "iam:CreateAccessKey", "update_access_key": "iam:UpdateAccessKey",
        "delete_access_key": "iam:DeleteAccessKey", "get_access_key_last_used": "iam:GetAccessKeyLastUsed",
        "describe_secret": "secretsmanager:DescribeSecret",
        "list_secret_version_ids": "secretsmanager:ListSecretVersionIds"}


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _botocore_session() -> Any:
    """The process's botocore session (credentials are always passed per client, never taken from it)."""
    global _SESSION
    if _SESSION is None:
        from aptui.providers.aws import hermetic_botocore_session

        _SESSION = hermetic_botocore_session()
    return _SESSION


class AwsCallError(AptuiError):
    """A refused AWS call; ``aws_code`` is AWS's error code (``AccessDenied``, ``LimitExceeded``...)."""

    def __init__(self, operation: str, aws_code: str, message: str, status: int | None) -> None:
        self.operation = operation
        self.aws_code = aws_code
        self.status = status
        hint = (f"the connection's IAM principal needs {operation}" if aws_code in DENIED else None)
        super().__init__(CODE, f"{operation}: {aws_code}: {message}", exit_code=Exit.FAILED, hint=hint,
                         params={"provider": PROVIDER, "operation": operation, "awsCode": aws_code})

    @property
    def denied(self) -> bool:
        return self.aws_code in DENIED


@dataclass(frozen=True)
class AccessKey:
    """One access key of the calling user. ``key_id`` is shown masked only."""

    key_id: str
    status: str
    created: datetime | None
    user: str | None = None

    @property
    def masked(self) -> str:
        return mask(self.key_id)


class AwsIam:
    """IAM/STS/Secrets Manager metadata calls with one connection's credentials."""

    def __init__(self, config: dict[str, str], options: ProviderOptions | None = None) -> None:
        self.options = options or ProviderOptions()
        self._access_key = config.get("accessKeyId", "")
        self._secret_key = config.get("secretAccessKey", "")
        self._region = config.get("region", "") or "us-east-1"
        self._endpoint = (self.options.extra or {}).get("endpoint_url") or config.get("endpoint") or None
        self._secrets = [self._access_key, self._secret_key]
        self._policy = RetryPolicy.from_options(self.options)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    # -- plumbing -----------------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                from aptui.providers.aws import aws_rule, client_config

                rule = aws_rule(self._region, self._endpoint, self.options, service)
                cfg = client_config(float(self.options.timeout), rule, "aptui-rotation")
                with _SESSION_LOCK:  # one botocore session: service models are parsed once per process
                    client = _botocore_session().create_client(
                        service, region_name="us-east-1" if service == "iam" else self._region,
                        aws_access_key_id=self._access_key, aws_secret_access_key=self._secret_key,
                        endpoint_url=self._endpoint, config=cfg, verify=rule.botocore_kwargs()["verify"])
                self._clients[service] = client
            return client

    def _invoke(self, service: str, op: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client(service), op)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {}) or {}
            code = str(err.get("Code", "") or "")
            message = str(err.get("Message", "") or "")
            status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if "<Code>" in message:  # moto answers auth failures with an XML body
                m_code, m_msg = _XML_CODE.search(message), _XML_MESSAGE.search(message)
                code = m_code.group(1) if m_code else code
                message = m_msg.group(1) if m_msg else message
            raise AwsCallError(_OPS.get(op, op), code or "Error", E.clean(message or code, self._secrets),
                               status) from None

    async def _call(self, service: str, op: str, **kwargs: Any) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            self.calls[op] += 1
            return await with_timeout(asyncio.to_thread(self._invoke, service, op, kwargs),
                                      2 * float(self.options.timeout) + 1)

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, AwsCallError) and (exc.aws_code in _RETRYABLE or (exc.status or 0) >= 500)

        try:
            return await retry_async(once, self._policy, retry_on_error=retryable)
        except AwsCallError:
            raise
        except Exception as exc:
            from botocore.exceptions import BotoCoreError, HTTPClientError
            from botocore.exceptions import ConnectionError as BotoConnectionError

            if isinstance(exc, BotoConnectionError | HTTPClientError | TimeoutError | OSError):
                raise E.transport_failed(PROVIDER, exc, url=self._endpoint or f"https://{service}.amazonaws.com",
                                         timeout=self.options.timeout) from None
            if isinstance(exc, BotoCoreError):
                raise AwsCallError(_OPS.get(op, op), type(exc).__name__, E.clean(str(exc), self._secrets),
                                   None) from None
            raise

    async def aclose(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await asyncio.to_thread(client.close)

    # -- identity and keys ----------------------------------------------------------------------------
    async def caller_identity(self) -> dict[str, str]:
        """``{"Arn", "Account", "UserId"}`` of the credentials."""
        resp = await self._call("sts", "get_caller_identity")
        return {k: str(resp.get(k) or "") for k in ("Arn", "Account", "UserId")}

    async def list_access_keys(self) -> list[AccessKey]:
        """The calling user's keys (fails for role or temporary credentials)."""
        keys: list[AccessKey] = []
        marker: str | None = None
        while True:
            resp = await self._call("iam", "list_access_keys", **({"Marker": marker} if marker else {}))
            for meta in resp.get("AccessKeyMetadata") or []:
                keys.append(AccessKey(str(meta.get("AccessKeyId")), str(meta.get("Status")), meta.get("CreateDate"),
                                      meta.get("UserName")))
            marker = resp.get("Marker") if resp.get("IsTruncated") else None
            if not marker:
                return keys

    async def create_access_key(self) -> tuple[str, Secret, datetime | None]:
        """A new key for the calling user: ``(key id, secret access key, created)``."""
        resp = await self._call("iam", "create_access_key")
        key = resp.get("AccessKey") or {}
        return str(key.get("AccessKeyId")), Secret(str(key.get("SecretAccessKey"))), key.get("CreateDate")

    async def set_key_status(self, key_id: str, status: str) -> None:
        await self._call("iam", "update_access_key", AccessKeyId=key_id, Status=status)

    async def delete_access_key(self, key_id: str) -> None:
        await self._call("iam", "delete_access_key", AccessKeyId=key_id)

    async def key_last_used(self, key_id: str) -> datetime | None:
        resp = await self._call("iam", "get_access_key_last_used", AccessKeyId=key_id)
        return (resp.get("AccessKeyLastUsed") or {}).get("LastUsedDate")

    # -- Secrets Manager metadata ---------------------------------------------------------------------
    async def describe_secret(self, name: str) -> dict[str, Any]:
        return await self._call("secretsmanager", "describe_secret", SecretId=name)

    async def current_version_created(self, name: str) -> datetime | None:
        """When the AWSCURRENT value was written (``ListSecretVersionIds``)."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"SecretId": name, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            resp = await self._call("secretsmanager", "list_secret_version_ids", **kwargs)
            for version in resp.get("Versions") or []:
                if "AWSCURRENT" in (version.get("VersionStages") or []):
                    return version.get("CreatedDate")
            token = resp.get("NextToken")
            if not token:
                return None
