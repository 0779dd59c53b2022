"""An Activepieces API double: a real HTTP server on 127.0.0.1 speaking the contract.

``tests/reference/activepieces-api.md`` is the contract: same paths under ``/api``, Bearer auth
(401 ``error.unauthorized.json`` shape) with two principals, as strict as the server: a platform
API key is SERVICE, a signed-in user's JWT (``POST /v1/authentication/sign-in``: HS256, ``exp``,
wrong password 401, a rate limit, optional MFA) is USER; each route admits exactly the principals
§1a gives (else 403 ``error.principal-not-allowed.json``), and a session whose ``tokenVersion``
changed answers 403 ``error.session-expired.json``. Only routes of the contract are served (MCP in
one era at a time: ``mcp_era``), SeekPage cursors, filters, ``projectId`` required for
project-scoped routes, Activepieces error bodies with the contract's statuses (VALIDATION 409,
ENTITY_NOT_FOUND 404, FEATURE_DISABLED 402...) and Fastify 400 bodies for invalid requests.
Every request body is validated against ``tests/reference/schemas``; every JSON body it answers is
validated too (pages of more than 25 items on a sample: every 10th item and the last), and the
``activepieces`` fixture fails the test if one ever was invalid.

Fixtures:
- ``activepieces_server`` (session): the running double;
- ``activepieces`` (function): the same double reset and seeded from ``tests/reference/fixtures``;
- ``ap_profile`` (function): an aptui profile ``ap-test`` in the test's store pointing at it.

Fault knobs: ``double.fault(path, method=..., status=..., body=..., retry_after=..., delay=...,
reset=..., malformed=..., times=..., skip=...)`` — e.g. ``status=500, times=1`` is "500 then
success". ``double.requests`` logs every request (``double.calls("POST", "/v1/flow-runs")``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import json
import re
import secrets
import socket
import string
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SCHEMAS = REFERENCE / "schemas"
FIXTURES = REFERENCE / "fixtures"
ALNUM = string.ascii_letters + string.digits
TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED",
            "INTERNAL_ERROR", "LOG_SIZE_EXCEEDED"}
SEP = "|ap_sep_v1|"
DEFAULT_PLATFORM = "plt6mN7oP8qR9sT0uV1wX"
DEFAULT_PROJECT = "prj8Kq2LmN4pQ7rS9tUv1"
SECOND_PROJECT = "prj2Ab3Cd4Ef5Gh6Ij7Kl"
ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "FAKE-password-for-tests"
ADMIN_USER = "usr0aB1cD2eF3gH4iJ5kL"
SESSION_TTL = 7 * 86400  # access-token-manager: 7 days
SIGN_IN_LIMIT = 5  # sign-in attempts per window before a 429 (@fastify/rate-limit)
SIGN_IN_WINDOW = 60.0
MFA_FIELD = "mfaCode"
S, U = "SERVICE", "USER"
SAMPLE_ABOVE = 25  # pages with more items are validated on a sample (jsonschema costs ~0.3 ms an item)

RETRY_REQUEST_SCHEMA = {
    "type": "object",
    "properties": {"projectId": {"type": "string"},
                   "strategy": {"type": "string", "enum": ["ON_LATEST_VERSION", "FROM_FAILED_STEP"]}},
    "required": ["projectId", "strategy"],
}
LEGACY_MCP_UPDATE_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1}, "token": {"type": "string"},
                   "connectionsIds": {"type": "array", "items": {"type": "string"}},
                   "disabledTools": {"type": "array", "items": {"type": "string"}}},
}
BULK_RETRY_SCHEMA = {
    "type": "object",
    "properties": {"projectId": {"type": "string"},
                   "strategy": {"type": "string", "enum": ["ON_LATEST_VERSION", "FROM_FAILED_STEP"]},
                   "flowRunIds": {"type": "array", "items": {"type": "string"}},
                   "excludeFlowRunIds": {"type": "array", "items": {"type": "string"}},
                   "status": {"type": "array", "items": {"type": "string"}},
                   "flowId": {"type": "array", "items": {"type": "string"}},
                   "createdAfter": {"type": "string"}, "createdBefore": {"type": "string"},
                   "failedStepName": {"type": "string"}, "failedStepMessage": {"type": "string"}},
    "required": ["projectId", "strategy"],
    "additionalProperties": False,
}
SIGN_IN_SCHEMA = {"type": "object", "properties": {"email": {"type": "string", "minLength": 3},
                                                   "password": {"type": "string", "minLength": 8, "maxLength": 64},
                                                   MFA_FIELD: {"type": "string"}},
                  "required": ["email", "password"], "additionalProperties": False}
AP_ERROR_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}, "params": {"type": "object"}},
                   "required": ["code", "params"]}
FASTIFY_ERROR_SCHEMA = {"type": "object",
                        "properties": {"statusCode": {"type": "integer"}, "code": {"type": "string"},
                                       "error": {"type": "string"}, "message": {"type": "string"}},
                        "required": ["statusCode", "error", "message"]}


# -- fixtures and schemas ------------------------------------------------------------------------


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@cache
def _validator(name: str):
    from jsonschema import Draft202012Validator

    schema = load_schema(name) if isinstance(name, str) and not name.startswith("{") else json.loads(name)
    return Draft202012Validator(schema)


def schema_errors(schema: str | dict[str, Any], instance: Any) -> list[str]:
    """Messages of every violation of ``schema`` (a name in ``schemas/`` or a schema dict)."""
    key = schema if isinstance(schema, str) else json.dumps(schema, sort_keys=True)
    return [_fastify_message(e) for e in _validator(key).iter_errors(instance)]


def validate_body(schema: str | dict[str, Any], instance: Any) -> None:
    """Raise AssertionError if ``instance`` violates ``schema`` (for tests)."""
    problems = schema_errors(schema, instance)
    assert not problems, f"{schema if isinstance(schema, str) else 'schema'}: {problems}"


def enums() -> dict[str, list[str]]:
    return json.loads((SCHEMAS / "_enums.json").read_text())


def _fastify_message(err) -> str:
    where = "/".join(str(p) for p in err.absolute_path)
    prefix = f"body/{where}" if where else "body"
    if err.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        return f"{prefix} must have required property '{missing[0] if missing else '?'}'"
    if err.validator == "type":
        return f"{prefix} must be {err.validator_value}"
    if err.validator in ("enum", "const"):
        return f"{prefix} must be equal to one of the allowed values"
    if err.validator == "minLength":
        return f"{prefix} must NOT have fewer than {err.validator_value} characters"
    if err.validator in ("anyOf", "oneOf"):
        return f"{prefix} must match a schema in {err.validator}"
    return f"{prefix} {err.message}"


def principals_required(found: tuple | None) -> bool:
    return found is not None and bool(found[1])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: dict[str, Any], key: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def _jwt_claims(token: str, key: bytes) -> dict[str, Any] | None:
    """The claims of a token this double signed, or None (bad shape or signature)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    want = _b64(hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, parts[2]):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None


