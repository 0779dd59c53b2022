"""AWS through moto in server mode, started by the tests on 127.0.0.1 (ephemeral port).

- ``moto_server`` (session): ``python -m moto.server -H 127.0.0.1 -p 0`` as a subprocess; killed at
  session end.
- ``moto_aws`` (function): resets moto and yields a ``MotoAws`` with the endpoint, an aptui
  connection config carrying the endpoint override (``config()``: the stored ``endpoint`` field,
  as an operator would save it) and helpers (``client()``, ``create_secret()``, ``iam_user()``,
  ``enforce_auth()``). The ambient AWS environment points somewhere dead (``AWS_ENDPOINT_URL``,
  ``AWS_ACCESS_KEY_ID``...), so a test passes only if aptui uses the connection's own endpoint and
  keys. Auth enforcement is switched off again after the test.

moto accepts any credentials until ``enforce_auth()`` (``POST /moto-api/reset-auth`` with ``0``);
after that only keys created through moto's IAM work, with their IAM policies applied.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.doubles._http import DoubleServer, Reply, Request, forward

REGION = "us-east-1"
ADMIN_KEY = "AKIAMOTOADMIN0000000"
ADMIN_SECRET = "moto-admin-secret-key-not-real-0000000000"
_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an ambient proxy


class MotoServer:
    """One moto server process."""

    def __init__(self) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)  # noqa: SIM115
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "INITIAL_NO_AUTH_ACTION_COUNT"):
            env.pop(var, None)
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.endpoint = self._wait_ready(30.0)

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {Path(self._log.name).read_text()[-2000:]}")
            m = _RUNNING.search(Path(self._log.name).read_text(errors="replace"))
            if m:
                endpoint = m.group(1)
                try:
                    self.post("/moto-api/reset", endpoint=endpoint)
                    return endpoint
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("moto server did not start in time")

    def post(self, path: str, data: bytes = b"", *, endpoint: str | None = None) -> bytes:
        req = urllib.request.Request((endpoint or self.endpoint) + path, data=data, method="POST",
                                     headers={"Content-Type": "text/plain"})
        with _OPENER.open(req, timeout=10) as resp:
            return resp.read()

    def reset(self) -> None:
        self.post("/moto-api/reset-auth", b"inf")
        self.post("/moto-api/reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


@dataclass
class MotoAws:
    server: MotoServer
    endpoint: str
    region: str = REGION

    def config(self, access_key_id: str = ADMIN_KEY, secret_access_key: str = ADMIN_SECRET,
               region: str | None = None) -> dict[str, str]:
        """An aptui/Activepieces AWS connection config."""
        return {"accessKeyId": access_key_id, "secretAccessKey": secret_access_key, "region": region or self.region,
                "endpoint": self.endpoint}

    def client(self, service: str = "secretsmanager", *, access_key_id: str = ADMIN_KEY,
               secret_access_key: str = ADMIN_SECRET) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key)

    def create_secret(self, name: str, value: str | bytes | dict[str, Any]) -> str:
        """Create a secret (dict → JSON text, bytes → SecretBinary); returns its ARN."""
        kwargs: dict[str, Any] = {"Name": name}
        if isinstance(value, bytes):
            kwargs["SecretBinary"] = value
        else:
            kwargs["SecretString"] = value if isinstance(value, str) else json.dumps(value)
        return self.client().create_secret(**kwargs)["ARN"]

    def iam_user(self, name: str, actions: list[str], *, resource: str = "*") -> tuple[str, str]:
        """An IAM user allowed ``actions``; returns ``(access_key_id, secret_access_key)``."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def enforce_auth(self) -> None:
        """From now on moto checks signatures and IAM policies (until the test ends)."""
        self.server.post("/moto-api/reset-auth", b"0")


class AwsFaultProxy(DoubleServer):
    """Forwards AWS JSON-protocol calls to moto, with fault knobs on top.

    ``fail_next(n, 400, body=throttling())`` answers like AWS throttling; ``fail_next(n, 500)`` like an
    ``InternalServiceError``; ``delay`` slows every answer; ``reverse_batch`` reverses the order of
    ``SecretValues`` in ``BatchGetSecretValue`` answers (results must be matched by name).
    """

    name = "aws-proxy"

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.reverse_batch = False

    def fault_body(self, status: int) -> Any:
        if status == 400:
            return throttling()
        return {"__type": "InternalServiceError", "message": f"injected failure {status}"}

    def targets(self) -> list[str]:
        """``X-Amz-Target`` operations received, in order (``GetSecretValue`` ...)."""
        with self._lock:
            return [(r.header("X-Amz-Target") or "").rpartition(".")[2] for r in self.requests]

    def route(self, req: Request) -> Reply:
        status, body, ctype = forward(self.upstream, req, keep_host=True)  # keep Host: it is signed
        target = req.header("X-Amz-Target") or ""
        if self.reverse_batch and target.endswith("BatchGetSecretValue") and status == 200:
            doc = json.loads(body)
            doc["SecretValues"] = list(reversed(doc.get("SecretValues") or []))
            body = json.dumps(doc).encode()
        return Reply(status, body, {"Content-Type": ctype or "application/x-amz-json-1.1"})


def throttling() -> dict[str, str]:
    return {"__type": "ThrottlingException", "message": "Rate exceeded"}


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_aws(moto_server, monkeypatch, tmp_path):
    moto_server.reset()
    from tests.doubles._http import closed_port_url

    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())  # never used: the endpoint is stored
    monkeypatch.delenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTFROMENV000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-from-env")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    yield MotoAws(moto_server, moto_server.endpoint)
    moto_server.reset()


@pytest.fixture
def aws_fault_proxy(moto_aws):
    """An ``AwsFaultProxy`` in front of this test's moto (pass ``endpoint_url=proxy.url``)."""
    proxy = AwsFaultProxy(moto_aws.endpoint).start()
    try:
        yield proxy
    finally:
        proxy.stop()
