"""A HashiCorp Vault double speaking Vault's HTTP API (paths, headers, status codes, bodies).

Fixture ``vault_double``: a started ``VaultDouble`` (fresh per test) with a KV v2 mount ``secret/``.
It models AppRole login (400 ``invalid role or secret ID``), tokens with TTL/expiry (403
``permission denied``), ``X-Vault-Namespace``, ``sys/mounts`` (deniable per role),
``sys/internal/ui/mounts/<path>``, KV v2 (``data/``, ``metadata/``, soft delete, destroy) and KV v1
mounts, ``auth/token/lookup-self`` / ``renew-self``, and AppRole secret-id management
(``role/<r>/secret-id``, ``secret-id/lookup``, ``secret-id/destroy``, ``secret-id-accessor/lookup``,
``secret-id-accessor/destroy``). Fault knobs come from ``DoubleServer``.

    role_id, secret_id = vault_double.add_approle("app")
    vault_double.put("secret", "keys", {"my-api-key": "v"})          # KV v2 write
    vault_double.enable_kv("kv", version=1); vault_double.put("kv", "app", {...})
    config = vault_double.config(role_id, secret_id)                 # aptui connection config
"""

from __future__ import annotations

import secrets as pysecrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest

from tests.doubles._http import DoubleServer, Reply, Request, rfc3339

DENIED = {"errors": ["permission denied"]}
POLICY_DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
BAD_LOGIN = {"errors": ["invalid role or secret ID"]}
NOT_FOUND: dict[str, Any] = {"errors": []}


@dataclass
class SecretIdEntry:
    secret_id: str
    accessor: str
    created: float
    ttl: int = 0  # seconds, 0 = never expires
    num_uses: int = 0  # 0 = unlimited
    metadata: dict[str, str] = field(default_factory=dict)
    last_updated: float = 0.0

    def expired(self, now: float) -> bool:
        return bool(self.ttl) and now >= self.created + self.ttl


@dataclass
class Role:
    name: str
    role_id: str
    namespace: str = ""
    token_ttl: int = 3600
    policies: list[str] = field(default_factory=lambda: ["default", "app"])
    read_mounts: bool = True  # may GET sys/mounts
    paths: list[str] | None = None  # readable path prefixes (None = all)
    manage_secret_ids: bool = False  # may call auth/approle/role/<r>/secret-id*
    secret_ids: dict[str, SecretIdEntry] = field(default_factory=dict)


@dataclass
class Token:
    token: str
    accessor: str
    role: Role
    namespace: str
    issued: float
    ttl: int
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked and (self.ttl == 0 or now < self.issued + self.ttl)


@dataclass
class KvVersion:
    data: dict[str, Any] | None
    created: float
    deleted: float | None = None
    destroyed: bool = False


@dataclass
class Mount:
    path: str  # "secret/"
    version: int  # 1 or 2
    namespace: str = ""
    accessor: str = field(default_factory=lambda: f"kv_{uuid.uuid4().hex[:8]}")
    v1: dict[str, dict[str, Any]] = field(default_factory=dict)
    v2: dict[str, list[KvVersion]] = field(default_factory=dict)
    custom_metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"type": "kv", "description": "", "accessor": self.accessor, "local": False, "seal_wrap": False,
                "external_entropy_access": False, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.path)),
                "config": {"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": False},
                "options": {"version": str(self.version)}, "plugin_version": "", "running_plugin_version":
                "v0.20.0+builtin", "running_sha256": ""}


