"""Platform use cases shared by the CLI and the TUI (no printing, no Textual).

Every function takes the ``Context`` and a profile (name, ``Profile`` or None for the default).
Clients are kept per (context, event loop, profile) so a TUI session reuses one keep-alive
connection; call ``aclose(ctx)`` when done. Secrets (connection values, secret-manager configs,
MCP tokens) never reach the audit log; a rotated MCP token is returned once, as a ``Secret``.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aptui.activepieces import api_keys as ap_api_keys
from aptui.activepieces import connections as ap_connections
from aptui.activepieces import flags as ap_flags
from aptui.activepieces import mcp as ap_mcp
from aptui.activepieces import pieces as ap_pieces
from aptui.activepieces import projects as ap_projects
from aptui.activepieces import runs as ap_runs
from aptui.activepieces import secret_managers as ap_sm
from aptui.activepieces.client import ActivepiecesClient, ApiError, SeekPage
from aptui.errors import AptuiError, Exit, usage
from aptui.masking import Secret
from aptui.services import profiles as profile_service
from aptui.services.context import Context
from aptui.store import profiles as store_profiles
from aptui.store.profiles import Profile

ProfileRef = str | Profile | None


# -- sessions --------------------------------------------------------------------------------


@dataclass
class Platform:
    """A profile and its open client (bound to the event loop that created it)."""

    profile: Profile
    client: ActivepiecesClient
    loop: asyncio.AbstractEventLoop

    def project(self, explicit: str | None, *, required: bool = True) -> str | None:
        """``explicit``, else the profile's default project; exit 2 when required and missing."""
        pid = explicit or self.profile.default_project
        if required and not pid:
            raise usage("a project is required here", code="PROJECT_REQUIRED",
                        hint=f"pass --project ID, or set a default: aptui profile update {self.profile.name} "
                             "--project ID")
        return pid


_SESSIONS: weakref.WeakKeyDictionary[Context, dict[tuple[int, str], Platform]] = weakref.WeakKeyDictionary()


async def session(ctx: Context, profile: ProfileRef = None) -> Platform:
    """The open ``Platform`` for ``profile`` on the running loop (created, key checked, on first use)."""
    prof = profile if isinstance(profile, Profile) else profile_service.resolve_profile(ctx, profile)
    loop = asyncio.get_running_loop()
    cache = _SESSIONS.setdefault(ctx, {})
    key = (id(loop), prof.id)
    current = cache.get(key)
    if current is not None and _changed(current.profile, prof) and not current.client.closed:
        await current.client.aclose()  # updated from another shell (url, key, TLS, project): a new client
    if current is None or current.loop is not loop or current.client.closed:
        current = Platform(prof, profile_service.client_for(ctx, prof), loop)
        cache[key] = current
    return current


def _changed(old: Profile, new: Profile) -> bool:
    return (old.base_url, old.default_project, old.ca_bundle, old.verify_tls, old.api_key_set_at) != \
        (new.base_url, new.default_project, new.ca_bundle, new.verify_tls, new.api_key_set_at)


async def aclose(ctx: Context) -> None:
    """Close every client this context opened on the running loop (others are dropped)."""
    cache = _SESSIONS.pop(ctx, {})
    loop = asyncio.get_running_loop()
    for sess in cache.values():
        if sess.loop is loop and not sess.client.closed:
            await sess.client.aclose()


# -- server, projects, pieces -------------------------------------------------------------------


async def server_info(ctx: Context, profile: ProfileRef = None) -> dict[str, Any]:
    """Version and edition from ``GET /v1/flags`` (remembered on the profile)."""
    p = await session(ctx, profile)
    flags = await ap_flags.get_flags(p.client)
    version = ap_flags.server_version(flags)
    p.client.facts["server_version"] = version
    if version and version != p.profile.server_version:
        store_profiles.set_server_version(ctx.store, p.profile, version)
    return {"profile": p.profile.name, "url": p.client.base_url, "server_version": version,
            "edition": ap_flags.edition(flags)}


