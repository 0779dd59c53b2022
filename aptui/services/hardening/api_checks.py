"""Checks through the Activepieces API: stale or failing app connections, and how many projects
each secret-manager connection serves. Also the platform's installed pieces, for the pieces review.

The checks talk to a small ``PlatformApi`` protocol; ``ClientApi`` adapts the real
``ActivepiecesClient`` to it (tests may pass any object with the same coroutines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aptui.clock import parse_iso, utc_now
from aptui.errors import AptuiError
from aptui.services.hardening.findings import Finding, Progress, no_progress, ok, problem

SHOW_NAMES = 5


class PlatformApi(Protocol):
    """What the audits need from a platform. Every list is complete (all pages)."""

    async def list_projects(self) -> list[dict[str, Any]]: ...

    async def list_app_connections(self, project_id: str) -> list[dict[str, Any]]: ...

    async def list_secret_managers(self) -> list[dict[str, Any]]: ...

    async def list_pieces(self) -> list[dict[str, Any]]: ...


class ClientApi:
    """``PlatformApi`` over an ``aptui.activepieces.ActivepiecesClient``."""

    def __init__(self, client) -> None:
        self.client = client

    async def list_projects(self) -> list[dict[str, Any]]:
        from aptui.activepieces import projects

        return await projects.list_projects(self.client)

    async def list_app_connections(self, project_id: str) -> list[dict[str, Any]]:
        from aptui.activepieces import connections

        return [c async for c in connections.iter_connections(self.client, project_id)]

    async def list_secret_managers(self) -> list[dict[str, Any]]:
        from aptui.activepieces import secret_managers

        return await secret_managers.list_connections(self.client)

    async def list_pieces(self) -> list[dict[str, Any]]:
        from aptui.activepieces import pieces

        return await pieces.list_pieces(self.client, include_hidden=True)


@dataclass
class ApiResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _names(items: list[tuple[str, str]]) -> str:
    """``'Name' (note), …`` for the first few, then ``and N more``."""
    shown = ", ".join(f"'{n}' ({note})" for n, note in items[:SHOW_NAMES])
    more = len(items) - SHOW_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _age_days(conn: dict[str, Any], now: datetime) -> float | None:
    stamp = conn.get("updated") or conn.get("created")
    if not isinstance(stamp, str):
        return None
    try:
        return (now - parse_iso(stamp)).total_seconds() / 86400
    except ValueError:
        return None


def connection_findings(conns: list[dict[str, Any]], *, stale_days: int, now: datetime,
                        location: str) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(findings, rows): ERROR/MISSING connections, and ones not updated for ``stale_days``."""
    failing, stale, rows = [], [], []
    for c in conns:
        name = str(c.get("displayName") or c.get("externalId") or c.get("id"))
        status = str(c.get("status") or "")
        age = _age_days(c, now)
        why = None
        if status in ("ERROR", "MISSING"):
            failing.append((name, status))
            why = status
        elif age is not None and age >= stale_days:
            stale.append((name, f"{int(age)} days"))
            why = f"not updated for {int(age)} days"
        if why:
            rows.append({"id": c.get("id"), "displayName": name, "pieceName": c.get("pieceName"), "status": status,
                         "age_days": None if age is None else int(age), "reason": why,
                         "flows": len(c.get("flowIds") or [])})
    out: list[Finding] = []
    total = len(conns)
    if failing:
        out.append(problem("api.connections.failing", "medium", "App connections in error",
                           f"{len(failing)} of {total}: {_names(failing)}",
                           "reconnect or delete them: flows using them fail at run time", location=location))
    else:
        out.append(ok("api.connections.failing", "No app connection in error", f"{total} connection(s) checked",
                      severity="medium", location=location))
    if stale:
        out.append(problem("api.connections.stale", "low", f"App connections unchanged for {stale_days}+ days",
                           f"{len(stale)} of {total}: {_names(stale)}",
                           "delete the ones no flow needs and rotate the credentials of the rest",
                           location=location))
    else:
        out.append(ok("api.connections.stale", "No stale app connection",
                      f"none older than {stale_days} days among {total}", severity="low", location=location))
    return out, rows


def secret_manager_findings(managers: list[dict[str, Any]], project_count: int | None,
                            location: str) -> tuple[list[Finding], list[dict[str, Any]]]:
    """How many projects each secret-manager connection serves; disconnected or unused ones."""
    out: list[Finding] = []
    rows = []
    for m in managers:
        name = str(m.get("name") or m.get("id"))
        scope = str(m.get("scope") or "")
        conn = m.get("connection") if isinstance(m.get("connection"), dict) else {}
        if scope == "PLATFORM":
            count: int | None = project_count
            served = f"all projects ({project_count})" if project_count is not None else "all projects"
        else:
            count = len(m.get("projectIds") or [])
            served = f"{count} project(s)"
        rows.append({"id": m.get("id"), "name": name, "providerId": m.get("providerId"), "scope": scope,
                     "projects": count, "connected": conn.get("connected")})
        fid = "api.secret_managers.usage"
        subject = f"{name} ({m.get('providerId')}, {scope})"
        if conn and conn.get("connected") is False:
            out.append(problem("api.secret_managers.connected", "medium", "Secret manager not connected",
                               f"{subject}: serves {served}; the platform cannot reach it",
                               "fix its credentials (`aptui sm test`) — references through it fail at run time",
                               location=location, subject=name))
        if scope == "PROJECT" and count == 0:
            out.append(problem(fid, "low", "Secret manager serves no project",
                               f"{subject}: project-scoped with no project", "add projects or remove it",
                               location=location, subject=name))
        else:
            out.append(ok(fid, "Secret manager scope", f"{subject}: serves {served}",
                          location=location, subject=name))
    return out, rows


async def check_platform(api: PlatformApi, *, stale_days: int = 90, location: str = "platform API",
                         now: datetime | None = None, progress: Progress = no_progress) -> ApiResult:
    """Run the API checks. A failure listing projects propagates; later per-check failures are skips."""
    now = now or utc_now()
    result = ApiResult()
    progress("API: projects", 0, 3)
    projects = await api.list_projects()
    result.info["projects"] = len(projects)
    progress("API: app connections", 1, 3)
    seen: dict[str, dict[str, Any]] = {}
    try:
        for p in projects:
            pid = p.get("id")
            if not isinstance(pid, str):
                continue
            for c in await api.list_app_connections(pid):
                seen.setdefault(str(c.get("id")), c)
        findings, rows = connection_findings(list(seen.values()), stale_days=stale_days, now=now,
                                             location=location)
        result.findings += findings
        result.info["app_connections"] = len(seen)
        result.info["flagged_connections"] = rows
    except AptuiError as err:
        result.skipped.append(("api.connections", f"listing app connections failed ({err.code})"))
    progress("API: secret managers", 2, 3)
    try:
        managers = await api.list_secret_managers()
        findings, rows = secret_manager_findings(managers, len(projects), location)
        result.findings += findings
        result.info["secret_managers"] = rows
        if not managers:
            result.skipped.append(("api.secret_managers", "the platform has no secret-manager connection"))
    except AptuiError as err:
        reason = "secret managers need an Enterprise plan" if err.code == "FEATURE_DISABLED" else err.code
        result.skipped.append(("api.secret_managers", f"listing secret managers failed ({reason})"))
    progress("API: done", 3, 3)
    return result