def new_ap_id() -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(21))


def now_iso() -> str:
    dt = datetime.now(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_iso(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def contains_reference(value: Any) -> bool:
    """Activepieces' ``containsSecretManagerReference`` (recurses through objects and arrays)."""
    if isinstance(value, str):
        t = value.strip()
        return t.startswith("{{") and SEP in t and t.endswith("}}")
    if isinstance(value, dict):
        return any(contains_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_reference(v) for v in value)
    return False


# -- errors -----------------------------------------------------------------------------------------


class Reply(Exception):
    """A non-2xx answer from a route handler."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def ap_error(status: int, code: str, message: str, **params: Any) -> Reply:
    return Reply(status, {"code": code, "params": {"message": message, **params}})


def not_found(entity: str, entity_id: str) -> Reply:
    return ap_error(404, "ENTITY_NOT_FOUND", f"{entity} not found", entityType=entity, entityId=entity_id)


def fastify_error(message: str, status: int = 400, code: str = "FST_ERR_VALIDATION") -> Reply:
    return Reply(status, {"statusCode": status, "code": code, "error": "Bad Request", "message": message})


def route_not_found(method: str, path: str) -> Reply:
    return Reply(404, {"message": f"Route {method}:{path} not found", "error": "Not Found", "statusCode": 404})


# -- faults and the request log ---------------------------------------------------------------------


@dataclass
class Fault:
    """A scripted misbehaviour for requests whose path matches ``path`` (a regex on the path
    without ``/api``; a plain prefix works too) and ``method`` (None = any)."""

    path: str
    method: str | None = None
    status: int | None = None
    body: Any = None
    retry_after: str | float | None = None
    delay: float = 0.0
    reset: bool = False
    malformed: bool = False
    times: int | None = 1  # how many matching requests it affects; None = every one
    skip: int = 0          # let this many matching requests through untouched first
    seen: int = 0
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return re.match(self.path, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times


@dataclass
class Recorded:
    method: str
    path: str  # without /api
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


# -- the double ------------------------------------------------------------------------------------


class ActivepiecesDouble:
    """State, routes and the HTTP server. Thread-safe; reset between tests."""

    def __init__(self) -> None:
        self.api_key = "sk-" + "".join(secrets.choice(ALNUM) for _ in range(40))
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.validate_responses = True
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ActivepiecesDouble:
        double = self

        class Handler(_Handler):
            owner = double

        self._stop.clear()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="activepieces-double",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None, "double not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The site URL an operator would give (``/api`` is appended by the client)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should authenticate with ``AP_API_KEY``."""
        return {"AP_API_KEY": self.api_key}

    # -- state -------------------------------------------------------------------------------
    def reset(self, *, seed: bool = True) -> None:
        """Forget everything (state, faults, log); re-seed from the shared fixtures."""
        with self._lock:
            self.api_keys: set[str] = {self.api_key}  # every bearer token the double accepts
            self.api_key_records: list[dict[str, Any]] = []  # GET /v1/api-keys (with "_value": test side only)
            self.platform_id = DEFAULT_PLATFORM
            self.projects: list[dict[str, Any]] = []
            self.connections: list[dict[str, Any]] = []
            self.connection_values: dict[str, Any] = {}
            self.runs: list[dict[str, Any]] = []
            self.mcp_servers: dict[str, dict[str, Any]] = {}  # project era: by projectId
            self.platform_mcp: dict[str, Any] | None = None
            self.legacy_mcp: list[dict[str, Any]] = []  # named and earliest eras
            self.mcp_era = "project"  # "oauth" (project + /token), "project", "named", "earliest", "none"
            self.bulk_retry_route = True
            self.sm_update_method = "POST"  # "PATCH" on the versions §7 names
            self.jwt_secret = secrets.token_bytes(32)
            self.issued_tokens: list[str] = []  # every session token signed (for the leak scan)
            self.users: dict[str, dict[str, Any]] = {}
            self.add_user(ADMIN_EMAIL, ADMIN_PASSWORD, user_id=ADMIN_USER)
            self.sign_ins: list[float] = []
            self.password_sign_in = True  # False: an SSO-only platform (EMAIL_AUTH_DISABLED)
            self.minted_mcp_tokens = 0
            self.last_principal: str | None = None
            self.current_user: dict[str, Any] | None = None
            self.principals: list[tuple[str, str, str | None]] = []  # (method, path, SERVICE|USER|None) served
            self.secret_managers: list[dict[str, Any]] = []
            self.sm_configs: dict[str, dict[str, Any]] = {}
            self.sm_connect_failures: dict[str, str] = {}
            self.cache_clears: list[str | None] = []
            self.retries: list[dict[str, Any]] = []
            self.pieces: list[dict[str, Any]] = []
            self.flags: dict[str, Any] = {"CURRENT_VERSION": "0.71.2", "LATEST_VERSION": "0.72.0", "EDITION": "ee",
                                          "ENVIRONMENT": "prod"}
            self.features = {"secretManagers": True, "globalConnections": True, "apiKeys": True}
            self.platform_admin = True
            self.max_limit = 100
            self.faults: list[Fault] = []
            self.requests: list[Recorded] = []
            self.response_problems: list[str] = []
            self.validate_responses = True
            if seed:
                self.seed_from_fixtures()

    def seed_from_fixtures(self) -> None:
        with self._lock:
            created = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            self.issue_api_key("aptui operator", value=self.api_key, created=created)
            self.projects = copy.deepcopy(load_fixture("projects.list.json")["data"])
            self.connections = copy.deepcopy(load_fixture("app-connections.list.json")["data"])
            self.runs = copy.deepcopy(load_fixture("flow-runs.list.json")["data"])
            server = copy.deepcopy(load_fixture("mcp-server.get.json"))
            self.mcp_servers = {server["projectId"]: server}
            # aptui's own seed (names the sync tests match on); the contract's fixture has the same shape
            seed = json.loads((Path(__file__).with_name("secret-managers.seed.json")).read_text())
            self.secret_managers = copy.deepcopy(seed["data"])
            self.pieces = [
                self.make_piece("@activepieces/piece-slack", "Slack", "0.7.0"),
                self.make_piece("@activepieces/piece-stripe", "Stripe", "0.5.3"),
                self.make_piece("ever-gauzy", "Ever Gauzy", "0.7.0", piece_type="CUSTOM", package_type="ARCHIVE"),
                self.make_piece("@acme/piece-ledger", "Acme Ledger", "1.2.0", piece_type="CUSTOM",
                                package_type="REGISTRY"),
            ]

    # -- seeding helpers -------------------------------------------------------------------------
    def add_project(self, display_name: str = "Project", *, project_id: str | None = None,
                    external_id: str | None = None) -> dict[str, Any]:
        project = {"id": project_id or new_ap_id(), "created": now_iso(), "updated": now_iso(),
                   "ownerId": "usr0aB1cD2eF3gH4iJ5kL", "displayName": display_name, "platformId": self.platform_id,
                   "type": "TEAM", "icon": {"color": "BLUE"}, "releasesEnabled": False}
        if external_id is not None:
            project["externalId"] = external_id
        with self._lock:
            self.projects.append(project)
        return project

    def make_connection(self, *, project_id: str = DEFAULT_PROJECT, display_name: str = "Connection",
                        external_id: str | None = None, piece_name: str = "@activepieces/piece-slack",
                        status: str = "ACTIVE", scope: str = "PROJECT", metadata: dict | None = None,
                        using_secret_manager: bool = False, connection_id: str | None = None,
                        flow_ids: list[str] | None = None) -> dict[str, Any]:
        cid = connection_id or new_ap_id()
        stamp = now_iso()
        return {"id": cid, "created": stamp, "updated": stamp, "externalId": external_id or f"ext-{cid}",
                "displayName": display_name, "type": "SECRET_TEXT", "pieceName": piece_name,
                "projectIds": [project_id], "platformId": self.platform_id, "scope": scope, "status": status,
                "ownerId": None, "owner": None, "metadata": metadata, "flowIds": list(flow_ids or []),
                "pieceVersion": "0.7.0", "preSelectForNewProjects": False,
                "usingSecretManager": using_secret_manager}

    def add_connection(self, **kwargs: Any) -> dict[str, Any]:
        conn = self.make_connection(**kwargs)
        with self._lock:
            self.connections.append(conn)
        return conn

    def seed_connections(self, n: int, *, project_id: str = DEFAULT_PROJECT, prefix: str = "bulk",
                         replace: bool = True) -> None:
        """``n`` connections (fast; for pagination and the 10k benchmark)."""
        stamp = now_iso()
        rows = []
        for i in range(n):
            cid = f"c{i:020d}"
            rows.append({"id": cid, "created": stamp, "updated": stamp, "externalId": f"{prefix}-{i}",
                         "displayName": f"{prefix} connection {i}", "type": "SECRET_TEXT",
                         "pieceName": "@activepieces/piece-slack", "projectIds": [project_id],
                         "platformId": self.platform_id, "scope": "PROJECT",
                         "status": ("ACTIVE", "ERROR", "MISSING")[i % 3], "ownerId": None, "owner": None,
                         "metadata": {"tenantId": str(i % 5), "organizationId": str(i)}, "flowIds": [],
                         "pieceVersion": "0.7.0", "preSelectForNewProjects": False, "usingSecretManager": False})
        with self._lock:
            self.connections = rows if replace else self.connections + rows

    def add_run(self, *, project_id: str = DEFAULT_PROJECT, flow_id: str = "flw1aB2cD3eF4gH5iJ6kL",
                status: str = "FAILED", created: str | None = None, run_id: str | None = None,
                failed_step: str | None = "step_2") -> dict[str, Any]:
        stamp = created or now_iso()
        run = {"id": run_id or new_ap_id(), "created": stamp, "updated": stamp, "projectId": project_id,
               "flowId": flow_id, "flowVersionId": "fvr1aB2cD3eF4gH5iJ6kL", "environment": "PRODUCTION",
               "status": status, "startTime": stamp, "finishTime": stamp, "tags": [], "stepsCount": 3,
               "failParentOnFailure": True}
        if failed_step and status != "SUCCEEDED":
            run["failedStep"] = {"name": failed_step, "displayName": "Send message", "type": "PIECE",
                                 "errorMessage": "401 invalid_auth"}
        with self._lock:
            self.runs.append(run)
        return run

    def issue_api_key(self, display_name: str, *, value: str | None = None,
                      created: str | None = None) -> dict[str, Any]:
        """A platform API key as ``api-key-service.add`` makes it (``sk-`` + 61); accepted from now on."""
        value = value or "sk-" + "".join(secrets.choice(ALNUM) for _ in range(61))
        stamp = created or now_iso()
        record = {"id": new_ap_id(), "created": stamp, "updated": stamp, "platformId": self.platform_id,
                  "displayName": display_name, "truncatedValue": value[-4:], "lastUsedAt": None, "_value": value}
        with self._lock:
            self.api_keys.add(value)
            self.api_key_records.append(record)
        return record

    def add_user(self, email: str, password: str, *, role: str = "ADMIN", mfa_code: str | None = None,
                 user_id: str | None = None) -> dict[str, Any]:
        user = {"id": user_id or new_ap_id(), "email": email, "password": password, "platformRole": role,
                "status": "ACTIVE", "tokenVersion": new_ap_id(), "mfa": mfa_code}
        with self._lock:
            self.users[email] = user
        return user

    def session_token(self, email: str = ADMIN_EMAIL, *, ttl: float = SESSION_TTL) -> str:
        """A USER token as ``accessTokenManager.generateToken`` makes it (HS256, ``exp`` = now + ttl)."""
        user = self.users[email]
        now = int(time.time())
        claims = {"id": user["id"], "type": "USER", "platform": {"id": self.platform_id},
                  "tokenVersion": user["tokenVersion"], "iat": now, "exp": int(now + ttl), "iss": "activepieces"}
        token = _jwt(claims, self.jwt_secret)
        self.issued_tokens.append(token)
        return token

    def revoke_sessions(self, email: str = ADMIN_EMAIL) -> None:
        """A password change / sign-out everywhere: the user's tokenVersion changes."""
        with self._lock:
            self.users[email]["tokenVersion"] = new_ap_id()

    def _principal(self, token: str | None) -> tuple[str, dict[str, Any] | None]:
        """SERVICE for a known API key, USER for a valid session JWT; the 401/403 the server gives otherwise."""
        if token in self.api_keys:
            with self._lock:  # api-key-service.getByValue stamps lastUsedAt on every use
                for record in self.api_key_records:
                    if record["_value"] == token:
                        record["lastUsedAt"] = now_iso()
            return S, None
        claims = _jwt_claims(token or "", self.jwt_secret)
        if claims is None or claims.get("type") != "USER":
            raise Reply(401, load_fixture("error.unauthorized.json"))
        if claims.get("exp", 0) <= time.time():
            raise ap_error(401, "INVALID_BEARER_TOKEN", "invalid access token or session expired")
        user = next((u for u in self.users.values() if u["id"] == claims.get("id")), None)
        if user is None or user["status"] != "ACTIVE" or user["tokenVersion"] != claims.get("tokenVersion"):
            raise Reply(403, load_fixture("error.session-expired.json"))
        return U, user

    def add_mcp(self, project_id: str, *, disabled_tools: list[str] | None = None,
                token: str | None = None) -> dict[str, Any]:
        stamp = now_iso()
        server = {"id": new_ap_id(), "created": stamp, "updated": stamp, "platformId": self.platform_id,
                  "projectId": project_id, "type": "PROJECT", "token": token or new_ap_id(),
                  "disabledTools": list(disabled_tools or []), "flows": []}
        with self._lock:
            self.mcp_servers[project_id] = server
        return server

    def use_mcp_era(self, era: str, servers_per_project: int = 1) -> None:
        """Serve the MCP routes of one era (§6 history): ``oauth``, ``project``, ``named`` (``/v1/mcp-servers``),
        ``earliest`` (``/v1/mcp``) or ``none``; older eras get named servers seeded per project."""
        assert era in ("oauth", "project", "named", "earliest", "none")
        with self._lock:
            self.mcp_era = era
            if era in ("oauth", "project", "none"):
                return
            servers_per_project = 1 if era == "earliest" else servers_per_project
            self.legacy_mcp = []
            for project in self.projects:
                for n in range(servers_per_project):
                    stamp = now_iso()
                    server = {"id": new_ap_id(), "created": stamp, "updated": stamp,
                              "projectId": project["id"], "token": new_ap_id(), "connectionsIds": []}
                    if era == "named":
                        server.update({"name": f"mcp-{n + 1}", "tools": [], "disabledTools": []})
                    self.legacy_mcp.append(server)

    def add_secret_manager(self, name: str, provider_id: str = "aws", *, scope: str = "PLATFORM",
                           project_ids: list[str] | None = None) -> dict[str, Any]:
        stamp = now_iso()
        item = {"id": new_ap_id(), "created": stamp, "updated": stamp, "platformId": self.platform_id,
                "providerId": provider_id, "name": name, "scope": scope,
                "connection": {"configured": True, "connected": True}}
        if scope == "PROJECT":
            item["projectIds"] = list(project_ids or [])
        with self._lock:
            self.secret_managers.append(item)
        return item

    def fail_connect(self, provider_or_name: str, message: str = "permission denied") -> None:
        """Make create/update of a secret manager (by name or providerId) fail its live test."""
        self.sm_connect_failures[provider_or_name] = message

    @staticmethod
    def make_piece(name: str, display_name: str, version: str, *, piece_type: str = "OFFICIAL",
                   package_type: str = "REGISTRY") -> dict[str, Any]:
        return {"name": name, "displayName": display_name, "version": version, "pieceType": piece_type,
                "packageType": package_type, "description": f"{display_name} piece", "logoUrl": "",
                "minimumSupportedRelease": "0.30.0", "maximumSupportedRelease": "999.999.999",
                "actions": 3, "triggers": 1, "categories": []}

    # -- faults and log -------------------------------------------------------------------------
    def fault(self, path: str, *, method: str | None = None, status: int | None = None, body: Any = None,
              retry_after: str | float | None = None, delay: float = 0.0, reset: bool = False,
              malformed: bool = False, times: int | None = 1, skip: int = 0) -> Fault:
        f = Fault(path=path, method=method, status=status, body=body, retry_after=retry_after, delay=delay,
                  reset=reset, malformed=malformed, times=times, skip=skip)
        with self._lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method.upper())
                    and r.path.startswith(path_prefix)]

    # -- request processing -----------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.exhausted or not f.matches(method, path):
                    continue
                f.seen += 1
                if f.seen <= f.skip:
                    continue
                f.applied += 1
                return f
        return None

    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], raw_body: bytes,
               headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """Route one request; returns (status, JSON body or None, extra headers)."""
        path = raw_path[4:] if raw_path.startswith("/api/") else None
        if path is None:
            raise route_not_found(method, raw_path)
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                raise fastify_error("Body is not valid JSON but content-type is set to 'application/json'",
                                    code="FST_ERR_CTP_INVALID_JSON_BODY") from None
        found = None
        for m, pattern, fn, principals, admin in self._routes():
            match = pattern.fullmatch(path)
            if m == method and match:
                found = (fn, principals, admin, match)
                break
        if found is None:
            raise route_not_found(method, path)
        kind, user = None, None
        if principals_required(found):
            auth = headers.get("authorization", "")
            kind, user = self._principal(auth[7:] if auth.startswith("Bearer ") else None)
            if kind not in found[1]:
                raise Reply(403, load_fixture("error.principal-not-allowed.json"))
            if found[2] and kind == U and user["platformRole"] != "ADMIN":
                raise ap_error(403, "AUTHORIZATION", "this route requires a platform admin")
        with self._lock:
            self.last_principal, self.current_user = kind, user
            self.principals.append((method, path, kind))
            return found[0](query, body, *found[3].groups())

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any], frozenset[str], bool]]:
        """(method, path, handler, principals admitted, platform admin only): §1a, route by route."""
        r = re.compile
        both, user, public = frozenset({S, U}), frozenset({U}), frozenset()
        routes = [
            ("GET", r"/v1/flags", self._get_flags, public, False),
            ("POST", r"/v1/authentication/sign-in", self._sign_in, public, False),
            ("GET", r"/v1/projects", self._list_projects, both, False),
            ("GET", r"/v1/app-connections", self._list_connections, both, False),
            ("POST", r"/v1/app-connections", self._upsert_connection, both, False),
            ("POST", r"/v1/app-connections/([^/]+)", self._update_connection, both, False),
            ("DELETE", r"/v1/app-connections/([^/]+)", self._delete_connection, both, False),
            ("GET", r"/v1/flow-runs", self._list_runs, both, False),
            ("POST", r"/v1/flow-runs/([^/]+)/retry", self._retry_run, both, False),
            ("GET", r"/v1/pieces", self._list_pieces, both, False),
            ("GET", r"/v1/api-keys", self._list_api_keys, user, True),
            ("POST", r"/v1/api-keys", self._create_api_key, user, True),
            ("DELETE", r"/v1/api-keys/([^/]+)", self._delete_api_key, user, True),
            ("GET", r"/v1/secret-managers", self._list_sm, user, False),
            ("POST", r"/v1/secret-managers", self._create_sm, user, True),
            ("DELETE", r"/v1/secret-managers/cache", self._clear_cache, both, True),
            (self.sm_update_method, r"/v1/secret-managers/([^/]+)", self._update_sm, user, True),
            ("DELETE", r"/v1/secret-managers/([^/]+)", self._delete_sm, user, True),
        ]
        if self.bulk_retry_route:
            routes.insert(8, ("POST", r"/v1/flow-runs/retry", self._bulk_retry, both, False))
        era = self.mcp_era
        if era in ("oauth", "project"):
            routes += [
                ("GET", r"/v1/projects/([^/]+)/mcp-server", self._get_mcp, user, False),
                ("POST", r"/v1/projects/([^/]+)/mcp-server", self._update_mcp, user, False),
                ("POST", r"/v1/projects/([^/]+)/mcp-server/rotate", self._rotate_mcp, user, False),
                ("GET", r"/v1/mcp-server", self._get_platform_mcp, user, True),
                ("POST", r"/v1/mcp-server", self._update_platform_mcp, user, True),
                ("POST", r"/v1/mcp-server/rotate", self._rotate_platform_mcp, user, True),
            ]
            if era == "oauth":
                routes.append(("POST", r"/v1/projects/([^/]+)/mcp-server/token", self._mcp_oauth_token, user, False))
        elif era == "named":
            routes += [
                ("GET", r"/v1/mcp-servers", self._legacy_list_mcp, user, False),
                ("POST", r"/v1/mcp-servers/([^/]+)/rotate", self._legacy_rotate_mcp, user, False),
                ("POST", r"/v1/mcp-servers/([^/]+)", self._legacy_update_mcp, user, False),
            ]
        elif era == "earliest":
            routes += [
                ("GET", r"/v1/mcp", self._earliest_get_mcp, both, False),
                ("POST", r"/v1/mcp/([^/]+)/rotate", self._legacy_rotate_mcp, both, False),
                ("POST", r"/v1/mcp/([^/]+)", self._earliest_update_mcp, both, False),
            ]
        return [(m, r(p), fn, pr, admin) for m, p, fn, pr, admin in routes]

    # -- sign-in ------------------------------------------------------------------------------------
    def _sign_in(self, query, body):
        now = time.monotonic()
        self.sign_ins = [t for t in self.sign_ins if now - t < SIGN_IN_WINDOW] + [now]
        if len(self.sign_ins) > SIGN_IN_LIMIT:
            raise Reply(429, load_fixture("error.rate-limit.json"), {"Retry-After": str(int(SIGN_IN_WINDOW))})
        self._validate(SIGN_IN_SCHEMA, body)
        if not self.password_sign_in:
            raise ap_error(400, "EMAIL_AUTH_DISABLED", "email authentication is disabled on this platform")
        user = self.users.get(body["email"])
        if user is None or not hmac.compare_digest(user["password"], body["password"]):
            raise ap_error(401, "INVALID_CREDENTIALS", "invalid email or password")
        if user["mfa"]:
            code = body.get(MFA_FIELD)
            if code is None:
                return 200, {"mfaRequired": True}, {}
            if not hmac.compare_digest(user["mfa"], code):
                raise ap_error(410, "INVALID_OTP", "invalid or expired code")
        answer = copy.deepcopy(load_fixture("auth.sign-in.response.json"))
        answer.update({"id": user["id"], "email": user["email"], "platformRole": user["platformRole"],
                       "platformId": self.platform_id, "token": self.session_token(user["email"]),
                       "projectId": DEFAULT_PROJECT})
        return 200, answer, {}

    # -- helpers for routes -------------------------------------------------------------------------
    @staticmethod
    def _one(query: dict[str, list[str]], key: str) -> str | None:
        values = query.get(key)
        return values[-1] if values else None

    def _require_project(self, query: dict[str, list[str]] | None, body: Any = None) -> str:
        pid = self._one(query or {}, "projectId") if body is None else body.get("projectId")
        if not pid:
            where = "querystring" if body is None else "body"
            raise fastify_error(f"{where} must have required property 'projectId'")
        if not any(p["id"] == pid for p in self.projects):
            raise not_found("Project", pid)
        return pid

    def _validate(self, schema: str | dict[str, Any], body: Any) -> None:
        if body is None:
            raise fastify_error("body must be object")
        problems = schema_errors(schema, body)
        if problems:
            raise fastify_error(problems[0])

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        try:
            limit = int(float(self._one(query, "limit") or 10))
        except ValueError:
            raise fastify_error("querystring/limit must be number") from None
        limit = max(1, min(limit, self.max_limit))
        start = 0
        cursor = self._one(query, "cursor")
        if cursor:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))
                index = {item["id"]: i for i, item in enumerate(items)}
                pos = index[decoded["id"]]
            except (ValueError, KeyError, TypeError):
                raise ap_error(409, "VALIDATION", "invalid cursor") from None
            start = pos + 1 if decoded.get("dir", "next") == "next" else max(0, pos - limit)
        end = min(len(items), start + limit)
        data = items[start:end]

        def enc(item_id: str, direction: str) -> str:
            raw = json.dumps({"id": item_id, "dir": direction}, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        return {"data": copy.deepcopy(data), "next": enc(items[end - 1]["id"], "next") if end < len(items) else None,
                "previous": enc(items[start]["id"], "prev") if start > 0 and data else None}

    # -- routes -------------------------------------------------------------------------------------
    def _get_flags(self, query, body):
        return 200, dict(self.flags), {}

    def _list_projects(self, query, body):
        items = self.projects
        name = self._one(query, "displayName")
        if name:
            items = [p for p in items if name.lower() in p["displayName"].lower()]
        return 200, self._page(items, query), {}

    def _list_connections(self, query, body):
        pid = self._require_project(query)
        items = [c for c in self.connections if pid in c["projectIds"]]
        piece = self._one(query, "pieceName")
        if piece:
            items = [c for c in items if c["pieceName"] == piece]
        name = self._one(query, "displayName")
        if name:
            items = [c for c in items if name.lower() in c["displayName"].lower()]
        statuses = query.get("status")
        if statuses:
            bad = [s for s in statuses if s not in ("ACTIVE", "MISSING", "ERROR")]
            if bad:
                raise fastify_error("querystring/status/0 must be equal to one of the allowed values")
            items = [c for c in items if c["status"] in statuses]
        scope = self._one(query, "scope")
        if scope:
            items = [c for c in items if c["scope"] == scope]
        externals = query.get("externalIds")
        if externals:
            items = [c for c in items if c["externalId"] in externals]
        return 200, self._page(items, query), {}

    def _upsert_connection(self, query, body):
        self._validate("UpsertAppConnectionRequestBody", body)
        pid = self._require_project(None, body)
        existing = next((c for c in self.connections
                         if pid in c["projectIds"] and c["externalId"] == body["externalId"]), None)
        stamp = now_iso()
        using = contains_reference(body["value"])
        if existing is None:
            conn = self.make_connection(project_id=pid, display_name=body["displayName"],
                                        external_id=body["externalId"], piece_name=body["pieceName"],
                                        metadata=body.get("metadata"), using_secret_manager=using)
            if body.get("pieceVersion"):
                conn["pieceVersion"] = body["pieceVersion"]
            self.connections.append(conn)
            status = 201
        else:
            conn = existing
            conn.update({"displayName": body["displayName"], "pieceName": body["pieceName"],
                         "metadata": body.get("metadata", conn.get("metadata")), "updated": stamp,
                         "usingSecretManager": using, "status": "ACTIVE"})
            status = 200
        self.connection_values[conn["id"]] = copy.deepcopy(body["value"])
        return status, copy.deepcopy(conn), {}

    def _find_connection(self, cid: str) -> dict[str, Any]:
        conn = next((c for c in self.connections if c["id"] == cid), None)
        if conn is None:
            raise not_found("AppConnection", cid)
        return conn

    def _update_connection(self, query, body, cid):
        self._validate("UpdateConnectionValueRequestBody", body)
        conn = self._find_connection(cid)
        conn["displayName"] = body["displayName"]
        if "metadata" in body:
            conn["metadata"] = body["metadata"]
        conn["updated"] = now_iso()
        return 200, copy.deepcopy(conn), {}

    def _delete_connection(self, query, body, cid):
        conn = self._find_connection(cid)
        self.connections.remove(conn)
        self.connection_values.pop(cid, None)
        return 204, None, {}

    def _list_runs(self, query, body):
        pid = self._require_project(query)
        items = [r for r in self.runs if r["projectId"] == pid]
        statuses = query.get("status")
        if statuses:
            items = [r for r in items if r["status"] in statuses]
        flows = query.get("flowId")
        if flows:
            items = [r for r in items if r["flowId"] in flows]
        after = self._one(query, "createdAfter")
        before = self._one(query, "createdBefore")
        for bound, keep in ((after, lambda c, b: c >= b), (before, lambda c, b: c <= b)):
            if bound:
                b = _parse_iso(bound)
                if b is None:
                    raise fastify_error("querystring/createdAfter must be string")
                items = [r for r in items if keep(_parse_iso(r["created"]), b)]
        step = self._one(query, "failedStepName")
        if step:
            items = [r for r in items if (r.get("failedStep") or {}).get("name") == step]
        items = sorted(items, key=lambda r: r["created"], reverse=True)
        return 200, self._page(items, query), {}

    def _retry_run(self, query, body, run_id):
        self._validate(RETRY_REQUEST_SCHEMA, body)
        pid = self._require_project(None, body)
        run = next((r for r in self.runs if r["id"] == run_id and r["projectId"] == pid), None)
        if run is None:
            raise not_found("FlowRun", run_id)
        if run["status"] not in TERMINAL:
            raise ap_error(409, "VALIDATION", f"Flow run {run_id} is not in a terminal state")
        self.retries.append({"runId": run_id, "strategy": body["strategy"], "projectId": pid, "at": time.time()})
        run["status"] = "QUEUED"
        run["updated"] = now_iso()
        run.pop("failedStep", None)
        return 200, copy.deepcopy(run), {}

    def _list_pieces(self, query, body):
        items = self.pieces
        q = self._one(query, "searchQuery")
        if q:
            items = [p for p in items if q.lower() in p["name"].lower() or q.lower() in p["displayName"].lower()]
        return 200, copy.deepcopy(items), {}

    def _require_feature(self, name: str) -> None:
        if not self.features.get(name, True):
            raise ap_error(402, "FEATURE_DISABLED", "Feature is disabled", feature=name)

    @staticmethod
    def _public_key(record: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}

    def _list_api_keys(self, query, body):
        """``SeekPage(ApiKeyResponseWithoutValue)``: every key at once, ``next`` null (no paging upstream)."""
        self._require_feature("apiKeys")
        data = [self._public_key(r) for r in self.api_key_records if r["platformId"] == self.platform_id]
        return 200, {"data": data, "next": None, "previous": None}, {}

    def _create_api_key(self, query, body):
        self._require_feature("apiKeys")
        self._validate("CreateApiKeyRequest", body)
        record = self.issue_api_key(body["displayName"])
        return 201, {**self._public_key(record), "value": record["_value"]}, {}

    def _delete_api_key(self, query, body, key_id):
        self._require_feature("apiKeys")
        record = next((r for r in self.api_key_records if r["id"] == key_id and r["platformId"] == self.platform_id),
                      None)
        if record is None:
            raise ap_error(404, "ENTITY_NOT_FOUND", f"api key with id {key_id} not found")
        self.api_key_records.remove(record)
        self.api_keys.discard(record["_value"])
        return 200, None, {}

    def _list_sm(self, query, body):
        self._require_feature("secretManagers")
        if self.current_user and self.current_user["platformRole"] != "ADMIN" and not self._one(query, "projectId"):
            raise ap_error(403, "AUTHORIZATION", "listing the platform's secret managers requires a platform admin")
        items = self.secret_managers
        pid = self._one(query, "projectId")
        if pid:
            items = [s for s in items if s["scope"] == "PLATFORM" or pid in s.get("projectIds", [])]
        return 200, self._page(items, query), {}

    def _check_connect(self, body: dict[str, Any]) -> None:
        self._validate("ConnectSecretManagerRequestSchema", body)
        if body["scope"] == "PROJECT" and not body.get("projectIds"):
            raise fastify_error("body/projectIds Please select at least one project")
        for key in (body["name"], body["providerId"]):
            if key in self.sm_connect_failures:
                raise ap_error(400, "SECRET_MANAGER_CONNECTION_FAILED", self.sm_connect_failures[key],
                               provider=body["providerId"])

    def _sm_item(self, body: dict[str, Any], sm_id: str, created: str) -> dict[str, Any]:
        item = {"id": sm_id, "created": created, "updated": now_iso(), "platformId": self.platform_id,
                "providerId": body["providerId"], "name": body["name"], "scope": body["scope"],
                "connection": {"configured": True, "connected": True}}
        if body["scope"] == "PROJECT":
            item["projectIds"] = list(body.get("projectIds") or [])
        return item

    def _create_sm(self, query, body):
        self._require_feature("secretManagers")
        if not self.platform_admin:
            raise ap_error(403, "PERMISSION_DENIED", "platform admin only")
        self._check_connect(body)
        item = self._sm_item(body, new_ap_id(), now_iso())
        self.secret_managers.append(item)
        self.sm_configs[item["id"]] = copy.deepcopy(body["config"])
        return 201, copy.deepcopy(item), {}

    def _update_sm(self, query, body, sm_id):
        self._require_feature("secretManagers")
        current = next((s for s in self.secret_managers if s["id"] == sm_id), None)
        if current is None:
            raise not_found("SecretManagerConnection", sm_id)
        self._check_connect(body)
        item = self._sm_item(body, sm_id, current["created"])
        self.secret_managers[self.secret_managers.index(current)] = item
        self.sm_configs[sm_id] = copy.deepcopy(body["config"])
        return 200, copy.deepcopy(item), {}

    def _delete_sm(self, query, body, sm_id):
        self._require_feature("secretManagers")
        current = next((s for s in self.secret_managers if s["id"] == sm_id), None)
        if current is None:
            raise not_found("SecretManagerConnection", sm_id)
        self.secret_managers.remove(current)
        self.sm_configs.pop(sm_id, None)
        return 204, None, {}

    def _clear_cache(self, query, body):
        self._require_feature("secretManagers")
        if not self.platform_admin:
            raise ap_error(403, "PERMISSION_DENIED", "Only platform admins can clear the cache")
        self.cache_clears.append(self._one(query, "connectionId"))
        return 204, None, {}

    def _get_mcp(self, query, body, project_id):
        if not any(p["id"] == project_id for p in self.projects):
            raise not_found("Project", project_id)
        server = self.mcp_servers.get(project_id) or self.add_mcp(project_id)
        return 200, copy.deepcopy(server), {}

    def _update_mcp(self, query, body, project_id):
        self._validate("UpdateMcpServerRequest", body)
        _, _server, _ = self._get_mcp(query, None, project_id)
        live = self.mcp_servers[project_id]
        if "disabledTools" in body:
            live["disabledTools"] = list(body["disabledTools"])
        live["updated"] = now_iso()
        return 200, copy.deepcopy(live), {}

    def _rotate_mcp(self, query, body, project_id):
        self._get_mcp(query, None, project_id)
        live = self.mcp_servers[project_id]
        live["token"] = new_ap_id()
        live["updated"] = now_iso()
        return 200, copy.deepcopy(live), {}

    def _mcp_oauth_token(self, query, body, project_id):
        """Newest servers: a short-lived OAuth access token for the MCP endpoint (15 min)."""
        self._get_mcp(query, None, project_id)
        self.minted_mcp_tokens += 1
        return 200, {"mcpServerUrl": f"{self.url}/api/v1/mcp/{project_id}/sse", "mcpToken": new_ap_id()}, {}

    def _platform_server(self) -> dict[str, Any]:
        if self.platform_mcp is None:
            stamp = now_iso()
            self.platform_mcp = {"id": new_ap_id(), "created": stamp, "updated": stamp,
                                 "platformId": self.platform_id, "projectId": None, "type": "PLATFORM",
                                 "token": new_ap_id(), "disabledTools": [], "flows": []}
        return self.platform_mcp

    def _get_platform_mcp(self, query, body):
        return 200, copy.deepcopy(self._platform_server()), {}

    def _update_platform_mcp(self, query, body):
        self._validate("UpdateMcpServerRequest", body)
        server = self._platform_server()
        if "disabledTools" in body:
            server["disabledTools"] = list(body["disabledTools"])
        server["updated"] = now_iso()
        return 200, copy.deepcopy(server), {}

    def _rotate_platform_mcp(self, query, body):
        server = self._platform_server()
        server["token"], server["updated"] = new_ap_id(), now_iso()
        return 200, copy.deepcopy(server), {}

    def _earliest_get_mcp(self, query, body):
        """``GET /v1/mcp``: the one server of the principal's project (``?projectId=`` for a key)."""
        pid = self._one(query, "projectId") or (DEFAULT_PROJECT if self.current_user else None)
        server = next((m for m in self.legacy_mcp if m["projectId"] == pid), None)
        if server is None:
            raise not_found("MCP", pid or "?")
        return 200, copy.deepcopy(server), {}

    def _earliest_update_mcp(self, query, body, mcp_id):
        server = self._legacy_find(mcp_id)
        self._validate({"type": "object", "properties": {"token": {"type": "string"},
                                                         "connectionsIds": {"type": "array"}},
                        "additionalProperties": False}, body)
        server.update(copy.deepcopy(body))
        return 200, copy.deepcopy(server), {}

    def _bulk_retry(self, query, body):
        """``POST /v1/flow-runs/retry``: each selected run is retried once; an array of FlowRun (null for a
        run that could not be retried). Not idempotent: a resend retries them again."""
        self._validate(BULK_RETRY_SCHEMA, body)
        pid = self._require_project(None, body)
        ids = body.get("flowRunIds")
        if ids is None:  # by filter
            selected = [r for r in self.runs if r["projectId"] == pid and r["status"] in (body.get("status") or
                                                                                          TERMINAL)]
        else:
            selected = [next((r for r in self.runs if r["id"] == i and r["projectId"] == pid), None) for i in ids]
        out: list[Any] = []
        for run in selected:
            if run is None or run["status"] not in TERMINAL:
                out.append(None)
                continue
            self.retries.append({"runId": run["id"], "strategy": body["strategy"], "projectId": pid,
                                 "at": time.time(), "bulk": True})
            run["status"], run["updated"] = "QUEUED", now_iso()
            run.pop("failedStep", None)
            out.append(copy.deepcopy(run))
        return 200, out, {}

    def _legacy_list_mcp(self, query, body):
        pid = self._one(query, "projectId")
        if not pid:
            return 200, {"data": [], "next": None, "previous": None}, {}
        items = [s for s in self.legacy_mcp if s["projectId"] == pid]
        return 200, self._page(items, query), {}

    def _legacy_find(self, mcp_id: str) -> dict[str, Any]:
        server = next((s for s in self.legacy_mcp if s["id"] == mcp_id), None)
        if server is None:
            raise not_found("MCP", mcp_id)
        return server

    def _legacy_get_mcp(self, query, body, mcp_id):
        return 200, copy.deepcopy(self._legacy_find(mcp_id)), {}

    def _legacy_update_mcp(self, query, body, mcp_id):
        server = self._legacy_find(mcp_id)
        self._validate(LEGACY_MCP_UPDATE_SCHEMA, body)
        for key in ("name", "disabledTools", "connectionsIds"):
            if key in body:
                server[key] = copy.deepcopy(body[key])
        server["updated"] = now_iso()
        return 200, copy.deepcopy(server), {}

    def _legacy_rotate_mcp(self, query, body, mcp_id):
        server = self._legacy_find(mcp_id)
        server["token"] = new_ap_id()
        return 200, copy.deepcopy(server), {}

    # -- response checks --------------------------------------------------------------------------
    def check_response(self, method: str, path: str, status: int, body: Any) -> None:
        """Validate an answer against the route's schema; remember any violation."""
        if not self.validate_responses or body is None:
            return
        problems: list[str] = []
        if status >= 400:
            schema = FASTIFY_ERROR_SCHEMA if "statusCode" in body else AP_ERROR_SCHEMA
            problems = schema_errors(schema, body)
            if "statusCode" not in body and body.get("code") not in enums()["ErrorCode"]:
                problems.append(f"unknown error code {body.get('code')}")
        else:
            spec = _response_schema(method, path, self.mcp_era)
            if spec is not None:
                name, is_page = spec
                items = body["data"] if is_page else [i for i in body if i is not None] if isinstance(body, list) \
                    else [body]
                if is_page:
                    problems += schema_errors({"type": "object", "required": ["data", "next", "previous"]}, body)
                    if len(items) > SAMPLE_ABOVE:  # big pages: first, last and every 10th item
                        items = [*items[::10], items[-1]]
                for item in items:
                    problems += schema_errors(name, item)
        if problems:
            with self._lock:
                self.response_problems.append(f"{method} {path} -> {status}: {problems[:3]}")


@cache
def _api_key_with_value() -> str:
    schema = copy.deepcopy(load_schema("ApiKeyResponseWithoutValue"))
    schema["properties"]["value"] = {"type": "string", "pattern": "^sk-"}
    schema["required"].append("value")
    return json.dumps(schema)


def api_key_with_value_schema() -> dict[str, Any]:
    """``ApiKeyResponseWithValue`` (ee-shared): the listed shape plus ``value``, answered once by create."""
    return json.loads(_api_key_with_value())


def _response_schema(method: str, path: str, mcp_era: str) -> tuple[str | dict[str, Any], bool] | None:
    table = [
        ("GET", r"/v1/projects", "Project", True),
        ("GET", r"/v1/api-keys", "ApiKeyResponseWithoutValue", True),
        ("POST", r"/v1/api-keys", api_key_with_value_schema(), False),
        ("GET", r"/v1/app-connections", "AppConnectionWithoutSensitiveData", True),
        ("POST", r"/v1/app-connections(/[^/]+)?", "AppConnectionWithoutSensitiveData", False),
        ("GET", r"/v1/flow-runs", "FlowRun", True),
        ("POST", r"/v1/flow-runs/[^/]+/retry", "FlowRun", False),
        ("POST", r"/v1/flow-runs/retry", "FlowRun", False),
        ("GET", r"/v1/secret-managers", "SecretManagerConnectionWithStatusSchema", True),
        ("POST", r"/v1/secret-managers(/[^/]+)?", "SecretManagerConnectionWithStatusSchema", False),
    ]
    if mcp_era in ("oauth", "project"):
        table.append(("GET", r"/v1/projects/[^/]+/mcp-server", "PopulatedMcpServer", False))
        table.append(("POST", r"/v1/projects/[^/]+/mcp-server(/rotate)?", "PopulatedMcpServer", False))
        table.append(("GET", r"/v1/mcp-server", "PopulatedMcpServer", False))
        table.append(("POST", r"/v1/mcp-server(/rotate)?", "PopulatedMcpServer", False))
    for m, pattern, name, is_page in table:
        if m == method and re.fullmatch(pattern, path):
            return name, is_page
    return None


# -- HTTP plumbing ------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # resets and timeouts are expected here
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: ActivepiecesDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        double = self.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        path = parts.path[4:] if parts.path.startswith("/api/") else parts.path
        record = Recorded(method=method, path=path, query=query, body=parsed, headers=headers)
        with double._lock:
            double.requests.append(record)
        fault = double._take_fault(method, path)
        if fault is not None:
            if fault.delay:
                double._stop.wait(fault.delay)
            if fault.reset:
                record.status = 0
                self._reset()
                return
            if fault.malformed:
                record.status = fault.status or 200
                self._send(record.status, b'{"data": [{"id": "trunc', {"Content-Type": "application/json"})
                return
            if fault.status is not None:
                extra = {}
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                body = fault.body if fault.body is not None else _default_error(fault.status)
                record.status = fault.status
                self._send_json(fault.status, body, extra)
                return
        try:
            status, body, extra = double.handle(method, parts.path, query, raw, headers)
        except Reply as reply:
            status, body, extra = reply.status, reply.body, reply.headers
        record.status = status
        double.check_response(method, path, status, body)
        self._send_json(status, body, extra)

    def _send_json(self, status: int, body: Any, extra: dict[str, str]) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **extra} if data else dict(extra)
        self._send(status, data, headers)

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Close the TCP connection with an RST, sending nothing."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            self.connection.close()