async def list_projects(ctx: Context, profile: ProfileRef = None) -> list[dict[str, Any]]:
    p = await session(ctx, profile)
    return await ap_projects.list_projects(p.client)


async def list_pieces(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                      include_hidden: bool = False, search: str | None = None,
                      private_only: bool = False) -> list[dict[str, Any]]:
    """Installed pieces with ``private`` = installed by the platform (``pieceType`` CUSTOM)."""
    p = await session(ctx, profile)
    items = await ap_pieces.list_pieces(p.client, project_id=p.project(project, required=False),
                                        include_hidden=include_hidden, search=search)
    return [i for i in items if i["private"]] if private_only else items


async def own_api_key(ctx: Context, profile: ProfileRef = None) -> dict[str, Any]:
    """The platform's record of the key this profile uses (``GET /v1/api-keys``).

    ``{"keys": n listed, "matches": [entries whose truncatedValue is the key's last 4 chars]}``:
    exactly one match is the profile's key (``created``, ``lastUsedAt``); none means the key is
    not a platform API key the list shows; several are ambiguous.
    """
    p = await session(ctx, profile)
    keys = await ap_api_keys.list_api_keys(p.client)
    key = profile_service.resolve_api_key(ctx, p.profile)
    return {"keys": len(keys), "matches": ap_api_keys.matching(keys, key)}


# -- app connections ------------------------------------------------------------------------------


