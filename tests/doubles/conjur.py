"""A CyberArk Conjur double speaking Conjur's HTTP API.

Fixture ``conjur_double``: a started ``ConjurDouble`` (fresh per test), account ``myorg``.
Models ``POST /authn/{account}/{login}/authenticate`` (401 on a bad key; token JSON, base64 with
``Accept-Encoding: base64``), token TTL/expiry (401), ``GET /secrets/{account}/variable/{id}``
(401/403/404/422, raw bytes, ``?version=N``), the batch ``GET /secrets?variable_ids=…`` (whole
batch 404 if one is missing, 403 if one is forbidden, 422 on a blank id, 406 for binary values
without ``Accept-Encoding: base64``), ``GET /whoami`` and ``GET /resources/{account}/variable/{id}``.
Fault knobs come from ``DoubleServer``.

    conjur_double.add_host("host/app/ci", "api-key-1")
    conjur_double.set_variable("prod/db/password", "s3cr3t")
    config = conjur_double.config("host/app/ci", "api-key-1")
"""

from __future__ import annotations

import base64
import json
import secrets as pysecrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest

from tests.doubles._http import DoubleServer, Reply, Request, rfc3339


@dataclass
class Identity:
    login: str
    api_key: str
    readable: set[str] | None = None  # variable ids with 'execute' (None = all)
    updatable: set[str] | None = field(default_factory=set)  # variable ids with 'update' (None = all)


@dataclass
class IssuedToken:
    login: str
    issued: float
    ttl: float
    revoked: bool = False


@dataclass
class Variable:
    versions: list[tuple[bytes, float]] = field(default_factory=list)  # (value, created)
    annotations: dict[str, str] = field(default_factory=dict)


def not_found(account: str, var_id: str) -> dict[str, Any]:
    return {"error": {"code": "not_found",
                      "message": f"CONJ00076E Variable {account}:variable:{var_id} is empty or not found.",
                      "target": "variable", "details": {"code": "not_found", "target": "id",
                                                         "message": f"{account}:variable:{var_id}"}}}