def _default_error(status: int) -> dict[str, Any]:
    codes = {400: "VALIDATION", 401: "AUTHENTICATION", 402: "FEATURE_DISABLED", 403: "PERMISSION_DENIED",
             404: "ENTITY_NOT_FOUND", 409: "VALIDATION", 429: "QUOTA_EXCEEDED", 500: "INTERNAL_SERVER_ERROR",
             502: "INTERNAL_SERVER_ERROR", 503: "INTERNAL_SERVER_ERROR"}
    if status == 429:
        return {"statusCode": 429, "error": "Too Many Requests", "message": "Rate limit exceeded, retry later"}
    if status == 401:
        return load_fixture("error.unauthorized.json")
    if status == 404:
        return load_fixture("error.not-found.json")
    if status == 409:
        return load_fixture("error.validation.json")
    return {"code": codes.get(status, "INTERNAL_SERVER_ERROR"), "params": {"message": f"injected HTTP {status}"}}


def days_ago(days: float) -> str:
    dt = datetime.now(UTC) - timedelta(days=days)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# -- pytest fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def activepieces_server():
    double = ActivepiecesDouble().start()
    yield double
    double.stop()


@pytest.fixture
def activepieces(activepieces_server):
    """The Activepieces double, reset and seeded from the fixtures; fails the test if any body
    it answered violated the schemas."""
    activepieces_server.reset()
    yield activepieces_server
    problems = list(activepieces_server.response_problems)
    activepieces_server.reset()
    assert not problems, f"the Activepieces double answered invalid bodies: {problems}"