class VaultDouble(DoubleServer):
    name = "vault"

    def __init__(self) -> None:
        super().__init__()
        self.state_lock = threading.RLock()
        self.roles: dict[tuple[str, str], Role] = {}  # (namespace, name)
        self.tokens: dict[str, Token] = {}
        self.mounts: dict[tuple[str, str], Mount] = {}
        self.clock_offset = 0.0
        self.logins = 0  # login attempts
        self.successful_logins = 0
        self.enable_kv("secret", version=2)

    # --- setup API (used by tests) -------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the double's clock (tokens and secret ids expire by it)."""
        self.clock_offset += seconds

    def config(self, role_id: str, secret_id: str, namespace: str | None = None) -> dict[str, str]:
        cfg = {"url": self.url, "roleId": role_id, "secretId": secret_id}
        if namespace:
            cfg["namespace"] = namespace
        return cfg

    def add_approle(self, name: str = "app", *, namespace: str = "", role_id: str | None = None,
                    secret_id: str | None = None, token_ttl: int = 3600, read_mounts: bool = True,
                    paths: list[str] | None = None, manage_secret_ids: bool = False,
                    secret_id_ttl: int = 0) -> tuple[str, str]:
        """Create an AppRole (and one secret id); returns ``(role_id, secret_id)``."""
        ns = namespace.strip("/")
        role = Role(name, role_id or str(uuid.uuid4()), ns, token_ttl, read_mounts=read_mounts, paths=paths,
                    manage_secret_ids=manage_secret_ids)
        with self.state_lock:
            self.roles[(ns, name)] = role
            entry = self._new_secret_id(role, secret_id, ttl=secret_id_ttl)
        return role.role_id, entry.secret_id

    def enable_kv(self, mount: str, *, version: int = 2, namespace: str = "") -> Mount:
        m = Mount(mount.strip("/") + "/", version, namespace.strip("/"))
        with self.state_lock:
            self.mounts[(m.namespace, m.path)] = m
        return m

    def put(self, mount: str, path: str, data: dict[str, Any], *, namespace: str = "") -> int:
        """Write a secret (KV v2: a new version, returned; KV v1: replace, returns 0)."""
        m = self._mount_exact(mount, namespace)
        with self.state_lock:
            if m.version == 1:
                m.v1[path.strip("/")] = dict(data)
                return 0
            versions = m.v2.setdefault(path.strip("/"), [])
            versions.append(KvVersion(dict(data), self.now()))
            return len(versions)

    def soft_delete(self, mount: str, path: str, *, version: int | None = None, namespace: str = "") -> None:
        m = self._mount_exact(mount, namespace)
        with self.state_lock:
            versions = m.v2[path.strip("/")]
            versions[(version or len(versions)) - 1].deleted = self.now()

    def destroy(self, mount: str, path: str, *, version: int | None = None, namespace: str = "") -> None:
        m = self._mount_exact(mount, namespace)
        with self.state_lock:
            versions = m.v2[path.strip("/")]
            v = versions[(version or len(versions)) - 1]
            v.destroyed, v.data = True, None

    def expire_tokens(self) -> None:
        """Revoke every token issued so far (clients must log in again)."""
        with self.state_lock:
            for t in self.tokens.values():
                t.revoked = True

    def role(self, name: str = "app", namespace: str = "") -> Role:
        return self.roles[(namespace.strip("/"), name)]

    # --- helpers -------------------------------------------------------------------------------

    def _mount_exact(self, mount: str, namespace: str) -> Mount:
        return self.mounts[(namespace.strip("/"), mount.strip("/") + "/")]

    def _new_secret_id(self, role: Role, secret_id: str | None = None, *, ttl: int = 0,
                       metadata: dict[str, str] | None = None) -> SecretIdEntry:
        now = self.now()
        entry = SecretIdEntry(secret_id or str(uuid.uuid4()), str(uuid.uuid4()), now, ttl, 0,
                              dict(metadata or {}), now)
        role.secret_ids[entry.secret_id] = entry
        return entry

    def _find_mount(self, ns: str, rest: str) -> tuple[Mount | None, str]:
        probe = rest.strip("/") + "/"
        best = max((m for (n, p), m in self.mounts.items() if n == ns and probe.startswith(p)),
                   key=lambda m: len(m.path), default=None)
        if best is None:
            return None, ""
        return best, probe[len(best.path):].strip("/")

    @staticmethod
    def _envelope(data: Any = None, **extra: Any) -> dict[str, Any]:
        body = {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
                "data": data, "wrap_info": None, "warnings": None, "auth": None}
        body.update(extra)
        return body

    def _token(self, req: Request, ns: str) -> Token | None:
        raw = req.header("X-Vault-Token")
        auth = req.header("Authorization") or ""
        if not raw and auth.lower().startswith("bearer "):
            raw = auth[7:].strip()
        with self.state_lock:
            tok = self.tokens.get(raw or "")
        if tok is None or not tok.valid(self.now()) or tok.namespace != ns:
            return None
        return tok

    @staticmethod
    def _allowed(tok: Token, rest: str) -> bool:
        paths = tok.role.paths
        return paths is None or any(rest.startswith(p.strip("/")) for p in paths)

    # --- routing -------------------------------------------------------------------------------

    def route(self, req: Request) -> Reply:
        if not req.path.startswith("/v1/"):
            return Reply(404, NOT_FOUND)
        rest = unquote(req.path[4:]).strip("/")
        ns = (req.header("X-Vault-Namespace") or "").strip("/")
        method = req.method
        if method == "LIST" or (method == "GET" and req.query.get("list") == ["true"]):
            method = "LIST"
        if rest == "auth/approle/login" and method in ("POST", "PUT"):
            return self._login(req, ns)
        tok = self._token(req, ns)
        if tok is None:
            return Reply(403, DENIED)
        if rest == "auth/token/lookup-self":
            return Reply(200, self._envelope(self._token_data(tok)))
        if rest == "auth/token/renew-self" and method in ("POST", "PUT"):
            with self.state_lock:
                tok.issued = self.now()
            return Reply(200, self._envelope(None, auth=self._auth_block(tok)))
        if rest == "sys/mounts":
            if not tok.role.read_mounts:
                return Reply(403, POLICY_DENIED)
            return self._sys_mounts(ns)
        if rest.startswith("sys/internal/ui/mounts/"):
            return self._ui_mount(ns, rest[len("sys/internal/ui/mounts/"):])
        if rest.startswith("auth/approle/role/"):
            if not tok.role.manage_secret_ids:
                return Reply(403, POLICY_DENIED)
            return self._approle_admin(req, ns, rest[len("auth/approle/role/"):], method)
        if not self._allowed(tok, rest):
            return Reply(403, POLICY_DENIED)
        mount, sub = self._find_mount(ns, rest)
        if mount is None:
            return Reply(404, {"errors": [f"no handler for route \"{rest}\". route entry not found."]})
        return self._kv(req, mount, sub, method)

    def _login(self, req: Request, ns: str) -> Reply:
        body = req.json() or {}
        with self.state_lock:
            self.logins += 1
            now = self.now()
            role = next((r for (n, _), r in self.roles.items() if n == ns and r.role_id == body.get("role_id")), None)
            entry = role.secret_ids.get(str(body.get("secret_id"))) if role else None
            if role is None or entry is None or entry.expired(now):
                return Reply(400, BAD_LOGIN)
            self.successful_logins += 1
            tok = Token("hvs." + pysecrets.token_urlsafe(18), pysecrets.token_hex(12), role, ns, now, role.token_ttl)
            self.tokens[tok.token] = tok
        return Reply(200, self._envelope(None, auth=self._auth_block(tok)))

    def _auth_block(self, tok: Token) -> dict[str, Any]:
        return {"client_token": tok.token, "accessor": tok.accessor, "policies": tok.role.policies,
                "token_policies": tok.role.policies, "metadata": {"role_name": tok.role.name},
                "lease_duration": tok.ttl, "renewable": True, "entity_id": "", "token_type": "service",
                "orphan": True, "mfa_requirement": None, "num_uses": 0}

    def _token_data(self, tok: Token) -> dict[str, Any]:
        now = self.now()
        left = max(0, int(tok.issued + tok.ttl - now)) if tok.ttl else 0
        return {"accessor": tok.accessor, "creation_time": int(tok.issued), "creation_ttl": tok.ttl,
                "display_name": "approle", "entity_id": "", "expire_time": rfc3339(tok.issued + tok.ttl)
                if tok.ttl else None, "explicit_max_ttl": 0, "id": tok.token, "issue_time": rfc3339(tok.issued),
                "meta": {"role_name": tok.role.name}, "num_uses": 0, "orphan": True, "path": "auth/approle/login",
                "policies": tok.role.policies, "renewable": True, "ttl": left, "type": "service"}

    def _sys_mounts(self, ns: str) -> Reply:
        mounts: dict[str, Any] = {
            "cubbyhole/": {"type": "cubbyhole", "description": "per-token private secret storage", "options": None},
            "identity/": {"type": "identity", "description": "identity store", "options": None},
            "sys/": {"type": "system", "description": "system endpoints", "options": None},
        }
        with self.state_lock:
            for (n, p), m in self.mounts.items():
                if n == ns:
                    mounts[p] = m.info()
        return Reply(200, {**mounts, **self._envelope(mounts)})

    def _ui_mount(self, ns: str, rest: str) -> Reply:
        mount, _ = self._find_mount(ns, rest)
        if mount is None:
            return Reply(403, {"errors": [f"preflight capability check returned 403, please ensure client's "
                                          f"policies grant access to path \"{rest.strip('/')}/\""]})
        return Reply(200, self._envelope({**mount.info(), "path": mount.path}))

    # --- KV ------------------------------------------------------------------------------------

    def _kv(self, req: Request, mount: Mount, sub: str, method: str) -> Reply:
        if mount.version == 1:
            return self._kv1(req, mount, sub, method)
        head, _, path = sub.partition("/")
        if head == "data" and path:
            return self._kv2_data(req, mount, path, method)
        if head == "metadata" and path:
            return self._kv2_metadata(mount, path, method)
        return Reply(404, NOT_FOUND)

    def _kv1(self, req: Request, mount: Mount, sub: str, method: str) -> Reply:
        with self.state_lock:
            if method in ("POST", "PUT"):
                mount.v1[sub] = dict(req.json() or {})
                return Reply(204)
            if method == "DELETE":
                mount.v1.pop(sub, None)
                return Reply(204)
            data = mount.v1.get(sub)
        if data is None:
            return Reply(404, NOT_FOUND)
        return Reply(200, self._envelope(data, lease_duration=2764800, mount_type="kv"))

    def _meta(self, versions: list[KvVersion], n: int) -> dict[str, Any]:
        v = versions[n - 1]
        return {"created_time": rfc3339(v.created), "custom_metadata": None,
                "deletion_time": rfc3339(v.deleted), "destroyed": v.destroyed, "version": n}

    def _kv2_data(self, req: Request, mount: Mount, path: str, method: str) -> Reply:
        with self.state_lock:
            if method in ("POST", "PUT"):
                body = req.json() or {}
                versions = mount.v2.setdefault(path, [])
                versions.append(KvVersion(dict(body.get("data") or {}), self.now()))
                return Reply(200, self._envelope(self._meta(versions, len(versions))))
            versions = mount.v2.get(path)
            if method == "DELETE":
                if versions:
                    versions[-1].deleted = self.now()
                return Reply(204)
            if not versions:
                return Reply(404, NOT_FOUND)
            wanted = req.query.get("version", ["0"])[0]
            n = int(wanted) if wanted.isdigit() and int(wanted) > 0 else len(versions)
            if n > len(versions):
                return Reply(404, NOT_FOUND)
            v = versions[n - 1]
            meta = self._meta(versions, n)
        if v.deleted is not None or v.destroyed:
            return Reply(404, self._envelope({"data": None, "metadata": meta}))
        return Reply(200, self._envelope({"data": v.data, "metadata": meta}, mount_type="kv"))

    def _kv2_metadata(self, mount: Mount, path: str, method: str) -> Reply:
        with self.state_lock:
            versions = mount.v2.get(path)
            if not versions:
                return Reply(404, NOT_FOUND)
            data = {
                "cas_required": False, "created_time": rfc3339(versions[0].created),
                "current_version": len(versions), "custom_metadata": mount.custom_metadata.get(path),
                "delete_version_after": "0s", "max_versions": 0, "oldest_version": 0,
                "updated_time": rfc3339(versions[-1].created),
                "versions": {str(i + 1): {"created_time": rfc3339(v.created), "deletion_time": rfc3339(v.deleted),
                                          "destroyed": v.destroyed} for i, v in enumerate(versions)},
            }
        return Reply(200, self._envelope(data))

    # --- AppRole secret-id management ----------------------------------------------------------

    def _secret_id_data(self, e: SecretIdEntry) -> dict[str, Any]:
        return {"cidr_list": [], "creation_time": rfc3339(e.created),
                "expiration_time": rfc3339(e.created + e.ttl) if e.ttl else "0001-01-01T00:00:00Z",
                "last_updated_time": rfc3339(e.last_updated), "metadata": e.metadata,
                "secret_id_accessor": e.accessor, "secret_id_num_uses": e.num_uses, "secret_id_ttl": e.ttl,
                "token_bound_cidrs": []}

    def _approle_admin(self, req: Request, ns: str, rest: str, method: str) -> Reply:
        name, _, action = rest.partition("/")
        body = req.json() or {}
        with self.state_lock:
            role = self.roles.get((ns, name))
            if role is None:
                return Reply(400, {"errors": [f"role \"{name}\" does not exist"]})
            if action == "secret-id" and method in ("POST", "PUT"):
                e = self._new_secret_id(role, ttl=int(body.get("ttl") or 0), metadata=body.get("metadata"))
                return Reply(200, self._envelope({"secret_id": e.secret_id, "secret_id_accessor": e.accessor,
                                                  "secret_id_ttl": e.ttl, "secret_id_num_uses": e.num_uses}))
            if action == "secret-id" and method == "LIST":
                return Reply(200, self._envelope({"keys": sorted(e.accessor for e in role.secret_ids.values())}))
            if action == "secret-id/lookup":
                e = role.secret_ids.get(str(body.get("secret_id")))
                return Reply(200, self._envelope(self._secret_id_data(e))) if e else Reply(204)
            if action == "secret-id/destroy":
                role.secret_ids.pop(str(body.get("secret_id")), None)
                return Reply(204)
            by_accessor = {e.accessor: e for e in role.secret_ids.values()}
            acc = str(body.get("secret_id_accessor"))
            if action == "secret-id-accessor/lookup":
                e = by_accessor.get(acc)
                if e is None:
                    return Reply(404, {"errors": [f"failed to find accessor entry for secret_id_accessor: \"{acc}\""]})
                return Reply(200, self._envelope(self._secret_id_data(e)))
            if action == "secret-id-accessor/destroy":
                e = by_accessor.get(acc)
                if e is None:
                    return Reply(404, {"errors": [f"failed to find accessor entry for secret_id_accessor: \"{acc}\""]})
                role.secret_ids.pop(e.secret_id, None)
                return Reply(204)
        return Reply(405, {"errors": ["unsupported operation"]})


@pytest.fixture
def vault_double():
    """A running Vault double on 127.0.0.1 (ephemeral port), stopped after the test."""
    double = VaultDouble().start()
    try:
        yield double
    finally:
        double.stop()