async def iter_app_connections(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                               piece_name: str | None = None, display_name: str | None = None,
                               status: list[str] | None = None, scope: str | None = None,
                               tenant: str | None = None, page_size: int = 100,
                               max_items: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """Stream a project's app connections (one page in memory at a time).

    ``tenant`` filters on ``metadata.tenantId`` client-side (Ever Gauzy's convention).
    """
    p = await session(ctx, profile)
    pid = p.project(project)
    count = 0
    async for conn in ap_connections.iter_connections(p.client, pid, limit=page_size, piece_name=piece_name,
                                                       display_name=display_name, status=status, scope=scope):
        if tenant is not None and ap_connections.tenant_of(conn) != tenant:
            continue
        yield conn
        count += 1
        if max_items is not None and count >= max_items:
            return


async def app_connections_page(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                               cursor: str | None = None, limit: int = 50, **filters: Any) -> SeekPage:
    """One page of app connections, for paged views (``page.next`` is the next cursor)."""
    p = await session(ctx, profile)
    return await ap_connections.page(p.client, p.project(project), cursor=cursor, limit=limit, **filters)


async def find_app_connection(ctx: Context, profile: ProfileRef, connection_id: str,
                              project: str | None = None) -> dict[str, Any] | None:
    """The connection with ``connection_id`` in the project, or None (lists the project)."""
    async for conn in iter_app_connections(ctx, profile, project=project):
        if conn.get("id") == connection_id:
            return conn
    return None


def is_reference(value: Secret | str) -> bool:
    """Whether the whole value is a secret-manager reference Activepieces would resolve."""
    from aptui.references import grammar

    text = value.reveal() if isinstance(value, Secret) else value
    return isinstance(grammar.parse(text), grammar.Reference)


def reference_tester_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("aptui.services.references") is not None


async def check_reference(ctx: Context, value: Secret, project: str | None) -> dict[str, Any]:
    """Test a reference value with the reference tester (live, masked): its verdict as a dict,
    plus ``ok`` = Activepieces itself would resolve it. The resolved value is never included."""
    from aptui.services import references

    result = await references.test_reference(ctx, value.reveal(), project_ids=project)
    data = result.to_dict(reveal=False)
    data.pop("value", None)
    data["ok"] = result.verdict == references.RESOLVES and bool(result.activepieces_resolves)
    return data


async def upsert_app_connection(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                                external_id: str, display_name: str, piece_name: str, value: Secret,
                                metadata: dict[str, Any] | None = None,
                                piece_version: str | None = None) -> dict[str, Any]:
    """Create or replace a SECRET_TEXT connection keyed by (project, externalId)."""
    ctx.require_writable("connection upsert")
    if not isinstance(value, Secret) or not value:
        raise usage("the connection value is empty")
    for label, text in (("--external-id", external_id), ("--display-name", display_name),
                        ("--piece-name", piece_name)):
        if not text or not text.strip():
            raise usage(f"{label} must not be empty")
    if metadata is not None and not isinstance(metadata, dict):
        raise usage("metadata must be a JSON object")
    p = await session(ctx, profile)
    pid = p.project(project)
    try:
        result = await ap_connections.upsert_secret_text(
            p.client, value=value, project_id=pid, external_id=external_id, display_name=display_name,
            piece_name=piece_name, metadata=metadata, piece_version=piece_version)
    except AptuiError as err:
        ctx.audit("platform.connection.upsert", f"{pid}/{external_id}", "failed", err.code)
        raise
    ctx.audit("platform.connection.upsert", f"{pid}/{external_id}", "ok",
              f"id={result.get('id')}; piece={piece_name}; reference={'yes' if is_reference(value) else 'no'}")
    return result


async def delete_app_connection(ctx: Context, profile: ProfileRef = None, *, connection_id: str,
                                project: str | None = None) -> None:
    ctx.require_writable("connection delete")
    p = await session(ctx, profile)
    try:
        await ap_connections.delete(p.client, connection_id, project_id=p.project(project, required=False))
    except AptuiError as err:
        ctx.audit("platform.connection.delete", connection_id, "failed", err.code)
        raise
    ctx.audit("platform.connection.delete", connection_id, "ok")


# -- MCP ------------------------------------------------------------------------------------------


@dataclass
class RotatedToken:
    """The outcome of a rotation: the server (no token) and the new token, shown once."""

    project_id: str
    server: dict[str, Any]
    token: Secret

    def to_dict(self) -> dict[str, Any]:  # never includes the token
        return {"projectId": self.project_id, "server": self.server}


async def mcp_servers(ctx: Context, profile: ProfileRef = None, *,
                      projects: list[str] | None = None) -> list[dict[str, Any]]:
    """MCP servers (tokens removed) of the given projects, or of every project the key sees.

    A project whose server cannot be read gives an entry ``{"projectId", "error"}``.
    """
    p = await session(ctx, profile)
    ids = list(projects or [])
    if not ids:
        ids = [pr["id"] async for pr in ap_projects.iter_projects(p.client)]
    out: list[dict[str, Any]] = []
    for pid in ids:
        try:
            for server in await ap_mcp.get_servers(p.client, pid):
                out.append({**server, "projectId": server.get("projectId") or pid})
        except ApiError as err:
            if err.status in (401,) or err.status is None:
                raise
            out.append({"projectId": pid, "error": err.to_dict()})
    return out


async def mcp_show(ctx: Context, profile: ProfileRef = None, *, project: str | None = None) -> list[dict[str, Any]]:
    p = await session(ctx, profile)
    return await ap_mcp.get_servers(p.client, p.project(project))


async def mcp_platform_show(ctx: Context, profile: ProfileRef = None) -> dict[str, Any]:
    """The platform's own MCP server (``GET /v1/mcp-server``; a signed-in platform admin)."""
    p = await session(ctx, profile)
    return await ap_mcp.get_platform_server(p.client)


OAUTH_NOTICE = ("this platform's MCP clients authenticate by OAuth (it has POST …/mcp-server/token). Rotating "
                "replaces the server's stored token: clients configured with that token stop working. It does "
                "not revoke OAuth access tokens already issued to MCP clients (they expire within 15 minutes) "
                "nor their OAuth grants: revoke those in the platform's settings.")


async def mcp_rotate_notice(ctx: Context, profile: ProfileRef = None, *, project: str | None = None) -> str | None:
    """What to say before a rotation is confirmed: the OAuth-era notice, or None."""
    p = await session(ctx, profile)
    return OAUTH_NOTICE if await ap_mcp.oauth_era(p.client, p.project(project)) else None


async def mcp_update(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                     disable: list[str] | None = None, enable: list[str] | None = None,
                     disabled_tools: list[str] | None = None, name: str | None = None,
                     server_id: str | None = None) -> dict[str, Any]:
    """Change which tools are disabled: a full list (``disabled_tools``) or ``disable``/``enable``
    edits of the current list; ``name`` for older, named servers."""
    ctx.require_writable("mcp update")
    p = await session(ctx, profile)
    pid = p.project(project)
    new_list: list[str] | None = None
    if disabled_tools is not None:
        new_list = list(dict.fromkeys(disabled_tools))
    elif disable or enable:
        servers = await ap_mcp.get_servers(p.client, pid)
        current = next((s for s in servers if not server_id or s.get("id") == server_id), servers[0] if servers else {})
        new_list = [t for t in (current.get("disabledTools") or []) if t not in set(enable or [])]
        new_list += [t for t in (disable or []) if t not in new_list]
    if new_list is None and name is None:
        raise usage("nothing to change", hint="use --disable/--enable TOOL, --disabled-tools LIST or --name")
    try:
        result = await ap_mcp.update_server(p.client, pid, disabled_tools=new_list, name=name, server_id=server_id)
    except AptuiError as err:
        ctx.audit("platform.mcp.update", pid, "failed", err.code)
        raise
    ctx.audit("platform.mcp.update", pid, "ok",
              f"disabledTools={','.join(new_list) if new_list is not None else '(unchanged)'}")
    return result


async def rotate_mcp_token(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                           server_id: str | None = None, platform_server: bool = False) -> RotatedToken:
    """Rotate the project's (or with ``platform_server`` the platform's) MCP token. The token comes
    back ONCE, as a ``Secret``: show or copy it, then drop it. Never stored, logged or audited."""
    ctx.require_writable("mcp rotate")
    p = await session(ctx, profile)
    pid = "platform" if platform_server else p.project(project)
    try:
        if platform_server:
            server, token = await ap_mcp.rotate_platform_token(p.client)
        else:
            server, token = await ap_mcp.rotate_token(p.client, pid, server_id=server_id)
    except AptuiError as err:
        ctx.audit("platform.mcp.rotate", pid, "unknown" if getattr(err, "outcome_unknown", False) else "failed",
                  err.code)
        raise
    ctx.audit("platform.mcp.rotate", pid, "ok", f"server={server.get('id')}")
    return RotatedToken(project_id=pid, server=server, token=token)


# -- remote secret managers ------------------------------------------------------------------------


def build_secret_manager_body(*, provider_id: str, name: str, scope: str, project_ids: list[str] | None,
                              config: dict[str, Any]) -> dict[str, Any]:
    """Validate against Activepieces' fields and build ``ConnectSecretManagerRequestSchema``."""
    from aptui.providers.fields import PROVIDERS, upstream_config

    spec = PROVIDERS.get(provider_id)
    if spec is None:
        raise usage(f"unknown provider {provider_id!r}", hint="one of: " + ", ".join(PROVIDERS))
    if not name or not name.strip():
        raise usage("the name must not be empty")
    scope = (scope or "PLATFORM").upper()
    if scope not in ("PLATFORM", "PROJECT"):
        raise usage(f"scope must be PLATFORM or PROJECT, got {scope!r}")
    if scope == "PROJECT" and not project_ids:
        raise usage("Please select at least one project", hint="add --project ID (repeatable)")
    unknown = [k for k in config if spec.field(k) is None]
    if unknown:
        raise usage(f"unknown field {unknown[0]!r} for {provider_id}",
                    hint="fields: " + ", ".join(f.name for f in spec.fields))
    missing = [f.name for f in spec.required if not config.get(f.name)]
    if missing:
        raise usage(f"missing field {missing[0]!r} for {provider_id}")
    return ap_sm.connect_body(provider_id=provider_id, name=name, scope=scope,
                              project_ids=project_ids if scope == "PROJECT" else None,
                              config=upstream_config(provider_id, config))


async def list_remote_secret_managers(ctx: Context, profile: ProfileRef = None, *,
                                      project: str | None = None) -> list[dict[str, Any]]:
    p = await session(ctx, profile)
    return await ap_sm.list_connections(p.client, project_id=project)


async def create_remote_secret_manager(ctx: Context, profile: ProfileRef = None, *, provider_id: str, name: str,
                                       scope: str = "PLATFORM", project_ids: list[str] | None = None,
                                       config: dict[str, Any]) -> dict[str, Any]:
    """Create on the platform (it tests the connection live first and saves nothing on failure)."""
    ctx.require_writable("secret-manager create")
    body = build_secret_manager_body(provider_id=provider_id, name=name, scope=scope, project_ids=project_ids,
                                     config=config)
    p = await session(ctx, profile)
    try:
        result = await ap_sm.create(p.client, body)
    except AptuiError as err:
        ctx.audit("platform.secret-manager.create", name, "failed", err.code)
        raise
    ctx.audit("platform.secret-manager.create", name, "ok", f"id={result.get('id')}; provider={provider_id}")
    return result


async def update_remote_secret_manager(ctx: Context, profile: ProfileRef = None, *, connection_id: str,
                                       provider_id: str, name: str, scope: str = "PLATFORM",
                                       project_ids: list[str] | None = None,
                                       config: dict[str, Any]) -> dict[str, Any]:
    ctx.require_writable("secret-manager update")
    body = build_secret_manager_body(provider_id=provider_id, name=name, scope=scope, project_ids=project_ids,
                                     config=config)
    p = await session(ctx, profile)
    try:
        result = await ap_sm.update(p.client, connection_id, body)
    except AptuiError as err:
        ctx.audit("platform.secret-manager.update", connection_id, "failed", err.code)
        raise
    ctx.audit("platform.secret-manager.update", connection_id, "ok", f"name={name}; provider={provider_id}")
    return result


async def delete_remote_secret_manager(ctx: Context, profile: ProfileRef = None, *, connection_id: str) -> None:
    ctx.require_writable("secret-manager delete")
    p = await session(ctx, profile)
    try:
        await ap_sm.delete(p.client, connection_id)
    except AptuiError as err:
        ctx.audit("platform.secret-manager.delete", connection_id, "failed", err.code)
        raise
    ctx.audit("platform.secret-manager.delete", connection_id, "ok")


async def clear_remote_cache(ctx: Context, profile: ProfileRef = None,
                             connection_id: str | None = None) -> dict[str, Any]:
    """Clear the platform's secret-manager cache: all of it, or one connection's entries."""
    ctx.require_writable("remote cache clear")
    p = await session(ctx, profile)
    target = connection_id or "platform"
    try:
        await ap_sm.clear_cache(p.client, connection_id)
    except AptuiError as err:
        ctx.audit("platform.cache.clear", target, "failed", err.code)
        raise
    ctx.audit("platform.cache.clear", target, "ok", f"profile={p.profile.name}")
    return {"ok": True, "profile": p.profile.name, "connectionId": connection_id,
            "scope": "connection" if connection_id else "platform"}


# -- flow runs --------------------------------------------------------------------------------------


async def iter_flow_runs(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                         status: list[str] | None = None, flow_ids: list[str] | None = None,
                         created_after: str | None = None, created_before: str | None = None,
                         failed_step_name: str | None = None, page_size: int = 100,
                         max_items: int | None = None) -> AsyncIterator[dict[str, Any]]:
    p = await session(ctx, profile)
    pid = p.project(project)
    count = 0
    async for run in ap_runs.iter_runs(p.client, pid, limit=page_size, status=status, flow_ids=flow_ids,
                                       created_after=created_after, created_before=created_before,
                                       failed_step_name=failed_step_name):
        yield run
        count += 1
        if max_items is not None and count >= max_items:
            return


RETRIED, WOULD_RETRY, FAILED, UNKNOWN, SKIPPED, NOT_ATTEMPTED = (
    "retried", "would-retry", "failed", "unknown", "skipped", "not-attempted")


@dataclass
class RunOutcome:
    """What happened to one run of a retry batch."""

    run_id: str
    outcome: str
    flow_id: str | None = None
    status: str | None = None  # the run's status before (when known)
    new_status: str | None = None
    code: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class RetryReport:
    project_id: str
    strategy: str
    dry_run: bool
    outcomes: list[RunOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def ok(self) -> bool:
        """True when nothing failed, was left unknown, or was not attempted."""
        return not any(o.outcome in (FAILED, UNKNOWN, NOT_ATTEMPTED) for o in self.outcomes)

    def summary(self) -> dict[str, int]:
        return {k: self.count(k) for k in (WOULD_RETRY, RETRIED, FAILED, UNKNOWN, SKIPPED, NOT_ATTEMPTED)
                if self.count(k)}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "projectId": self.project_id, "strategy": self.strategy, "dryRun": self.dry_run,
                "summary": self.summary(), "elapsed_s": round(self.elapsed_s, 3),
                "runs": [o.to_dict() for o in self.outcomes]}


def _stops_batch(err: AptuiError) -> bool:
    """Errors after which no further retry can succeed (bad credential, platform unreachable)."""
    status = getattr(err, "status", None)
    return status == 401 or err.code in ("PLATFORM_UNREACHABLE", "API_KEY_MISSING", "SESSION_EXPIRED",
                                         "USER_SESSION_REQUIRED")


BULK_CHUNK = 50  # flowRunIds per POST /v1/flow-runs/retry


class _Retrier:
    """Sends the retries of one batch: bulk (``POST /v1/flow-runs/retry`` with explicit ids, in
    chunks) while the server has the route, one by one after a route-missing 404. Never resends."""

    def __init__(self, p: Platform, pid: str, strategy: str, rate: float, bulk: bool, chunk: int) -> None:
        self.p, self.pid, self.strategy, self.bulk, self.chunk = p, pid, strategy, bulk, max(1, chunk)
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.stopped: AptuiError | None = None

    async def _pace(self) -> None:
        delay = self.next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval

    def _failed(self, base: dict[str, Any], err: AptuiError) -> RunOutcome:
        unknown = bool(getattr(err, "outcome_unknown", False))
        if _stops_batch(err):
            self.stopped = err
        return RunOutcome(**base, outcome=UNKNOWN if unknown else FAILED, code=err.code, message=err.message)

    async def one(self, base: dict[str, Any]) -> RunOutcome:
        if self.stopped is not None:
            return RunOutcome(**base, outcome=NOT_ATTEMPTED, code=self.stopped.code,
                              message="not attempted: the batch stopped")
        await self._pace()
        try:
            answer = await ap_runs.retry(self.p.client, base["run_id"], project_id=self.pid, strategy=self.strategy)
            return RunOutcome(**base, outcome=RETRIED, new_status=answer.get("status"))
        except AptuiError as err:
            return self._failed(base, err)

    async def many(self, bases: list[dict[str, Any]]) -> list[RunOutcome]:
        """Outcomes for ``bases`` in their order (bulk chunks, or one by one)."""
        out: list[RunOutcome] = []
        rest = list(bases)
        while rest:
            if self.stopped is not None or not self.bulk:
                out += [await self.one(b) for b in rest]
                return out
            chunk, rest = rest[:self.chunk], rest[self.chunk:]
            await self._pace()
            try:
                answer = await ap_runs.bulk_retry(self.p.client, [b["run_id"] for b in chunk], project_id=self.pid,
                                                  strategy=self.strategy)
            except AptuiError as err:
                if isinstance(err, ApiError) and ap_mcp.route_missing(err):
                    self.bulk = False  # an older server: one by one, nothing of this chunk was sent
                    rest = chunk + rest
                    continue
                out += [self._failed(b, err) for b in chunk]
                continue
            out += [RunOutcome(**b, outcome=RETRIED, new_status=answer[b["run_id"]].get("status"))
                    if b["run_id"] in answer else
                    RunOutcome(**b, outcome=FAILED, code="NOT_RETRIED",
                               message="the platform's bulk retry did not retry this run") for b in chunk]
        return out


async def retry_runs(ctx: Context, profile: ProfileRef = None, *, project: str | None = None,
                     run_ids: list[str] | None = None, status: list[str] | None = None,
                     flow_ids: list[str] | None = None, created_after: str | None = None,
                     created_before: str | None = None, failed_step_name: str | None = None,
                     strategy: str = "FROM_FAILED_STEP", dry_run: bool = False, rate_per_second: float = 2.0,
                     max_runs: int | None = None, bulk: bool = True, chunk_size: int = BULK_CHUNK,
                     on_progress: Callable[[int, int, RunOutcome], None] | None = None) -> RetryReport:
    """Retry runs: ``POST /v1/flow-runs/retry`` with an explicit ``flowRunIds`` list in chunks of
    ``chunk_size`` (``bulk``), or one by one (``POST /v1/flow-runs/:id/retry``) where the server has
    no bulk route (a route-missing 404); requests at most ``rate_per_second``.

    Targets: ``run_ids``, or the runs matching the filters (default status FAILED). Runs not in a
    terminal state are skipped. A retry POST is never resent: no answer means outcome ``unknown``
    (for a whole chunk). A bad credential or an unreachable platform stops the batch; the rest are
    ``not-attempted``. Each run gets its own outcome either way.
    ``on_progress(done, total, outcome)`` is called after each run.
    """
    if strategy not in ap_runs.STRATEGIES:
        raise usage(f"unknown retry strategy {strategy!r}", hint="one of: " + ", ".join(ap_runs.STRATEGIES))
    if rate_per_second is not None and rate_per_second < 0:
        raise usage("the rate must not be negative")
    if not dry_run:
        ctx.require_writable("runs retry")
    started = time.perf_counter()
    p = await session(ctx, profile)
    pid = p.project(project)
    targets: list[dict[str, Any]]
    if run_ids:
        targets = [{"id": r} for r in dict.fromkeys(run_ids)]
    else:
        targets = [r async for r in iter_flow_runs(ctx, p.profile, project=pid, status=status or ["FAILED"],
                                                    flow_ids=flow_ids, created_after=created_after,
                                                    created_before=created_before,
                                                    failed_step_name=failed_step_name, max_items=max_runs)]
    if max_runs is not None:
        targets = targets[:max_runs]
    report = RetryReport(project_id=pid, strategy=strategy, dry_run=dry_run)
    total = len(targets)
    retrier = _Retrier(p, pid, strategy, rate_per_second, bulk, chunk_size)
    pending: list[dict[str, Any]] = []

    def record(outcome: RunOutcome) -> None:
        report.outcomes.append(outcome)
        if on_progress is not None:
            on_progress(len(report.outcomes), total, outcome)

    async def flush() -> None:
        for outcome in await retrier.many(pending):
            record(outcome)
        pending.clear()

    for run in targets:
        rid, st = str(run.get("id")), run.get("status")
        base = {"run_id": rid, "flow_id": run.get("flowId"), "status": st}
        if st is not None and st not in ap_runs.TERMINAL:
            record(RunOutcome(**base, outcome=SKIPPED, message=f"run is {st}, not in a terminal state"))
        elif dry_run:
            record(RunOutcome(**base, outcome=WOULD_RETRY))
        else:
            pending.append(base)
            if len(pending) >= (chunk_size if retrier.bulk else 1):
                await flush()
    await flush()
    report.elapsed_s = time.perf_counter() - started
    if not dry_run:
        summary = ", ".join(f"{k}={v}" for k, v in report.summary().items()) or "nothing to retry"
        ctx.audit("platform.runs.retry", pid, "ok" if report.ok else "partial",
                  f"strategy={strategy}; {summary}")
    return report


def retry_exit_code(report: RetryReport) -> int:
    return Exit.OK if report.ok else Exit.FAILED
