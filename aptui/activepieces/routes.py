"""The one route table: every Activepieces route aptui calls, with the principals it admits.

From ``activepieces-api.md`` §1a (who may call what). A platform API key is principal SERVICE; a
signed-in user's token (``aptui profile login``) is principal USER. The client sends nothing for a
route that is not in this table, and picks the credential from it: the API key where SERVICE is
admitted, else the session where USER is. Public routes go without a credential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SERVICE, USER = "SERVICE", "USER"
BOTH = frozenset({SERVICE, USER})
USER_ONLY = frozenset({USER})
PUBLIC: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Route:
    """One ``METHOD /v1/path/:param`` with the principals its controller admits."""

    name: str
    method: str
    path: str
    principals: frozenset[str]
    noun: str  # for messages: "MCP servers need a signed-in platform user"
    admin: bool = False  # platform admin only
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r":[A-Za-z]+", "[^/]+", re.escape(self.path).replace(r"\:", ":"))
        object.__setattr__(self, "regex", re.compile(pattern))

    @property
    def public(self) -> bool:
        return not self.principals

    @property
    def user_only(self) -> bool:
        return self.principals == USER_ONLY

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and self.regex.fullmatch(path) is not None


def _r(name: str, method: str, path: str, principals: frozenset[str], noun: str, *, admin: bool = False) -> Route:
    return Route(name, method, path, principals, noun, admin)


# Order matters where two patterns could match one path: the literal one comes first.
ROUTES: tuple[Route, ...] = (
    _r("flags.get", "GET", "/v1/flags", PUBLIC, "server flags"),
    _r("auth.sign-in", "POST", "/v1/authentication/sign-in", PUBLIC, "signing in"),
    _r("projects.list", "GET", "/v1/projects", BOTH, "projects"),
    _r("app-connections.list", "GET", "/v1/app-connections", BOTH, "app connections"),
    _r("app-connections.upsert", "POST", "/v1/app-connections", BOTH, "app connections"),
    _r("app-connections.update", "POST", "/v1/app-connections/:id", BOTH, "app connections"),
    _r("app-connections.delete", "DELETE", "/v1/app-connections/:id", BOTH, "app connections"),
    _r("flow-runs.list", "GET", "/v1/flow-runs", BOTH, "flow runs"),
    _r("flow-runs.bulk-retry", "POST", "/v1/flow-runs/retry", BOTH, "flow runs"),
    _r("flow-runs.retry", "POST", "/v1/flow-runs/:id/retry", BOTH, "flow runs"),
    _r("pieces.list", "GET", "/v1/pieces", BOTH, "pieces"),
    _r("secret-managers.cache-clear", "DELETE", "/v1/secret-managers/cache", BOTH, "the platform's secret cache",
       admin=True),
    _r("secret-managers.list", "GET", "/v1/secret-managers", USER_ONLY, "the platform's secret managers"),
    _r("secret-managers.create", "POST", "/v1/secret-managers", USER_ONLY, "the platform's secret managers",
       admin=True),
    _r("secret-managers.update", "POST", "/v1/secret-managers/:id", USER_ONLY, "the platform's secret managers",
       admin=True),
    _r("secret-managers.update-patch", "PATCH", "/v1/secret-managers/:id", USER_ONLY,
       "the platform's secret managers", admin=True),  # some versions (§7): tried after a route-missing 404
    _r("secret-managers.delete", "DELETE", "/v1/secret-managers/:id", USER_ONLY,
       "the platform's secret managers", admin=True),
    _r("api-keys.list", "GET", "/v1/api-keys", USER_ONLY, "platform API keys", admin=True),
    _r("api-keys.create", "POST", "/v1/api-keys", USER_ONLY, "platform API keys", admin=True),
    _r("api-keys.delete", "DELETE", "/v1/api-keys/:id", USER_ONLY, "platform API keys", admin=True),
    # MCP, newest era first (§6): the project's server, then named servers, then the earliest /v1/mcp.
    _r("mcp.project.get", "GET", "/v1/projects/:projectId/mcp-server", USER_ONLY, "MCP servers"),
    _r("mcp.project.update", "POST", "/v1/projects/:projectId/mcp-server", USER_ONLY, "MCP servers"),
    _r("mcp.project.rotate", "POST", "/v1/projects/:projectId/mcp-server/rotate", USER_ONLY, "MCP servers"),
    _r("mcp.project.token", "POST", "/v1/projects/:projectId/mcp-server/token", USER_ONLY, "MCP servers"),
    _r("mcp.platform.get", "GET", "/v1/mcp-server", USER_ONLY, "the platform's MCP server", admin=True),
    _r("mcp.platform.update", "POST", "/v1/mcp-server", USER_ONLY, "the platform's MCP server", admin=True),
    _r("mcp.platform.rotate", "POST", "/v1/mcp-server/rotate", USER_ONLY, "the platform's MCP server", admin=True),
    _r("mcp.named.list", "GET", "/v1/mcp-servers", USER_ONLY, "MCP servers"),
    _r("mcp.named.rotate", "POST", "/v1/mcp-servers/:id/rotate", USER_ONLY, "MCP servers"),
    _r("mcp.named.update", "POST", "/v1/mcp-servers/:id", USER_ONLY, "MCP servers"),
    _r("mcp.earliest.get", "GET", "/v1/mcp", BOTH, "MCP servers"),
    _r("mcp.earliest.rotate", "POST", "/v1/mcp/:id/rotate", BOTH, "MCP servers"),
    _r("mcp.earliest.update", "POST", "/v1/mcp/:id", BOTH, "MCP servers"),
)
BY_NAME: dict[str, Route] = {r.name: r for r in ROUTES}


def find(method: str, path: str) -> Route | None:
    """The table's route for ``method path`` (a concrete path, without ``/api``), or None."""
    return next((r for r in ROUTES if r.matches(method, path)), None)


def route(name: str) -> Route:
    return BY_NAME[name]


def path_of(name: str, **params: str) -> str:
    """The concrete path of route ``name`` with its ``:params`` filled in."""
    r = BY_NAME[name]
    return re.sub(r":([A-Za-z]+)", lambda m: params[m.group(1)], r.path)