def store_session(store, name: str, token: str) -> None:
    """Put a session token on profile ``name`` as ``aptui profile login`` would (expiry from its exp)."""
    from aptui.activepieces.auth import iso, token_expiry
    from aptui.masking import Secret
    from aptui.store import profiles

    profiles.set_session(store, name, Secret(token), expires=iso(token_expiry(token)), user=ADMIN_EMAIL)


def make_profile(ctx, double: ActivepiecesDouble, name: str, *, key: bool = True, session: bool = True,
                 make_default: bool = True):
    """A profile pointing at the double holding the API key, a session, or both (default project set)."""
    from aptui.masking import Secret
    from aptui.store import profiles

    profiles.create(ctx.store, name, double.url, api_key=Secret(double.api_key) if key else None,
                    default_project=DEFAULT_PROJECT, make_default=make_default)
    if session:
        store_session(ctx.store, name, double.session_token())
    return profiles.require(ctx.store, name)


@pytest.fixture
def ap_profile(ctx, activepieces):
    """A default profile ``ap-test`` pointing at the double with both credentials: the API key and a
    signed-in admin's session (default project set)."""
    return make_profile(ctx, activepieces, "ap-test")


@pytest.fixture
def ap_key_profile(ctx, activepieces):
    """``ap-key``: the API key only (principal SERVICE)."""
    return make_profile(ctx, activepieces, "ap-key", session=False)


@pytest.fixture
def ap_session_profile(ctx, activepieces):
    """``ap-user``: a user session only (principal USER)."""
    return make_profile(ctx, activepieces, "ap-user", key=False)