class ConjurDouble(DoubleServer):
    name = "conjur"

    def __init__(self, account: str = "myorg") -> None:
        super().__init__()
        self.account = account
        self.state_lock = threading.RLock()
        self.identities: dict[str, Identity] = {}
        self.variables: dict[str, Variable] = {}
        self.tokens: dict[str, IssuedToken] = {}  # signature -> token
        self.token_ttl = 480.0
        self.clock_offset = 0.0
        self.logins = 0  # authenticate attempts
        self.successful_logins = 0

    def fault_body(self, status: int) -> Any:
        return {"error": {"code": "injected", "message": f"injected failure {status}"}}

    # --- setup API -----------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        self.clock_offset += seconds

    def config(self, login: str, api_key: str, *, account: str | None = None) -> dict[str, str]:
        return {"organizationAccountName": account or self.account, "loginId": login, "url": self.url,
                "apiKey": api_key}

    def add_host(self, login: str, api_key: str | None = None, *, readable: set[str] | None = None,
                 updatable: set[str] | None = frozenset()) -> str:
        """A host; ``updatable`` = the variables it may set (``update`` privilege; None = all)."""
        key = api_key or pysecrets.token_hex(16)
        with self.state_lock:
            self.identities[login] = Identity(login, key, readable, None if updatable is None else set(updatable))
        return key

    def set_variable(self, var_id: str, value: str | bytes | None, **annotations: str) -> None:
        """Add a version (``None`` declares the variable without a value)."""
        with self.state_lock:
            var = self.variables.setdefault(var_id, Variable())
            var.annotations.update(annotations)
            if value is not None:
                var.versions.append((value.encode() if isinstance(value, str) else value, self.now()))

    def expire_tokens(self) -> None:
        with self.state_lock:
            for t in self.tokens.values():
                t.revoked = True

    # --- routing -------------------------------------------------------------------------------

    def route(self, req: Request) -> Reply:
        path = req.path
        if req.method == "POST" and path.startswith("/authn/") and path.endswith("/authenticate"):
            return self._authenticate(req)
        login = self._caller(req)
        if login is None:
            return Reply(401, "Unauthorized")
        prefix = f"/secrets/{self.account}/variable/"
        if req.method == "POST" and path.startswith(prefix):
            return self._set(req, login, unquote(path[len(prefix):]))
        if req.method != "GET":
            return Reply(405, None)
        if path == "/whoami":
            return Reply(200, {"account": self.account, "username": login, "client_ip": "127.0.0.1",
                               "user_agent": req.header("User-Agent") or "", "token_issued_at": rfc3339(self.now())})
        if path == "/secrets":
            return self._batch(req, login)
        prefix = f"/secrets/{self.account}/variable/"
        if path.startswith(prefix):
            return self._single(req, login, unquote(path[len(prefix):]))
        rprefix = f"/resources/{self.account}/variable/"
        if path.startswith(rprefix):
            return self._resource(unquote(path[len(rprefix):]))
        return Reply(404, {"error": {"code": "not_found", "message": "Not Found"}})

    def _authenticate(self, req: Request) -> Reply:
        parts = req.path.split("/")  # ['', 'authn', account, login-encoded, 'authenticate']
        with self.state_lock:
            self.logins += 1
            if len(parts) != 5 or parts[2] != self.account:
                return Reply(401, "Unauthorized")
            ident = self.identities.get(unquote(parts[3]))
            if ident is None or req.body.decode("utf-8", "replace") != ident.api_key:
                return Reply(401, "Unauthorized")
            self.successful_logins += 1
            now = self.now()
            signature = pysecrets.token_hex(32)
            self.tokens[signature] = IssuedToken(ident.login, now, self.token_ttl)
        payload = base64.urlsafe_b64encode(json.dumps({"sub": ident.login, "iat": int(now),
                                                       "exp": int(now + self.token_ttl)}).encode()).decode()
        protected = base64.urlsafe_b64encode(json.dumps({"alg": "conjur.org/slosilo/v2",
                                                         "kid": "double"}).encode()).decode()
        token = json.dumps({"protected": protected, "payload": payload, "signature": signature})
        if (req.header("Accept-Encoding") or "").strip().lower() == "base64":
            return Reply(200, base64.b64encode(token.encode()).decode(), {"Content-Type": "text/plain"})
        return Reply(200, token, {"Content-Type": "application/json"})

    def _caller(self, req: Request) -> str | None:
        auth = req.header("Authorization") or ""
        prefix = 'Token token="'
        if not auth.startswith(prefix) or not auth.endswith('"'):
            return None
        try:
            doc = json.loads(base64.b64decode(auth[len(prefix):-1], validate=True))
            signature = doc["signature"]
        except (ValueError, KeyError, TypeError):
            return None
        with self.state_lock:
            tok = self.tokens.get(signature)
            if tok is None or tok.revoked or self.now() >= tok.issued + tok.ttl:
                return None
            return tok.login

    def _can_read(self, login: str, var_id: str) -> bool:
        ident = self.identities.get(login)
        return ident is not None and (ident.readable is None or var_id in ident.readable)

    def _value(self, var_id: str, version: str | None) -> bytes | None:
        var = self.variables.get(var_id)
        if var is None or not var.versions:
            return None
        if version and version.isdigit():
            n = int(version)
            return var.versions[n - 1][0] if 0 < n <= len(var.versions) else None
        return var.versions[-1][0]

    def _single(self, req: Request, login: str, var_id: str) -> Reply:
        if not var_id:
            return Reply(422, {"error": {"code": "unprocessable_entity", "message": "id param missing"}})
        with self.state_lock:
            if var_id not in self.variables:
                return Reply(404, not_found(self.account, var_id))
            if not self._can_read(login, var_id):
                return Reply(403, None)
            value = self._value(var_id, (req.query.get("version") or [None])[0])
        if value is None:
            return Reply(404, not_found(self.account, var_id))
        return Reply(200, value, {"Content-Type": "application/octet-stream"})

    def _set(self, req: Request, login: str, var_id: str) -> Reply:
        """``POST /secrets/{account}/variable/{id}``: a new version (201); the variable must be declared
        in policy (404) and the caller hold ``update`` on it (403); an empty value is refused (422)."""
        with self.state_lock:
            if var_id not in self.variables:
                return Reply(404, not_found(self.account, var_id))
            ident = self.identities.get(login)
            if ident is None or (ident.updatable is not None and var_id not in ident.updatable):
                return Reply(403, None)
            if not req.body:
                return Reply(422, {"error": {"code": "unprocessable_entity", "message": "value may not be empty"}})
            self.variables[var_id].versions.append((bytes(req.body), self.now()))
        return Reply(201, None)

    def _batch(self, req: Request, login: str) -> Reply:
        raw = (req.query.get("variable_ids") or [""])[0]
        ids = raw.split(",")
        if not raw or any(not i.strip() for i in ids):
            return Reply(422, {"error": {"code": "unprocessable_entity",
                                         "message": "variable_ids must not contain blank values"}})
        base64_wanted = (req.header("Accept-Encoding") or "").strip().lower() == "base64"
        out: dict[str, str] = {}
        with self.state_lock:
            for full in ids:
                account, kind, var_id = [*full.split(":", 2), "", ""][:3]
                if account != self.account or kind != "variable" or var_id not in self.variables:
                    return Reply(404, not_found(self.account, var_id or full))
                if not self._can_read(login, var_id):
                    return Reply(403, None)
                value = self._value(var_id, None)
                if value is None:
                    return Reply(404, not_found(self.account, var_id))
                if base64_wanted:
                    out[full] = base64.b64encode(value).decode()
                    continue
                try:
                    out[full] = value.decode("utf-8")
                except UnicodeDecodeError:
                    return Reply(406, {"error": {"code": "not_acceptable", "message":
                                                 f"Issue encoding secret into JSON format, try including "
                                                 f"'Accept-Encoding: base64' header in request. Variable: {full}"}})
        headers = {"Content-Encoding": "base64"} if base64_wanted else {}
        return Reply(200, out, headers)

    def _resource(self, var_id: str) -> Reply:
        with self.state_lock:
            var = self.variables.get(var_id)
            if var is None:
                return Reply(404, not_found(self.account, var_id))
            return Reply(200, {
                "id": f"{self.account}:variable:{var_id}", "owner": f"{self.account}:policy:root",
                "created_at": rfc3339(var.versions[0][1] if var.versions else self.now()),
                "permissions": [], "policy": f"{self.account}:policy:root",
                "annotations": [{"name": k, "value": v, "policy": f"{self.account}:policy:root"}
                                for k, v in var.annotations.items()],
                "secrets": [{"version": i + 1} for i in range(len(var.versions))],
            })


@pytest.fixture
def conjur_double():
    """A running Conjur double on 127.0.0.1 (ephemeral port), stopped after the test."""
    double = ConjurDouble().start()
    try:
        yield double
    finally:
        double.stop()
