"""Checks on a Docker Compose file: split web/worker roles, database and Redis ports, inline secrets.

Understood shapes: Compose spec / v2 / v3 (``services:``) and legacy v1 (services at the top);
``environment:`` as a list (``K=V``, ``K``) or a map; ``env_file:`` as a string, a list of strings
or a list of ``{path, required}``; ``ports:`` short syntax (``"5432"``, ``"5432:5432"``,
``"127.0.0.1:5432:5432"``, ``"[::1]:6379:6379/tcp"``, ranges, integers) and long syntax
(``{target, published, host_ip, protocol, mode}``); ``network_mode: host``. ``${VAR}``,
``${VAR:-default}`` and ``$VAR`` are interpolated from the project env (the ``--env-file``, or the
``.env`` next to the compose file).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aptui import docparse
from aptui.errors import AptuiError
from aptui.services.hardening.env_checks import SECRET_NAME, container_type_finding
from aptui.services.hardening.envfile import EnvEntry, EnvFile, load_env_file
from aptui.services.hardening.files import bad_input, read_text
from aptui.services.hardening.findings import Finding, ok, problem
from aptui.services.hardening.strength import describe, weakness

_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
POSTGRES_IMAGE = re.compile(r"postgres|postgis|pgvector|timescale", re.I)
REDIS_IMAGE = re.compile(r"redis|valkey|keydb|dragonfly", re.I)
AP_IMAGE = re.compile(r"activepieces", re.I)
PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
AP_MARKERS = ("AP_FRONTEND_URL", "AP_CONTAINER_TYPE", "AP_ENCRYPTION_KEY", "AP_POSTGRES_HOST", "AP_REDIS_HOST",
              "AP_EXECUTION_MODE", "AP_JWT_SECRET", "AP_WORKER_TOKEN")


@dataclass
class PortBinding:
    """One published port. ``host_ip`` None means every interface."""

    target: str
    published: str | None
    host_ip: str | None
    protocol: str = "tcp"
    raw: str = ""

    @property
    def exposure(self) -> str:
        """public | private | loopback | unknown"""
        ip = (self.host_ip or "").strip("[]")
        if ip in ("", "0.0.0.0", "::"):
            return "public"
        if ip == "localhost":
            return "loopback"
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return "unknown"
        if addr.is_loopback:
            return "loopback"
        if addr.is_link_local or any(addr in net for net in PRIVATE_NETS if net.version == addr.version):
            return "private"
        return "public"

    def show(self) -> str:
        host = self.host_ip or "0.0.0.0"
        published = self.published or "(random)"
        return f"{host}:{published}->{self.target}/{self.protocol}"


@dataclass
class ComposeService:
    name: str
    image: str = ""
    env: EnvFile = field(default_factory=lambda: EnvFile(path=None))
    inline_env: dict[str, str] = field(default_factory=dict, repr=False)
    env_files: list[Path] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)
    network_mode: str = ""

    @property
    def is_activepieces(self) -> bool:
        return bool(AP_IMAGE.search(self.image)) or any(self.env.has(k) for k in AP_MARKERS)

    @property
    def is_postgres(self) -> bool:
        return bool(POSTGRES_IMAGE.search(self.image)) or (not self.image and "postgres" in self.name.lower())

    @property
    def is_redis(self) -> bool:
        return bool(REDIS_IMAGE.search(self.image)) or (not self.image and "redis" in self.name.lower())


@dataclass
class ComposeProject:
    path: Path
    services: list[ComposeService] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    def activepieces(self) -> list[ComposeService]:
        return [s for s in self.services if s.is_activepieces]


def interpolate(value: Any, env: dict[str, str]) -> tuple[str, bool]:
    """Compose-style interpolation of one scalar; returns (text, unresolved)."""
    text = "" if value is None else str(value)
    unresolved = False

    def sub(m: re.Match) -> str:
        nonlocal unresolved
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        current = env.get(name)
        if op in (":-", "-"):
            if (op == ":-" and not current) or (op == "-" and current is None):
                return interpolate(arg or "", env)[0]
            return current or ""
        if op in (":+", "+"):
            return (arg or "") if current else ""
        if current is None:
            unresolved = True
            return m.group(0)
        return current

    return _REF.sub(sub, text), unresolved


def parse_port(item: Any, env: dict[str, str]) -> list[PortBinding]:
    """Short or long port syntax → bindings (an empty list for things that publish nothing)."""
    if isinstance(item, dict):
        target = interpolate(item.get("target", ""), env)[0]
        published = item.get("published")
        published = interpolate(published, env)[0] if published not in (None, "") else None
        host_ip = item.get("host_ip")
        host_ip = interpolate(host_ip, env)[0] if host_ip else None
        return [PortBinding(str(target), published, host_ip, str(item.get("protocol") or "tcp"), raw=str(item))]
    text = interpolate(item, env)[0].strip()
    if not text:
        return []
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
    host_ip: str | None = None
    if text.startswith("["):
        end = text.find("]")
        host_ip, text = text[1:end], text[end + 2 :]
    parts = text.split(":")
    if len(parts) == 1:
        published, target = None, parts[0]
    elif len(parts) == 2:
        published, target = parts
    else:
        target, published = parts[-1], parts[-2]
        host_ip = host_ip or ":".join(parts[:-2])
    return [PortBinding(target, published or None, host_ip or None, protocol, raw=str(item))]


def _env_file_specs(value: Any) -> list[tuple[str, bool]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append((str(item.get("path", "")), bool(item.get("required", True))))
        else:
            out.append((str(item), True))
    return out


def _environment(value: Any) -> list[tuple[str, str | None]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), None if v is None else ("true" if v is True else "false" if v is False else str(v)))
                for k, v in value.items()]
    if isinstance(value, list):
        out = []
        for item in value:
            text = str(item)
            if "=" in text:
                k, v = text.split("=", 1)
                out.append((k.strip(), v))
            else:
                out.append((text.strip(), None))
        return out
    return []


def load_compose(path: Path, project_env: dict[str, str] | None = None) -> ComposeProject:
    """Parse a compose file (exit 2 for missing/unreadable/binary/invalid YAML)."""
    import yaml

    text = read_text(path, "compose file")
    try:
        doc = docparse.safe_load_yaml(text, f"compose file {path}")  # aliases counted, depth capped
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise bad_input("FILE_INVALID", f"compose file {path} is not valid YAML{where}") from None
    if not isinstance(doc, dict):
        raise bad_input("FILE_INVALID", f"compose file {path} is not a YAML mapping")
    services = doc.get("services")
    if services is None:  # legacy v1: services at the top level
        services = {k: v for k, v in doc.items() if isinstance(v, dict) and ("image" in v or "build" in v)}
    if not isinstance(services, dict) or not services:
        raise bad_input("FILE_INVALID", f"compose file {path} defines no services")
    if project_env is None:
        dot_env = path.parent / ".env"
        project_env = {}
        if dot_env.is_file():
            try:
                project_env = load_env_file(dot_env).values
            except AptuiError:
                project_env = {}
    project = ComposeProject(path=path)
    for name, spec in services.items():
        if not isinstance(spec, dict):
            continue
        svc = ComposeService(name=str(name), image=str(spec.get("image") or ""),
                             network_mode=str(spec.get("network_mode") or ""))
        svc.env = EnvFile(path=None, label=f"{path} (service {name})")
        for file_name, required in _env_file_specs(spec.get("env_file")):
            file_name = interpolate(file_name, project_env)[0]
            ef_path = (path.parent / file_name) if not Path(file_name).is_absolute() else Path(file_name)
            try:
                ef = load_env_file(ef_path)
            except AptuiError as err:
                if err.code == "FILE_NOT_FOUND" and not required:
                    continue
                project.problems.append(problem(
                    "compose.env_file", "low", "An env_file cannot be read",
                    f"service {name}: env_file {file_name}: {err.message}",
                    "fix the env_file path or its permissions", location=str(path)))
                continue
            svc.env_files.append(ef_path)
            svc.env.entries.extend(ef.entries)
        for key, raw in _environment(spec.get("environment")):
            if raw is None:
                value, unresolved = project_env.get(key), key not in project_env
                value = value or ""
            else:
                value, unresolved = interpolate(raw, project_env)
                if "$" not in raw:
                    svc.inline_env[key] = raw
            svc.env.entries.append(EnvEntry(key=key, value=value, raw=raw or "", line=0, unresolved=unresolved))
        for item in spec.get("ports") or []:
            svc.ports.extend(parse_port(item, project_env))
        project.services.append(svc)
    return project


def _ports_finding(kind: str, services: list[ComposeService], path: Path) -> Finding | None:
    label = {"postgres": "PostgreSQL", "redis": "Redis"}[kind]
    fid = f"compose.ports.{kind}"
    if not services:
        return None
    public, private, host_net, local = [], [], [], []
    for s in services:
        if s.network_mode == "host":
            host_net.append(s.name)
        for p in s.ports:
            bucket = {"public": public, "private": private, "unknown": private, "loopback": local}[p.exposure]
            bucket.append(f"{s.name} {p.show()}")
    fix = (f"remove the ports: entry ({label} only needs the compose network), or bind it to 127.0.0.1 "
           f"(\"127.0.0.1:PORT:PORT\")")
    if public or host_net:
        evidence = "; ".join(public + [f"{n} uses network_mode: host" for n in host_net])
        return problem(fid, "high", f"{label} is reachable from other hosts",
                       f"published on every interface: {evidence}", fix, location=str(path))
    if private:
        return problem(fid, "medium", f"{label} is published on a non-loopback address",
                       "published on: " + "; ".join(private), fix, location=str(path))
    names = ", ".join(s.name for s in services)
    evidence = ("bound to loopback only: " + "; ".join(local)) if local else f"{names}: no published ports"
    return ok(fid, f"{label} is not published", evidence, severity="high", location=str(path))


def _split_finding(project: ComposeProject) -> Finding | None:
    aps = project.activepieces()
    if not aps:
        return None
    loc = str(project.path)
    roles = {s.name: (s.env.get("AP_CONTAINER_TYPE") or "WORKER_AND_APP").upper() for s in aps}
    combined = [s for s in aps if roles[s.name] == "WORKER_AND_APP"]
    if combined:
        s = combined[0]
        return container_type_finding(s.env.get("AP_CONTAINER_TYPE"), s.env, fid="compose.split_roles",
                                      where=f"service {s.name}: ", location=loc)
    kinds = set(roles.values())
    shown = ", ".join(f"{n}={r}" for n, r in roles.items())
    if "APP" in kinds and "WORKER" not in kinds:
        return problem("compose.split_roles", "low", "No worker service in this compose file",
                       f"{shown}: flows only run if workers run elsewhere",
                       "add a service with AP_CONTAINER_TYPE=WORKER (or confirm workers run on other hosts)",
                       location=loc)
    return ok("compose.split_roles", "Web and worker roles are split", shown, severity="medium", location=loc)


def _app_port_finding(project: ComposeProject) -> Finding | None:
    exposed = [f"{s.name} {p.show()}" for s in project.activepieces() for p in s.ports if p.exposure == "public"]
    if not exposed:
        return None
    return problem("compose.ports.app", "low", "Activepieces is published on every interface",
                   "; ".join(exposed) + ": clients can bypass the TLS reverse proxy",
                   "bind it to 127.0.0.1 (\"127.0.0.1:8080:80\") and let the https reverse proxy reach it",
                   location=str(project.path))


def _inline_secret_findings(project: ComposeProject) -> list[Finding]:
    out: list[Finding] = []
    inline = [(s.name, k) for s in project.services for k, v in s.inline_env.items() if SECRET_NAME.search(k) and v]
    if inline:
        out.append(problem("compose.inline_secrets", "medium", "Secrets written into the compose file",
                           "inline values for " + ", ".join(f"{k} ({n})" for n, k in inline),
                           "move them to the 0600 .env file (reference as ${VAR}) or to Docker secrets",
                           location=str(project.path)))
    for s in project.services:
        if not s.is_postgres:
            continue
        value = s.inline_env.get("POSTGRES_PASSWORD")  # interpolated ones are judged in the env checks
        if value:
            reason = weakness(value, min_length=16)
            if reason:
                out.append(problem("compose.postgres_password", "high", "PostgreSQL password is weak",
                                   f"service {s.name}: POSTGRES_PASSWORD set, {describe(value)}; weak: {reason}",
                                   "set a long random password (`openssl rand -hex 32`) via AP_POSTGRES_PASSWORD",
                                   location=str(project.path)))
    return out


def check_compose(project: ComposeProject) -> tuple[list[Finding], list[str]]:
    """Findings, and the names of checks that had nothing to look at."""
    findings: list[Finding] = list(project.problems)
    skipped: list[str] = []
    split = _split_finding(project)
    if split is None:
        skipped.append("compose.split_roles: no Activepieces service (image activepieces/… or AP_* variables)")
    else:
        findings.append(split)
    for kind, services in (("postgres", [s for s in project.services if s.is_postgres]),
                           ("redis", [s for s in project.services if s.is_redis])):
        f = _ports_finding(kind, services, project.path)
        if f is None:
            skipped.append(f"compose.ports.{kind}: no {kind} service in the file")
        else:
            findings.append(f)
    app = _app_port_finding(project)
    if app:
        findings.append(app)
    findings += _inline_secret_findings(project)
    return findings, skipped
